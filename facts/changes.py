"""What changed between two stored states (`luoshi changes`): records added, removed, and
changed field by field. A state is the store as it stood right after a load."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .factset import Row, Rows
from .kinds import KINDS, unit_path


def compare(before: Rows, after: Rows, unit: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """`{"added": [{"kind", "id", "record"}], "removed": [...], "changed": [{"kind", "id",
    "fields": {name: [old, new]}}]}`; with `unit`, only records that belong to it (by their
    kind's OWNER, in either state)."""
    result: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    by_id = [{kind: {row["id"]: row for row in rows.get(kind, ())}
              for kind, model in KINDS.items() if model.KEY == ("id",)} for rows in (before, after)]
    for kind, model in KINDS.items():
        fields = list(model.model_fields)
        old = {row["__key__"]: row for row in before.get(kind, ())}
        new = {row["__key__"]: row for row in after.get(kind, ())}
        if unit is not None:
            keys = old.keys() | new.keys()
            mine = {key for key in keys if unit in (owner(kind, old.get(key), by_id[0]),
                                                    owner(kind, new.get(key), by_id[1]))}
            old = {key: row for key, row in old.items() if key in mine}
            new = {key: row for key, row in new.items() if key in mine}
        for key in sorted(new.keys() - old.keys()):
            result["added"].append({"kind": kind, "id": key, "record": _record(new[key], fields)})
        for key in sorted(old.keys() - new.keys()):
            result["removed"].append({"kind": kind, "id": key, "record": _record(old[key], fields)})
        for key in sorted(old.keys() & new.keys()):
            differing = {name: [_plain(old[key][name]), _plain(new[key][name])]
                         for name in fields if old[key][name] != new[key][name]}
            if differing:
                result["changed"].append({"kind": kind, "id": key, "fields": differing})
    return result


def owner(kind: str, row: Row | None, by_id: dict[str, dict[str, Row]]) -> str | None:
    """The unit a row belongs to by its kind's OWNER path, looked up in `by_id` (kind -> id ->
    row)."""
    path = KINDS[kind].OWNER
    if row is None or path is None:
        return None
    field, through = unit_path(kind, path)
    if through is None:
        return row[field]
    target, target_field = through
    other = by_id[target].get(row[field])
    return None if other is None else other[target_field]


def _record(row: Row, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(row[name]) for name in fields}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
