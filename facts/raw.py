"""What a reader hands on: records as written, each with where it and each of its fields stand.

Readers only parse. Turning a raw record into a fact (field names, types, enums) is the job of
`validate.py`, the same for every file shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .kinds import KINDS, kind_choices, resolve_kind, suggest_kind
from .problems import Location, Problem, Problems


@dataclass(slots=True)
class RawRecord:
    kind: str
    where: Location
    values: dict[str, Any]
    # Where each field's key stands, as (line, column), or a column of the record's line (a
    # table's rows share one such map, their header's): a Location is made only for a problem
    # (making one per field of every record was half the time of reading a YAML file).
    fields_at: Mapping[Any, tuple[int, int] | int] = field(default_factory=dict)

    def field_at(self, name: Any) -> Location:
        at = self.fields_at.get(name)
        if at is None:
            return self.where
        return self.where.at(col=at) if isinstance(at, int) else self.where.at(*at)


# The keys and values a record of the widest kind (13 fields) writes, and room for a few more:
# past this many per record it may hold, a YAML or JSON document is not built further.
SCALARS_PER_RECORD = 32


@dataclass(slots=True)
class Reading:
    """Everything read from the inputs so far: records, and problems found while reading.
    With `max_records` (the portal's submissions), reading stops past that many records."""

    records: list[RawRecord] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why) not read
    max_records: int | None = None
    stopped: bool = False  # past `max_records`

    def problem(self, where: Location, code: str, message: str, kind: str | None = None,
                field_name: str | None = None) -> None:
        self.problems.append(Problem(where, code, message, kind, field_name))

    def full(self, where: Location) -> bool:
        """Whether `max_records` are read, so that the record at `where` is not (`stop`)."""
        room = self.room()
        if room is None or room > 0:
            return False
        self.stop(where)
        return True

    def room(self) -> int | None:
        """How many more records may be read (None: any number)."""
        return None if self.max_records is None else self.max_records - len(self.records)

    def stop(self, where: Location) -> None:
        """Reading stops at `where`, past `max_records` (said once)."""
        if not self.stopped:
            self.stopped = True
            self.problem(where, "E107", f"一次报送最多 {self.max_records or 0:,} 条记录，读到这里已满，"
                                        "其后的记录没有读取：请分几次报送，或请惩防办用 luoshi load 导入")


class Positioned(dict):
    """A mapping parsed from YAML or JSON that remembers where it and each of its keys stand."""

    __slots__ = ("start", "keys_at", "duplicates")

    def __init__(self) -> None:
        super().__init__()
        self.start: tuple[int, int] = (1, 1)
        self.keys_at: dict[Any, tuple[int, int]] = {}
        self.duplicates: list[tuple[Any, tuple[int, int]]] = []


class PositionedList(list):
    """A sequence parsed from YAML or JSON that remembers where it and each item stand."""

    __slots__ = ("start", "items_at")

    def __init__(self, items: list[Any], start: tuple[int, int],
                 items_at: list[tuple[int, int]] | None = None) -> None:
        super().__init__(items)
        self.start = start
        self.items_at = items_at or []


# Columns and keys a unit may add for its own notes: accepted everywhere, never read.
IGNORED_FIELDS = frozenset(("备注", "说明", "remarks", "notes"))
# A row of a table whose first cell starts with this is the template's example: never read.
EXAMPLE_MARK = "示例"
# A code offered by the template's dropdowns with its name beside it: "u-jw｜市纪委".
LABEL_SEPARATOR = "｜"


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "映射"
    if isinstance(value, list):
        return "列表"
    if value is None:
        return "空值"
    return "文本" if isinstance(value, str) else type(value).__name__


def unknown_kind(name: Any) -> str:
    shown = str(name)[:40]
    close = suggest_kind(shown)
    if close:
        return f"未知的数据类别 {shown!r}，是否应为 {close}（{KINDS[close].ZH}）？"
    return f"未知的数据类别 {shown!r}，可用：{kind_choices()}"


def records_from_document(document: Any, path: str, reading: Reading) -> None:
    """Read a YAML/JSON document: a mapping whose keys are kinds, each a list of records."""
    origin = Location(path, 1, 1)
    if document is None:
        reading.problem(origin, "E005", "文件为空，没有任何数据")
        return
    if not isinstance(document, Positioned):
        line, col = getattr(document, "start", (1, 1))
        reading.problem(
            origin.at(line, col), "E201",
            f"文件顶层应为映射（数据类别: 记录列表，如 units: [...]），实际为{_shape(document)}",
        )
        return
    for name, items in document.items():
        line, col = document.keys_at.get(name, (1, 1))
        where = origin.at(line, col)
        kind = resolve_kind(name)
        if kind is None:
            reading.problem(where, "E202", unknown_kind(name))
            continue
        if items is None:
            continue
        if not isinstance(items, list):
            reading.problem(where, "E203", f"{kind} 的内容应为记录列表，实际为{_shape(items)}", kind)
            continue
        items_at = getattr(items, "items_at", [])
        for index, item in enumerate(items):
            item_line, item_col = items_at[index] if index < len(items_at) else (line, col)
            if not isinstance(item, Positioned):
                reading.problem(origin.at(item_line, item_col), "E204",
                                f"第 {index + 1} 条记录应为字段映射，实际为{_shape(item)}", kind)
                continue
            record_at = origin.at(*item.start)
            if reading.full(record_at):
                return
            for key, key_at in item.duplicates:
                reading.problem(origin.at(*key_at), "E302", f"字段 {key!r} 在同一条记录中出现两次",
                                kind, str(key))
            reading.records.append(RawRecord(kind, record_at, item, item.keys_at))
    for name, at in document.duplicates:
        reading.problem(origin.at(*at), "E302", f"数据类别 {name!r} 在同一文件中出现两次（后者会覆盖前者）")
