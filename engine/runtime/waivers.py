"""Waivers: reasoned, approved, expiring exemptions from one finding (interface.md).

    - {rule: R105, unit: u-edu, subject: u-edu, reason: 机构改革中，责任机构待批复,
       approved_by: 市纪委常委会, expires: 2014-06-30}

A waiver applies while `expires` is on or after the as-of date: its finding leaves the
findings, raises no trigger, and nothing chains from it (no A308 from a waived F403).
Expired waivers are reported (their findings count again), and so are stale ones (no finding
to waive). A malformed waiver file is bad input, reported at its file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from luoshi.engine.language.policy import locate
from luoshi.facts.problems import InputError, Location, Problem, os_reason
from luoshi.facts.raw import Positioned, PositionedList
from luoshi.facts.values import RequiredDay, parse_text
from luoshi.facts.yaml_errors import describe as describe_yaml_error
from luoshi.facts.yaml_reader import YamlRefused, load_positioned


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(pattern=r"^[A-Z][0-9]{3}$")
    unit: str | None = None
    subject: str
    reason: str = Field(min_length=1)
    approved_by: str = Field(min_length=1)
    expires: RequiredDay

    @field_validator("unit", "subject", "reason", "approved_by", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return parse_text(value)

    def key(self) -> tuple[str, str | None, str]:
        return (self.rule, self.unit, self.subject)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "approved_by": self.approved_by,
                "expires": self.expires.isoformat()}


def load_waivers(path: str) -> list[tuple[Waiver, Location]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = load_positioned(text)
    except OSError as error:
        raise InputError([Problem(Location(path), "W101", f"豁免文件无法读取：{os_reason(error)}")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(Location(path), "W101",
                                  "豁免文件不是 UTF-8 文本，请另存为 UTF-8")]) from None
    except YamlRefused as refused:
        where = Location(path, refused.mark.line + 1, refused.mark.column + 1)
        raise InputError([Problem(where, "W101", f"豁免文件不是有效的 YAML：{refused.message}")]) from None
    except yaml.YAMLError as error:
        line, column, message = describe_yaml_error(error, text)
        raise InputError([Problem(Location(path, line, column), "W101",
                                  f"豁免文件不是有效的 YAML：{message}")]) from None
    if document is None:
        return []
    if not isinstance(document, PositionedList):
        raise InputError([Problem(Location(path, 1), "W101",
                                  "豁免文件应为一个列表，每项为 {rule, unit, subject, reason, approved_by, expires}")])
    waivers: list[Any] = []
    problems: list[Problem] = []
    seen: dict[tuple, Any] = {}
    for index, item in enumerate(document):
        where = locate(document, path, (index,))
        if not isinstance(item, Positioned):
            problems.append(Problem(where, "W101", "每一项应为一个映射"))
            continue
        try:
            waiver = Waiver.model_validate(dict(item))
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                name = ".".join(str(part) for part in detail["loc"])
                at = locate(document, path, (index, *detail["loc"]))
                message = "必填" if detail["type"] == "missing" else detail["msg"]
                problems.append(Problem(at, "W101", f"{name}：{message}", "waivers", name))
            continue
        if waiver.key() in seen:
            problems.append(Problem(where, "W101", f"与 {seen[waiver.key()]} 豁免的是同一结果"))
            continue
        seen[waiver.key()] = where
        waivers.append((waiver, where))
    if problems:
        raise InputError(problems)
    return waivers
