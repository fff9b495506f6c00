"""Validation in layers, every problem of every layer reported in one run.

1. syntax and shape (the readers);
2. fields, types and enums (the pydantic models in `kinds.py`);
3. ids and natural keys unique within a kind;
4. references resolving to records of the kinds they name (in the set, or with `stored`, in
   the database the set is loaded into).

A record that fails layer 2 still lends its id to layer 4, so one typo in a unit does not
turn into an error on every record that names that unit.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from .factset import FactSet, Record
from .gc_pause import cyclic_gc_paused
from .kinds import KINDS, field_choices, references, resolve_field, suggest_field
from .problems import InputError, Location, Problem, Progress, printable
from .raw import IGNORED_FIELDS, RawRecord, Reading
from .readers import InputFile, read_named, read_paths
from .values import LINE_BREAK, parse_text

# pydantic's own error types that can still reach a user (ours carry an E-code as their type).
_TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "float_type", "float_parsing",
                "bool_type", "bool_parsing", "list_type", "date_type", "date_parsing",
                "int_from_float", "finite_number", "dict_type", "model_type"}


# Of the ids wanted by kind, those stored already (`store.stored_ids`).
StoredIds = Callable[[dict[str, set[str]]], dict[str, set[str]]]


def read_facts(paths: Iterable[str], progress: Progress | None = None,
               notice: Callable[[str], None] | None = None,
               stored: StoredIds | None = None) -> tuple[FactSet, list[InputFile]]:
    """Read and validate every file under `paths`; raise `InputError` with all problems.
    `stored`: the ids already in the store, against which a submission's references resolve.

    Files a folder holds but that are not read are told to `notice` (default: stderr), each
    with the reason, so that nothing is passed over in silence."""
    with cyclic_gc_paused():
        reading = Reading()
        inputs = read_paths(paths, reading, progress)
        tell = notice or _to_stderr
        for path, why in reading.skipped:
            tell(printable(f"已跳过 {path}：{why}"))
        facts = validate(reading, progress, stored)
    return facts, inputs


def read_uploads(files: list[tuple[str, bytes]], stored: StoredIds | None = None,
                 max_records: int | None = None) -> tuple[FactSet, list[InputFile]]:
    """`read_facts` of files given as (name, bytes): the portal's uploads, never written to a
    disk, each known by its (cleaned) name; past `max_records` records, reading stops (E107)."""
    with cyclic_gc_paused():
        reading = Reading(max_records=max_records)
        inputs = read_named(files, reading)
        facts = validate(reading, None, stored)
    return facts, inputs


def _to_stderr(message: str) -> None:
    sys.stderr.write(message + "\n")


def validate(reading: Reading, progress: Progress | None = None,
             stored: StoredIds | None = None) -> FactSet:
    problems = reading.problems
    facts = FactSet()
    known_ids: dict[str, dict[str, Location]] = {kind: {} for kind in KINDS}
    keys_seen: dict[str, dict[tuple, Location]] = {kind: {} for kind in KINDS}
    # Each raw record is let go once it is a fact: the two together held twice the memory.
    pending, reading.records = reading.records[::-1], []
    total = len(pending)
    number = 0
    while pending:
        raw = pending.pop()
        number += 1
        if progress and number % 5000 == 0:
            progress("校验", number, total)
        values, written_as = _field_names(raw, problems)
        model = KINDS[raw.kind]
        if "id" in model.KEY:
            _note_id(raw, values, known_ids, problems)
        try:
            fact = model.model_validate(values)
        except ValidationError as error:
            problems.extend(_translate(raw, error, written_as))
            continue
        broken = _line_breaks(raw, fact, written_as)
        if broken:
            problems.extend(broken)
            continue
        key = fact.key()
        if "id" not in model.KEY:
            first = keys_seen[raw.kind].get(key)
            if first is not None:
                shown = "、".join(f"{name}={value}" for name, value in zip(model.KEY, key, strict=True))
                problems.append(Problem(raw.where, "E401", f"与 {first} 的记录重复（{shown}）",
                                        raw.kind))
                continue
            keys_seen[raw.kind][key] = raw.where
        facts.records[raw.kind].append(Record(fact, raw.where))
    if progress:
        progress("校验", total, total)
    if stored:
        _add_stored(facts, known_ids, stored)
    for record in facts:
        problems.extend(_unresolved(record, known_ids))
    if problems:
        raise InputError(problems)
    return facts


def _line_breaks(raw: RawRecord, fact: Any, written_as: dict) -> list[Problem]:
    """Ids and the codes that refer to records are one line: a line break there is refused."""
    problems = []
    for name in _code_fields(raw.kind):
        value = getattr(fact, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and LINE_BREAK.search(item):
                at = raw.field_at(written_as[name]) if name in written_as else raw.where
                problems.append(Problem(at, "E308", f"编号不能含换行：{item[:40]!r}", raw.kind, name))
                break
    return problems


@functools.cache
def _code_fields(kind: str) -> tuple[str, ...]:
    fields = KINDS[kind].model_fields
    return tuple(name for name in fields if name == "id" or name in references(kind))


def _field_names(raw: RawRecord, problems: list[Problem]) -> tuple[dict[str, Any], dict]:
    """Map the keys as written (code names or Chinese titles) to field names."""
    values: dict[str, Any] = {}
    written_as: dict[str, Any] = {}  # field name -> the key as written, to locate problems
    for written, value in raw.values.items():
        if written in IGNORED_FIELDS:  # the unit's own notes
            continue
        name = resolve_field(raw.kind, written)
        if name is None:
            problems.append(Problem(raw.field_at(written), "E301",
                                    _unknown_field(raw.kind, written), raw.kind, str(written)[:40]))
            continue
        if name in values:
            problems.append(Problem(raw.field_at(written), "E302",
                                    f"字段 {written!r} 与已写出的 {name} 是同一字段", raw.kind, name))
            continue
        values[name] = value
        written_as[name] = written
    return values, written_as


def _unknown_field(kind: str, written: Any) -> str:
    shown = str(written)[:40]
    name = suggest_field(kind, shown)
    if name:
        return f"未知字段 {shown!r}，是否应为 {name}（{KINDS[kind].model_fields[name].title}）？"
    return f"未知字段 {shown!r}，可用：{field_choices(kind)}"


def _note_id(raw: RawRecord, values: dict[str, Any], known_ids: dict[str, dict[str, Location]],
             problems: list[Problem]) -> None:
    try:
        record_id = parse_text(values.get("id"))
    except ValueError:
        return  # the type layer reports it
    if record_id is None:
        return
    first = known_ids[raw.kind].get(record_id)
    if first is not None:
        problems.append(Problem(raw.field_at("id"), "E401",
                                f"编号 {record_id!r} 重复：已在 {first} 使用", raw.kind, "id"))
    else:
        known_ids[raw.kind][record_id] = raw.field_at("id")


def _translate(raw: RawRecord, error: ValidationError, written_as: dict) -> list[Problem]:
    problems = []
    fields = KINDS[raw.kind].model_fields
    for detail in error.errors(include_url=False):
        name = str(detail["loc"][0]) if detail["loc"] else None
        at = raw.field_at(written_as[name]) if name in written_as else raw.where
        kind_of_error = detail["type"]
        if kind_of_error.startswith("E"):
            code, message = kind_of_error, detail["msg"]
        elif kind_of_error == "missing":
            code, message = "E303", f"缺少必填字段 {name}（{fields[name].title if name in fields else name}）"
        elif kind_of_error in _TYPE_ERRORS:
            code, message = "E304", f"类型错误：{detail['msg']}"
        else:
            code, message = "E304", detail["msg"]
        problems.append(Problem(at, code, message, raw.kind, name))
    return problems


def _add_stored(facts: FactSet, known_ids: dict[str, dict[str, Location]],
                stored: StoredIds) -> None:
    """Add to `known_ids` the stored records that the set names but does not hold."""
    missing: dict[str, set[str]] = {}
    for record in facts:
        for name, targets in references(record.fact.KIND).items():
            value = getattr(record.fact, name)
            for item in value if isinstance(value, list) else [value]:
                if item is not None and not any(item in known_ids[target] for target in targets):
                    for target in targets:
                        missing.setdefault(target, set()).add(item)
    if missing:
        for kind, ids in stored(missing).items():
            for item in ids:
                known_ids[kind][item] = Location("（数据库）")


def _unresolved(record: Record, known_ids: dict[str, dict[str, Location]]) -> list[Problem]:
    problems = []
    fact = record.fact
    for name, targets in references(fact.KIND).items():
        value = getattr(fact, name)
        for item in value if isinstance(value, list) else [value]:
            if item is None or any(item in known_ids[target] for target in targets):
                continue
            where = "或".join(f"{target}（{KINDS[target].ZH}）" for target in targets)
            problems.append(Problem(record.where, "E501", f"{where}中没有编号为 {item!r} 的记录",
                                    fact.KIND, name))
    return problems
