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

    [upcoming]
    days = 7                       # `luoshi upcoming`: how many days ahead it looks

    [accounts]                     # the portal's accounts (docs/web.md); the defaults:
    password_min_length = 8
    password_classes = 3           # of 4: lower case, upper case, digits, other characters
    password_history = 5           # the last 5 passwords may not be used again
    password_max_age_days = 0      # 0: a password never expires
    idle_minutes = 30              # a session unused this long ends
    session_hours = 8              # and any session ends after this long
    login_failures = 5             # per name, and per address, within lockout_minutes
    address_failures = 20
    lockout_minutes = 15
    totp_required = []             # roles that must log in with a TOTP code, e.g. ["admin"]
    secret_file = "luoshi-secret.key"  # the key TOTP secrets are encrypted with

    [audit]
    retention_days = 180           # audit entries older than this are pruned (at least 180)

Command-line values (`--param`, `--policies`, `--reply-days`) win over the file.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from luoshi.facts.problems import InputError, Location, Problem, os_reason

DEFAULT_FILE = "luoshi.toml"
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
    upcoming_days: int | None = None  # [upcoming] days; None: not set
    file: str | None = None  # the settings file read, named in every output; None: none read
    accounts: AccountRules = field(default_factory=lambda: AccountRules())  # [accounts]
    audit_days: int = 180  # [audit] retention_days


@dataclass(frozen=True)
class AccountRules:
    """[accounts]: passwords, sessions, the login throttle and the second factor."""

    password_min_length: int = 8
    password_classes: int = 3
    password_history: int = 5
    password_max_age_days: int = 0
    idle_minutes: int = 30
    session_hours: int = 8
    login_failures: int = 5
    address_failures: int = 20
    lockout_minutes: int = 15
    totp_required: tuple[str, ...] = ()
    secret_file: str = "luoshi-secret.key"


# [accounts]: key -> (lowest, highest) of a whole number.
ACCOUNT_NUMBERS = {"password_min_length": (8, 128), "password_classes": (1, 4),
                   "password_history": (0, 24), "password_max_age_days": (0, 3650),
                   "idle_minutes": (1, 1440), "session_hours": (1, 168),
                   "login_failures": (1, 100), "address_failures": (1, 10_000),
                   "lockout_minutes": (1, 1440)}
# The shortest retention of the audit log: six months, as 网络安全法 article 21 asks of logs.
MIN_AUDIT_DAYS = 180


# Keys checked in each section (None: any key; [report] also holds other outputs' settings).
_SECTIONS: dict[str, set[str] | None] = {
    "params": None, "policies": {"folders"}, "report": None, "notices": None,
    "upcoming": {"days"}, "accounts": {*ACCOUNT_NUMBERS, "totp_required", "secret_file"},
    "audit": {"retention_days"}}
# A built-in parameter counts records or days: a whole number in this range (100 years of days),
# so that no date computed from it can leave the calendar.
PARAM_LIMIT = 36_500


def load_settings(path: str | None = None, use_file: bool = True) -> Settings:
    """`path` (`--config`), else ./luoshi.toml if there is one; nothing with `use_file` off."""
    if not use_file:
        if path:
            raise InputError([Problem(Location("--no-config"), "C001",
                                      "--config 与 --no-config 不能同时使用")])
        return Settings()
    file = Path(path or DEFAULT_FILE)
    if not file.exists():
        if path:
            raise InputError([Problem(Location(str(file)), "C001", "配置文件不存在")])
        return Settings()
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line = getattr(error, "lineno", None) or _line_of_error(str(error))
        raise InputError([Problem(Location(str(file), line), "C001",
                                  f"配置文件不是有效的 TOML，请检查这一行的写法（{error}）")]) from None
    except OSError as error:
        raise InputError([Problem(Location(str(file)), "C001",
                                  f"配置文件无法读取：{os_reason(error)}")]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(Location(str(file)), "C001",
                                  "配置文件不是 UTF-8 文本，请另存为 UTF-8")]) from None
    problems: list[Problem] = []

    def wrong(key: str, message: str) -> None:
        problems.append(Problem(Location(str(file), _line_of(text, key)), "C001", message))

    for section, value in data.items():
        if section not in _SECTIONS:
            wrong(section, f"未知的配置节 [{section}]（可用：{'、'.join(_SECTIONS)}）")
        elif not isinstance(value, dict):
            wrong(section, f"{section} 应为一个配置节 [{section}]")
        else:
            for key in set(value) - (_SECTIONS[section] or set(value)):
                wrong(key, f"[{section}] 中未知的配置项 {key}（可用：{'、'.join(sorted(_SECTIONS[section] or ()))}）")
    params = _flat(data.get("params", {})) if isinstance(data.get("params"), dict) else {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            wrong(name, f"参数 {name} 应为数值，实际为 {type(value).__name__}")
    report = data.get("report", {}) if isinstance(data.get("report"), dict) else {}
    weights = {}
    for key in ("error_weight", "warning_weight"):
        if key in report:
            value = report[key]
            if not is_weight(value):
                wrong(key, f"{key} 应为 0 到 100 之间的数值：{value!r}")
            else:
                weights[key[: -len("_weight")]] = float(value)
    policies = data.get("policies", {}) if isinstance(data.get("policies"), dict) else {}
    folders = policies.get("folders", [])
    if not isinstance(folders, list) or not all(isinstance(item, str) for item in folders):
        wrong("folders", "folders 应为文件夹名的列表，如 folders = [\"local-policies\"]")
        folders = []
    upcoming = data.get("upcoming", {}) if isinstance(data.get("upcoming"), dict) else {}
    days = upcoming.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= 366):
        wrong("days", f"[upcoming] days 应为 1 到 366 之间的整数：{days!r}")
    accounts = data.get("accounts", {}) if isinstance(data.get("accounts"), dict) else {}
    rules = _account_rules(accounts, file.parent, wrong)
    audit = data.get("audit", {}) if isinstance(data.get("audit"), dict) else {}
    audit_days = audit.get("retention_days", MIN_AUDIT_DAYS)
    if isinstance(audit_days, bool) or not isinstance(audit_days, int) \
            or not MIN_AUDIT_DAYS <= audit_days <= PARAM_LIMIT:
        wrong("retention_days", f"[audit] retention_days 应为 {MIN_AUDIT_DAYS} 到 {PARAM_LIMIT} 之间的"
                                f"整数（审计日志至少保存六个月）：{audit_days!r}")
    if problems:
        raise InputError(problems)
    bands = _bands(file, report.get("bands")) if "bands" in report else dict(DEFAULT_BANDS)
    notices = _notices(file, data.get("notices", {}))
    base = file.parent
    return Settings(dict(params), [str(base / folder) for folder in folders], weights, bands,
                    notices, upcoming_days=days, file=str(file), accounts=rules,
                    audit_days=audit_days)


def _account_rules(section: dict[str, Any], base: Path, wrong: Any) -> AccountRules:
    """[accounts], each value checked (`wrong(key, message)` for each one that is not)."""
    from luoshi.facts.tables import ROLES

    values: dict[str, Any] = {}
    for key, (low, high) in ACCOUNT_NUMBERS.items():
        if key in section:
            value = section[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                wrong(key, f"[accounts] {key} 应为 {low} 到 {high} 之间的整数：{value!r}")
            else:
                values[key] = value
    rules = AccountRules(**values)
    if rules.idle_minutes > rules.session_hours * 60:
        wrong("idle_minutes", "[accounts] idle_minutes 不应长于 session_hours（会话总时长）")
    required = section.get("totp_required", [])
    if not isinstance(required, list) or not set(required) <= set(ROLES):
        wrong("totp_required", f"[accounts] totp_required 应为角色的列表，角色为 {'、'.join(ROLES)}，"
                               "如 totp_required = [\"admin\"]")
        required = []
    secret_file = section.get("secret_file", rules.secret_file)
    if not isinstance(secret_file, str) or not secret_file.strip():
        wrong("secret_file", "[accounts] secret_file 应为文件名")
        secret_file = rules.secret_file
    return dataclasses.replace(rules, totp_required=tuple(required),
                               secret_file=str(base / secret_file))


def is_weight(value: Any) -> bool:
    """An appraisal weight (points off per error or warning): a number from 0 to 100, so that
    every score stays between 0 and 100 (`nan` would compare false with both bounds)."""
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value) and 0 <= value <= 100


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


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`I201.min = 3` unquoted is a table in TOML: give it back its dotted name."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _line_of(text: str, key: str) -> int | None:
    """The line where `key` is written (tomllib keeps no positions)."""
    last = key.rsplit(".", 1)[-1]
    pattern = re.compile(rf'^\s*(\[\s*)?["\']?({re.escape(key)}|{re.escape(last)})["\']?\s*[=\]]',
                         re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _line_of_error(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def resolve_params(known: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Parameter values over the defaults; an unknown name, a non-number, or a number out of
    range is an error (a parameter whose default is a whole number takes 0 to PARAM_LIMIT)."""
    values = dict(known)
    problems = []
    for layer in layers:
        for name, raw in layer.items():
            where = Location("--param")
            if name not in known:
                problems.append(Problem(where, "C001",
                                        f"未知的参数 {name}，可用：{'、'.join(sorted(known))}"))
                continue
            try:
                number = float(raw) if not isinstance(raw, (int, float)) else raw
            except (ValueError, OverflowError):
                problems.append(Problem(where, "C001", f"参数 {name} 应为数值：{raw!r}"))
                continue
            if isinstance(number, bool) or not math.isfinite(number):
                problems.append(Problem(where, "C001", f"参数 {name} 应为有限的数值：{raw!r}"))
                continue
            default = known[name]
            whole = isinstance(default, int) and not isinstance(default, bool)
            if whole and not (float(number).is_integer() and 0 <= number <= PARAM_LIMIT):
                problems.append(Problem(where, "C001",
                                        f"参数 {name} 应为 0 到 {PARAM_LIMIT} 之间的整数：{raw!r}"))
                continue
            if abs(number) > 1e12:
                problems.append(Problem(where, "C001", f"参数 {name} 超出可用范围：{raw!r}"))
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
