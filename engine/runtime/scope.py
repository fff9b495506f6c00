"""The records a unit's re-check looks at, found by index instead of by walking the city.

A unit's re-check (`check(units=[U])`, the portal after U's submission) evaluates only the
sessions that can give results charged to U (`enrich.build`): for a query charged by session,
those whose partition value belongs to U; for the others, those holding a record that decides
U. Deciding that for every record of the city cost more than the rest of the re-check
(docs/performance.md). Here the candidates are looked up instead:

- `RowIndex` indexes stored rows by the values of a field (each element of a list), a kind at a
  time, and is kept between checks (the portal keeps one): a kind's index is built again only
  when its list of rows is another object. Stored rows are never changed, and a load's new state
  holds the very lists of the kinds it did not change (`store.read_newer`), so an index can
  never describe rows other than those it is asked about.
- `rows_where` gives a superset of the view's rows for which an expression's value is one of
  some values, or a list containing one: a field, a path through references (`r.inspection.
  organizer`: the inspections organised by U, then the results naming one), a computed field
  (its formula), `coalesce`, `concat` and the branches of `if`. Anything else is None, and the
  caller walks every record as before.

A superset suffices: enrichment decides on each candidate exactly as it does when walking, so
the facts placed are the same. Values the view differs in from the stored row (event dates
after the as-of date are cleared) only make the superset larger; rows the view leaves out
(dated later, orphans) are dropped.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from luoshi.engine.language import expr
from luoshi.facts.factset import Row
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS

if TYPE_CHECKING:
    from luoshi.engine.runtime.view import FactView

_DEPTH = 8  # references followed, formulas expanded: past this, walk
_EXPANDED = ("coalesce", "concat")  # functions whose value is one of (or made of) their arguments


class RowIndex:
    """Positions of stored rows by a field's values, per kind, for the rows last asked about."""

    def __init__(self) -> None:
        # kind -> (the list of rows indexed, field -> value -> positions; None: unindexable)
        self._kinds: dict[str, tuple[list[Row], dict[str, dict[Any, list[int]] | None]]] = {}
        self._lock = threading.Lock()

    def positions(self, kind: str, rows: list[Row], name: str) -> dict[Any, list[int]] | None:
        """value -> positions in `rows` (the stored rows of `kind`) holding it or a list with
        it; None when a value cannot be a key."""
        with self._lock:
            entry = self._kinds.get(kind)
            if entry is None or entry[0] is not rows:
                entry = self._kinds[kind] = (rows, {})
            if name in entry[1]:
                return entry[1][name]
        built: dict[Any, list[int]] = {}
        index: dict[Any, list[int]] | None = built
        try:
            for position, row in enumerate(rows):
                value = row.get(name)
                for item in value if isinstance(value, list) else (value,):
                    if item is not None:
                        built.setdefault(item, []).append(position)
        except TypeError:  # an unhashable value
            index = None
        with self._lock:
            entry[1][name] = index
        return index


def rows_where(view: FactView, kind: str, node: Any, alias: str | None,
               values: Collection[Any]) -> list[Row] | None:
    """The view's rows of `kind`, in view order, that may have `node` (over the row as `alias`,
    or over its own fields when `alias` is None) equal to one of `values` or a list holding one;
    None when `node` is not of a form looked up."""
    found = _positions(view, kind, node, alias, set(values), 0)
    if found is None:
        return None
    in_view = view.aligned(kind)
    return [row for position in sorted(found) if (row := in_view[position]) is not None]


def _positions(view: FactView, kind: str, node: Any, alias: str | None, values: set[Any],
               depth: int) -> set[int] | None:
    if depth > _DEPTH:
        return None
    if isinstance(node, expr.Path):
        parts = node.parts
        if alias is not None:
            if parts[0] != alias:
                return None
            parts = parts[1:]
        return _path(view, kind, parts, values, depth) if parts else None
    if isinstance(node, expr.Call) and (node.name in _EXPANDED or node.name == "if"):
        found: set[int] = set()
        for arg in node.args[1:] if node.name == "if" else node.args:
            part = _positions(view, kind, arg, alias, values, depth + 1)
            if part is None:
                return None
            found |= part
        return found
    return None


def _path(view: FactView, kind: str, parts: tuple[str, ...], values: set[Any],
          depth: int) -> set[int] | None:
    """Rows whose path `parts` (references followed, then a field) may hold one of `values`."""
    name, rest = parts[0], parts[1:]
    if rest:
        ids: set[Any] = set()
        for target in view.ref_targets(kind, name):
            found = _path(view, target, rest, values, depth + 1)
            if found is None:
                return None
            stored = view.stored.get(target, [])
            ids.update(stored[position].get("id") for position in found)
        ids.discard(None)
        values = ids
    if kind not in KINDS:
        return None
    if name in KINDS[kind].model_fields or name == "__key__":
        index = view.index.positions(kind, view.stored.get(kind, []), name)
        if index is None:
            return None
        return {position for value in values for position in index.get(value, ())}
    formula = view.computed.get(kind, {}).get(name)
    if formula is None:
        return None
    return _positions(view, kind, formula, None, values, depth + 1)
