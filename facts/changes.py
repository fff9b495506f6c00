"""What changed between two stored states (`luoshi changes`): records added, removed, and
changed field by field. A state is the store as it stood right after a load."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .factset import Row, Rows
from .kinds import KINDS, references


def compare(before: Rows, after: Rows, unit: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """`{"added": [{"kind", "id", "record"}], "removed": [...], "changed": [{"kind", "id",
    "fields": {name: [old, new]}}]}`; with `unit`, only records that belong to it (by their
    kind's OWNER, in either state)."""
    result: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
    for kind, model in KINDS.items():
        fields = list(model.model_fields)
        old = {row["__key__"]: row for row in before.get(kind, ())}
        new = {row["__key__"]: row for row in after.get(kind, ())}

        def wanted(key: str, kind: str = kind, old: dict = old, new: dict = new) -> bool:
            return unit is None or unit in (owner(kind, old.get(key), before),
                                            owner(kind, new.get(key), after))

        for key in sorted(new.keys() - old.keys()):
            if wanted(key):
                result["added"].append({"kind": kind, "id": key, "record": _record(new[key], fields)})
        for key in sorted(old.keys() - new.keys()):
            if wanted(key):
                result["removed"].append({"kind": kind, "id": key,
                                          "record": _record(old[key], fields)})
        for key in sorted(old.keys() & new.keys()):
            differing = {name: [_plain(old[key][name]), _plain(new[key][name])]
                         for name in fields if old[key][name] != new[key][name]}
            if differing and wanted(key):
                result["changed"].append({"kind": kind, "id": key, "fields": differing})
    return result


def owner(kind: str, row: Row | None, rows: Rows) -> str | None:
    """The unit a row belongs to by its kind's OWNER path, looked up in `rows`."""
    path = KINDS[kind].OWNER
    if row is None or path is None:
        return None
    first, _, second = path.partition(".")
    if not second:
        return row[first]
    target = references(kind)[first][0]
    return next((other[second] for other in rows.get(target, ()) if other["id"] == row[first]),
                None)


def _record(row: Row, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(row[name]) for name in fields}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
