"""Field value types shared by every fact kind.

Units fill their data in YAML, JSON, CSV or Excel, in code names or in Chinese, so every value
arrives as text, a number, a boolean or an Excel date cell. Each type here accepts all of those
and turns them into one Python value, or raises a `PydanticCustomError` whose type is one of our
error codes (see `problems.py`), so the message the user reads is ours and in Chinese.
"""

from __future__ import annotations

import datetime as dt
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
_LIST_SEPARATORS = re.compile(r"[;；]")
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


def parse_text(value: Any) -> Any:
    value = clean_text(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise PydanticCustomError("E304", "应为文本，实际为布尔值 {value}", {"value": value})
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
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
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for pattern in _DATE_PATTERNS:
            match = pattern.match(value)
            if match:
                year, month, day = (int(part) for part in match.groups())
                try:
                    return dt.date(year, month, day)
                except ValueError:
                    raise PydanticCustomError(
                        "E306", "日期 {value} 不存在", {"value": _describe(value)}
                    ) from None
    raise PydanticCustomError(
        "E306",
        "无法识别的日期 {value}，应写作 2013-06-26、2013/6/26 或 2013年6月26日",
        {"value": _describe(value)},
    )


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
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    if value is None or isinstance(value, int):
        return value
    raise PydanticCustomError("E304", "应为整数，实际为{value}", {"value": _describe(value)})


def parse_number(value: Any) -> Any:
    value = clean_text(value)
    if isinstance(value, bool):
        raise PydanticCustomError("E304", "应为数值，实际为布尔值 {value}", {"value": value})
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise PydanticCustomError("E304", "应为数值，实际为{value}", {"value": _describe(value)})


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
