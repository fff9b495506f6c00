"""Field value types shared by every fact kind.

Units fill their data in YAML, JSON, CSV or Excel, in code names or in Chinese, so every value
arrives as text, a number, a boolean or an Excel date cell. Each type here accepts all of those
and turns them into one Python value, or raises a `PydanticCustomError` whose type is one of our
error codes (see `problems.py`), so the message the user reads is ours and in Chinese.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$"),
)
_TRUE = {"true", "是", "1", "yes", "y", "t", "√", "✓"}
_FALSE = {"false", "否", "0", "no", "n", "f", "×", "✗"}
# Lists in one cell: 分号 or 顿号 (what a clerk types between codes).
_LIST_SEPARATORS = re.compile(r"[;；、]")
# What the store keeps, the same on SQLite and PostgreSQL (facts/tables.py): integers are
# `sa.Integer` columns (32 bits on PostgreSQL), numbers finite doubles, dates in these years
# (so that every deadline computed from a date stays in the calendar), text valid Unicode
# without NUL. Control characters, which forge lines and escape sequences wherever the text is
# shown, are refused too: all of C0 but tab and line breaks, DEL, and C1.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
YEAR_MIN, YEAR_MAX = 1900, 2199
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Line breaks of any kind: refused in ids and codes, where a record is named on one line.
LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x85\u2028\u2029]")
# Full-width punctuation that Chinese input methods type in place of ASCII.
_FULLWIDTH = str.maketrans({"（": "(", "）": ")", "　": " "})


def clean_text(value: Any) -> Any:
    """Strip text; an empty cell or string means "not given"."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _describe(value: Any) -> str:
    """A short description of an unexpected value, never its full (possibly huge) content."""
    if isinstance(value, dict):
        return "一个映射"
    if isinstance(value, (list, tuple)):
        return "一个列表"
    text = str(value)
    shown = repr(text if len(text) <= 40 else text[:40] + "…")
    return f"文本 {shown}" if isinstance(value, str) else shown


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def checked_text(value: str) -> str:
    """Text the store can keep and every output can show: refused with E308 otherwise."""
    if value.isprintable():  # the common case, in C: no control character, no lone surrogate
        return value
    found = _CONTROL.search(value)
    if found:
        raise PydanticCustomError(
            "E308", "文本含控制字符 U+{code}（{value}），请删除它",
            {"code": f"{ord(found.group()):04X}", "value": _describe(value)})
    if not _encodable(value):
        raise PydanticCustomError(
            "E308", "文本含无效的 Unicode 字符（孤立的代理项，{value}），请重新输入这段文字",
            {"value": _describe(value)})
    return value.replace("\r\n", "\n").replace("\r", "\n")


def parse_text(value: Any) -> Any:
    value = clean_text(value)
    if value is None:
        return value
    if isinstance(value, str):
        return checked_text(value)
    if isinstance(value, bool):
        raise PydanticCustomError("E304", "应为文本，实际为布尔值 {value}", {"value": value})
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # JSON's NaN, Infinity, or 1e999: no text was written
            shown = "数值 NaN" if value != value else "无穷大的数值（如 1e999、Infinity）"
            raise PydanticCustomError("E309", "{value}不是有限数值，不能作为文本或编号；"
                                      "编号请加引号写成文本", {"value": shown})
        # A spreadsheet turns the id 7 into 7.0; give the id back as the user typed it.
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    raise PydanticCustomError("E304", "应为文本，实际为 {value}", {"value": _describe(value)})


def parse_date(value: Any) -> Any:
    value = clean_text(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _in_years(value.date(), value.date().isoformat())
    if isinstance(value, dt.date):
        return _in_years(value, value.isoformat())
    if isinstance(value, str):
        for pattern in _DATE_PATTERNS:
            match = pattern.match(value)
            if match:
                year, month, day = (int(part) for part in match.groups())
                try:
                    day_given = dt.date(year, month, day)
                except ValueError:
                    raise PydanticCustomError(
                        "E306", "日期 {value} 不存在", {"value": _describe(value)}
                    ) from None
                return _in_years(day_given, value)
    raise PydanticCustomError(
        "E306",
        "无法识别的日期 {value}，应写作 2013-06-26、2013/6/26 或 2013年6月26日",
        {"value": _describe(value)},
    )


def _in_years(day: dt.date, written: str) -> dt.date:
    if not YEAR_MIN <= day.year <= YEAR_MAX:
        raise PydanticCustomError("E306", "日期 {value} 不在 {low}–{high} 年之间",
                                  {"value": _describe(written), "low": YEAR_MIN, "high": YEAR_MAX})
    return day


def parse_bool(value: Any) -> Any:
    value = clean_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise PydanticCustomError(
        "E307", "无法识别的是否值 {value}，应为 是/否、true/false 或 1/0", {"value": _describe(value)}
    )


def parse_list(value: Any) -> Any:
    """A list field: a YAML/JSON list, or text separated by ; or ；(CSV and Excel cells)."""
    value = clean_text(value)
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = _LIST_SEPARATORS.split(value)
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    result = []
    for item in items:
        if isinstance(item, (dict, list)):
            raise PydanticCustomError("E304", "列表中的每一项应为编号文本，实际含有{value}",
                                      {"value": _describe(item)})
        text = parse_text(item)
        if text is not None:
            result.append(text)
    return result


def parse_int(value: Any) -> Any:
    value = clean_text(value)
    if isinstance(value, bool):
        raise PydanticCustomError("E304", "应为整数，实际为布尔值 {value}", {"value": value})
    number = value
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,40}", value):
        number = int(value)
    elif value is None:
        return None
    if not isinstance(number, int):
        raise PydanticCustomError("E304", "应为整数，实际为{value}", {"value": _describe(value)})
    if not INT_MIN <= number <= INT_MAX:
        raise PydanticCustomError("E309", "整数 {value} 超出可存储的范围（{low} 到 {high}）",
                                  {"value": _describe(value), "low": INT_MIN, "high": INT_MAX})
    return number


def parse_number(value: Any) -> Any:
    value = clean_text(value)
    if isinstance(value, bool):
        raise PydanticCustomError("E304", "应为数值，实际为布尔值 {value}", {"value": value})
    number: Any = None
    if value is None:
        return None
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str) and len(value) <= 400:
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None:
        raise PydanticCustomError("E304", "应为数值，实际为{value}", {"value": _describe(value)})
    try:
        finite = math.isfinite(float(number))
    except OverflowError:  # an integer beyond any double
        finite = False
    if not finite:
        raise PydanticCustomError("E309", "数值 {value} 不是可存储的有限数值（不接受 NaN、无穷大）",
                                  {"value": _describe(value)})
    return number


class Choice:
    """An enumeration: code names, each with the Chinese label a unit may write instead.

    The value stored and output is always the code name.
    """

    def __init__(self, **labels: str) -> None:
        self.labels = labels
        self._by_text = {**{code: code for code in labels},
                         **{label.translate(_FULLWIDTH): code for code, label in labels.items()}}

    def parse(self, value: Any) -> Any:
        value = clean_text(value)
        if value is None:
            return None
        if isinstance(value, str):
            code = self._by_text.get(value.translate(_FULLWIDTH))
            if code is not None:
                return code
        choices = "、".join(f"{code}（{label}）" for code, label in self.labels.items())
        raise PydanticCustomError(
            "E305", "取值 {value} 无效，可选：{choices}", {"value": _describe(value), "choices": choices}
        )

    def field(self, required: bool) -> Any:
        """The annotated type of a field that takes one of these values."""
        schema = {"enum": [*self.labels, *self.labels.values()],
                  "description": "、".join(f"{c}（{l}）" for c, l in self.labels.items())}
        # The Choice itself rides along as metadata, so writers can find the Chinese labels.
        if required:
            return Annotated[str, BeforeValidator(self.parse), _json_schema(schema), self]
        return Annotated[str | None, BeforeValidator(self.parse),
                         _json_schema({"anyOf": [schema, {"type": "null"}]}), self]


def _json_schema(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema(schema, mode="validation")


_DATE_SCHEMA = {
    "type": "string",
    "pattern": r"^\d{4}([-/.]\d{1,2}[-/.]\d{1,2}|\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日?)$",
    "description": "日期：2013-06-26、2013/6/26 或 2013年6月26日",
}
_BOOL_SCHEMA = {
    "anyOf": [{"type": "boolean"}, {"enum": ["是", "否", "true", "false", "1", "0", 1, 0]}],
    "description": "是否：true/false、是/否、1/0",
}

Text = Annotated[str | None, BeforeValidator(parse_text)]
RequiredText = Annotated[str, BeforeValidator(parse_text)]
Day = Annotated[
    dt.date | None,
    BeforeValidator(parse_date),
    _json_schema({"anyOf": [_DATE_SCHEMA, {"type": "null"}]}),
]
RequiredDay = Annotated[
    dt.date,
    BeforeValidator(parse_date),
    _json_schema(_DATE_SCHEMA),
]
Flag = Annotated[bool, BeforeValidator(parse_bool), _json_schema(_BOOL_SCHEMA)]
TextList = Annotated[
    list[str],
    BeforeValidator(parse_list),
    _json_schema(
        {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
            "description": "列表，或以 ; / ； 分隔的文本",
        }
    ),
]
Int = Annotated[int | None, BeforeValidator(parse_int)]
RequiredInt = Annotated[int, BeforeValidator(parse_int)]
Number = Annotated[float | None, BeforeValidator(parse_number)]
