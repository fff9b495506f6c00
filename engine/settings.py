"""Deployment settings: `luoshi.toml` in the current folder (or `--config FILE`).

    [params]                 # parameters, by the names `luoshi rules` lists
    "I201.min" = 3
    accountability_days = 45

    [policies]
    folders = ["local-policies"]   # added to the bundled catalog

    [report]
    error_weight = 5               # points off per error in the appraisal score
    warning_weight = 1
    [report.bands]                 # 等次: the lowest score of each band, highest first
    "好" = 90                      # (TOML needs quotes around Chinese keys)
    "较好" = 80
    "一般" = 60
    "差" = 0

    [notices]                      # docs/notices.md explains each key
    issuer = "赤壁市惩防办"          # 发文机关: a name, or a unit's id
    "机关代字" = "赤惩防办"
    reply_days = 15                # reply-by = document date + reply_days
    first_number = 1               # the first 发文字号 number of a batch
    cc = ["discipline_organ"]      # 抄送
    printer = "赤壁市惩防办"         # 印发机关
    [notices.addressing]           # who receives each kind of document
    re_accountability = "discipline_organ"

Command-line values (`--param`, `--policies`, `--reply-days`) win over the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from luoshi.facts.problems import InputError, Location, Problem

DEFAULT_FILE = "luoshi.toml"


SECTIONS = ("params", "policies", "report", "notices")
DEFAULT_BANDS = {"好": 90.0, "较好": 80.0, "一般": 60.0, "差": 0.0}
NOTICE_KEYS = {"issuer": str, "机关代字": str, "reply_days": int, "first_number": int,
               "cc": list, "printer": str, "addressing": dict}
ADDRESSED = ("rectification_notice", "accountability", "warning_measure", "re_accountability",
             "unassigned", "superior")


@dataclass
class Settings:
    params: dict[str, Any] = field(default_factory=dict)
    policies: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)  # [report] error/warning weights
    bands: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BANDS))  # 等次
    notices: dict[str, Any] = field(default_factory=dict)  # [notices], checked


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
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise InputError([Problem(Location(str(file)), "C001",
                                  f"未知的配置节：{'、'.join(sorted(unknown))}（可用：{'、'.join(SECTIONS)}）")])
    report = data.get("report", {})
    weights = {key[: -len("_weight")]: _number(file, f"report.{key}", value)
               for key, value in report.items() if key in ("error_weight", "warning_weight")}
    bands = _bands(file, report.get("bands")) if "bands" in report else dict(DEFAULT_BANDS)
    folders = data.get("policies", {}).get("folders", [])
    base = file.parent
    return Settings(dict(data.get("params", {})), [str(base / folder) for folder in folders],
                    weights, bands, _notices(file, data.get("notices", {})))


def _fail(file: Path, message: str) -> InputError:
    return InputError([Problem(Location(str(file)), "C001", message)])


def _number(file: Path, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or value in (float("inf"), float("-inf")):
        raise _fail(file, f"{name} 应为有限的数值：{value!r}")
    return float(value)


def _bands(file: Path, value: Any) -> dict[str, float]:
    """等次 bands, highest first; the lowest must start at 0 so that every score has one."""
    if not isinstance(value, dict) or not value:
        raise _fail(file, "report.bands 应为“等次名 = 最低分”的表，例如 好 = 90")
    bands = {str(name): _number(file, f"report.bands.{name}", low) for name, low in value.items()}
    if any(not 0 <= low <= 100 for low in bands.values()) or min(bands.values()) != 0:
        raise _fail(file, "report.bands 的最低分应在 0–100 之间，且最低一档从 0 分起")
    return dict(sorted(bands.items(), key=lambda item: -item[1]))


def _notices(file: Path, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(file, "[notices] 应为表")
    for key, item in value.items():
        expected = NOTICE_KEYS.get(key)
        if expected is None:
            raise _fail(file, f"[notices] 中未知的键 {key}（可用：{'、'.join(NOTICE_KEYS)}）")
        if not isinstance(item, expected) or isinstance(item, bool):
            raise _fail(file, f"notices.{key} 的类型不对：{item!r}")
    if not 0 <= value.get("reply_days", 15) <= 365:
        raise _fail(file, "notices.reply_days 应在 0–365 之间")
    if not 1 <= value.get("first_number", 1) <= 99999:
        raise _fail(file, "notices.first_number 应在 1–99999 之间")
    if not all(isinstance(item, str) for item in value.get("cc", [])):
        raise _fail(file, "notices.cc 应为名称或单位编号的列表")
    for kind, target in value.get("addressing", {}).items():
        if kind not in ADDRESSED or not isinstance(target, str) or not target.strip():
            raise _fail(file, f"notices.addressing.{kind} 无效（可设：{'、'.join(ADDRESSED)}，"
                              "值为 unit、discipline_organ、parent、单位编号或名称）")
    return dict(value)


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
