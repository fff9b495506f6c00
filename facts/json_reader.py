"""JSON facts files, with the position of every record and key.

The standard library's C scanner cannot say where an object starts, so objects are scanned with
its pure-Python twin, whose `parse_object` hook we wrap to keep the offset of each object.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from typing import Any

from .problems import Location
from .raw import SCALARS_PER_RECORD, Positioned, PositionedList, Reading, records_from_document


class _TooMany(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__("too many objects")
        self.offset = offset


class _PositionedDecoder(json.JSONDecoder):
    def __init__(self, text: str, room: int | None = None) -> None:
        super().__init__()
        self._text = text
        # Records that may still be read: no more objects than that (and the document's own).
        self._room, self._objects, self._scalars = room, 0, 0
        self._line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]
        self.parse_object = self._parse_object
        self.parse_array = self._parse_array
        self.scan_once = json.scanner.py_make_scanner(self)  # type: ignore[attr-defined]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def _parse_object(self, s_and_end: tuple[str, int], strict: bool, scan_once: Any,
                      object_hook: Any, object_pairs_hook: Any, memo: Any = None) -> Any:
        start = s_and_end[1] - 1
        self._objects += 1
        if self._room is not None and self._objects > self._room + 1:
            raise _TooMany(start)
        pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, memo)  # type: ignore[attr-defined]
        self._scalars += 2 * len(pairs)
        if self._room is not None and self._scalars > SCALARS_PER_RECORD * (self._room + 1):
            raise _TooMany(start)
        result = Positioned()
        result.start = self.position(start)
        cursor = start
        for key, value in pairs:
            # The key's own position: its first quoted occurrence after the previous key.
            found = self._text.find(json.dumps(key, ensure_ascii=False), cursor, end)
            if found < 0:  # written with escapes; the object's start is close enough
                found = start
            cursor = max(cursor, found)
            if key in result:
                result.duplicates.append((key, self.position(found)))
                continue
            result[key] = value
            result.keys_at[key] = self.position(found)
        return result, end

    def _parse_array(self, s_and_end: tuple[str, int], scan_once: Any) -> Any:
        start = s_and_end[1] - 1
        values, end = json.decoder.JSONArray(s_and_end, scan_once)  # type: ignore[attr-defined]
        items_at = [getattr(value, "start", None) for value in values]
        fallback = self.position(start)
        return PositionedList(values, fallback, [at or fallback for at in items_at]), end


TRAILING_COMMA = "trailing comma"  # `_trailing_comma`'s own message
# The standard library's messages, in the words a unit's clerk would use.
_MESSAGES = {
    TRAILING_COMMA: "最后一项之后多了一个逗号",
    "Expecting value": "此处应有一个值（是否多了一个逗号？）",
    "Expecting property name enclosed in double quotes": "此处应为双引号括起的字段名（是否多了一个逗号？）",
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Extra data": "JSON 已结束，后面还有多余内容",
    "Unterminated string starting at": "字符串缺少结束引号",
    "Invalid control character at": "字符串中有控制字符（如未转义的换行）",
    "Invalid \\escape": "无效的转义符",
}


def _trailing_comma(error: json.JSONDecodeError) -> json.JSONDecodeError:
    """A comma after the last item, reported alike on every Python: 3.13 names it, at the
    comma; 3.11 and 3.12 expect another value, at the bracket after it."""
    if error.msg.startswith("Illegal trailing comma"):
        return json.JSONDecodeError(TRAILING_COMMA, error.doc, error.pos)
    before = error.doc[:error.pos].rstrip()
    if error.doc[error.pos:error.pos + 1] in ("]", "}") and before.endswith(","):
        return json.JSONDecodeError(TRAILING_COMMA, error.doc, len(before) - 1)
    return error


def read_json(path: str, text: str, reading: Reading) -> None:
    if not text.strip():
        records_from_document(None, path, reading)
        return
    decoder = _PositionedDecoder(text, reading.room())
    try:
        document = decoder.decode(text)
    except _TooMany as too_many:
        reading.stop(Location(path, *decoder.position(too_many.offset)))
        return
    except json.JSONDecodeError as error:
        error = _trailing_comma(error)
        reading.problem(Location(path, error.lineno, error.colno), "E102",
                        f"JSON 语法错误：{_MESSAGES.get(error.msg, error.msg)}")
        return
    except RecursionError:
        reading.problem(Location(path, 1), "E105", "嵌套层次过深，不像是事实数据文件")
        return
    except ValueError as error:  # a number with more digits than Python converts (4,300)
        # Python's own words would tell a clerk to call sys.set_int_max_str_digits().
        digits = re.search(r"value has (\d+) digits", str(error))
        reading.problem(Location(path, 1), "E102", f"JSON 中有一个 {digits[1]} 位的整数，位数过多，"
                        "不像是事实数据" if digits else "JSON 内容无法读取：含无法转换的数值")
        return
    records_from_document(document, path, reading)
