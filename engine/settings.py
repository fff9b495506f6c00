"""Deployment settings: `luoshi.toml` in the current folder (or `--config FILE`).

    [params]                 # parameters, by the names `luoshi rules` lists
    "I201.min" = 3
    accountability_days = 45

    [policies]
    folders = ["local-policies"]   # added to the bundled catalog

    [report]
    error_weight = 5               # points off per error in the appraisal score
    warning_weight = 1

Command-line values (`--param`, `--policies`) win over the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from luoshi.facts.problems import InputError, Location, Problem

DEFAULT_FILE = "luoshi.toml"


@dataclass
class Settings:
    params: dict[str, Any] = field(default_factory=dict)
    policies: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # [report] error/warning weights


def load_settings(path: str | None = None) -> Settings:
    file = Path(path or DEFAULT_FILE)
    if not file.exists():
        if path:
            raise InputError([Problem(Location(str(file)), "C001", "配置文件不存在")])
        return Settings()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError([Problem(Location(str(file)), "C001", f"配置文件无法读取：{error}")]) from None
    unknown = set(data) - {"params", "policies", "report"}
    if unknown:
        raise InputError([Problem(Location(str(file)), "C001",
                                  f"未知的配置节：{'、'.join(sorted(unknown))}（可用：params、policies、report）")])
    report = data.get("report", {})
    weights = {key[: -len("_weight")]: float(value) for key, value in report.items()
               if key in ("error_weight", "warning_weight")}
    folders = data.get("policies", {}).get("folders", [])
    base = file.parent
    return Settings(dict(data.get("params", {})), [str(base / folder) for folder in folders],
                    weights)


def resolve_params(known: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Parameter values over the defaults; an unknown name or a non-number is an error."""
    values = dict(known)
    problems = []
    for layer in layers:
        for name, raw in layer.items():
            if name not in known:
                problems.append(Problem(Location("--param"), "C001",
                                        f"未知的参数 {name}，可用：{'、'.join(sorted(known))}"))
                continue
            try:
                number = float(raw) if not isinstance(raw, (int, float)) else raw
            except ValueError:
                problems.append(Problem(Location("--param"), "C001", f"参数 {name} 应为数值：{raw!r}"))
                continue
            values[name] = int(number) if float(number).is_integer() else number
    if problems:
        raise InputError(problems)
    return values


def parse_assignments(items: list[str]) -> dict[str, str]:
    result = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError([Problem(Location("--param"), "C001",
                                      f"应写作 名称=值，例如 I201.min=3：{item!r}")])
        result[name.strip()] = value.strip()
    return result
