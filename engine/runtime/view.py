"""The facts as of a date: rows that rules and expressions read.

A row is a plain dict of a record's fields plus `__kind__`, `__key__` (its id or natural key)
and `__where__` (file:line). Building the view applies the as-of date once for every rule:
records dated after it are left out (and records that require one of them), event dates after
it are cleared. Computed fields (`policies/terms.yaml`) are evaluated on first use and kept on
the row. `FactView` is the `Lookup` expressions evaluate against: it follows references and
runs aggregates, with hash indexes on the equality or membership that links them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from luoshi.engine.language import expr, names
from luoshi.engine.runtime.scope import RowIndex
from luoshi.facts.factset import FactSet, Rows, rows_of
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS
from luoshi.facts.kinds import references


def context_for(year: int, as_of: dt.date, params: dict[str, Any]) -> dict[str, Any]:
    return {"year": year, "as_of": as_of, "year_start": dt.date(year, 1, 1),
            "year_end": dt.date(year, 12, 31), **params}


class ViewError(Exception):
    """A policy expression that reads what does not exist (caught and reported as P302)."""


class FactView:
    def __init__(self, facts: FactSet | Rows, as_of: dt.date,
                 computed: dict[str, dict[str, expr.Node]], context: dict[str, Any],
                 index: RowIndex | None = None) -> None:
        self.as_of = as_of
        self.computed = computed
        self.context = context
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.by_id: dict[str, dict[Any, dict[str, Any]]] = {}
        self._indexes: dict[tuple[str, str, bool], dict[Any, list[dict[str, Any]]]] = {}
        self._aggregate_plans: dict[int, tuple[str | None, bool, Any]] = {}
        self._memo: dict[tuple, Any] = {}
        # Plans and memos are keyed by id(node); holding every node keeps its id from being
        # reused by another node while this view lives.
        self._nodes: dict[int, Any] = {}
        self._branches: dict[tuple[str, str, int], expr.Aggregate] = {}
        self._evaluating: set[tuple[int, str]] = set()
        self._ref_targets: dict[tuple[str, str], tuple[str, ...]] = {}
        self.homes: dict[tuple[str, Any], Any] = {}  # (kind, id) -> home unit, for sessions
        # Rows are changed in place (event dates cleared, computed fields kept): rows of a
        # FactSet are made here, rows given are the caller's and copied.
        self.stored = rows_of(facts) if isinstance(facts, FactSet) else facts
        # The stored rows by field value, to find a unit's records without walking (`scope`);
        # kept between checks by whoever passes it.
        self.index = index if index is not None else RowIndex()
        self._aligned: dict[str, list[dict[str, Any] | None]] = {}
        self._build(self.stored, copy=not isinstance(facts, FactSet))

    # -- building -------------------------------------------------------------------------

    def _build(self, stored: Rows, copy: bool) -> None:
        for kind, model in KINDS.items():
            dated, events = model.DATED, model.EVENTS
            rows = []
            aligned = self._aligned[kind] = []  # the view's row of each stored row, or None
            for stored_row in stored.get(kind, ()):
                if dated and stored_row[dated] is not None and stored_row[dated] > self.as_of:
                    aligned.append(None)
                    continue
                row = dict(stored_row) if copy else stored_row
                for name in events:
                    if row[name] is not None and row[name] > self.as_of:
                        row[name] = None
                row["__kind__"] = kind
                rows.append(row)
                aligned.append(row)
            self.rows[kind] = rows
        for kind in self._drop_orphans():
            kept = {id(row) for row in self.rows[kind]}
            self._aligned[kind] = [row if row is not None and id(row) in kept else None
                                   for row in self._aligned[kind]]
        for kind, rows in self.rows.items():
            self.by_id[kind] = {row["id"]: row for row in rows} if "id" in KINDS[kind].model_fields \
                else {}

    def _drop_orphans(self) -> set[str]:
        """A record that requires a record not yet existing at the as-of date does not exist
        (nor, in turn, what requires it). The kinds that lost records."""
        required = {kind: [(name, targets) for name, targets in references(kind).items()
                           if KINDS[kind].model_fields[name].is_required()]
                    for kind in KINDS}
        ids = {kind: {row.get("id") for row in rows} for kind, rows in self.rows.items()}
        recheck = set(self.rows)
        dropped: set[str] = set()
        while recheck:
            shrunk = set()
            for kind in recheck:
                rows = self.rows[kind]
                for name, targets in required[kind]:
                    known = ids[targets[0]] if len(targets) == 1 else \
                        set().union(*(ids[target] for target in targets))
                    rows = [row for row in rows if row[name] in known]
                if len(rows) != len(self.rows[kind]):
                    self.rows[kind] = rows
                    ids[kind] = {row.get("id") for row in rows}
                    shrunk.add(kind)
            dropped |= shrunk
            recheck = {kind for kind in self.rows
                       if any(set(targets) & shrunk for _, targets in required[kind])}
        return dropped

    def aligned(self, kind: str) -> list[dict[str, Any] | None]:
        """The view's row of each stored row of `kind` (`self.stored[kind]`), None where the
        view leaves it out: how a stored row found by `index` is the view's."""
        return self._aligned.get(kind, [])

    def add_rows(self, kind: str, rows: Iterable[dict[str, Any]]) -> None:
        """Rows of a derived kind (triggers), for rules of a later stratum."""
        self.rows.setdefault(kind, []).extend(rows)
        self.by_id.setdefault(kind, {})

    # -- Lookup ---------------------------------------------------------------------------

    def field(self, row: dict[str, Any], name: str) -> Any:
        try:
            return row[name]
        except KeyError:
            pass
        kind = row["__kind__"]
        formula = self.computed.get(kind, {}).get(name)
        if formula is None:
            raise ViewError(f"{kind} 没有字段 {name}")
        marker = (id(row), name)
        if marker in self._evaluating:
            raise ViewError(f"计算字段 {kind}.{name} 引用了它自己")
        self._evaluating.add(marker)
        try:
            value = expr.evaluate(formula, expr.Env({}, self.context, self, self_row=row))
        finally:
            self._evaluating.discard(marker)
        row[name] = value
        return value

    def follow(self, row: dict[str, Any], name: str) -> dict[str, Any] | None:
        value = self.field(row, name)
        if value is None:
            return None
        for target in self.ref_targets(row["__kind__"], name):
            found = self.by_id.get(target, {}).get(value)
            if found is not None:
                return found
        return None

    def ref_targets(self, kind: str, name: str) -> tuple[str, ...]:
        """The kinds whose ids a field holds: declared for facts, inferred for computed fields."""
        key = (kind, name)
        if key not in self._ref_targets:
            self._ref_targets[key] = names.targets(kind, name, self.computed)
        return self._ref_targets[key]

    def aggregate(self, node: expr.Aggregate, env: expr.Env) -> Any:
        self._nodes.setdefault(id(node), node)
        index_field, contains, outer = self._plan(node)
        memo_key = (id(node),) if outer is None and not _uses_outer(node) else (
            id(node), id(env.self_row), *map(id, env.bindings.values()))
        if memo_key in self._memo:
            return self._memo[memo_key]
        if node.kind not in self.rows:
            raise ViewError(f"未知的数据类别 {node.kind}")
        if index_field is not None:
            value = expr.evaluate(outer, env)
            candidates = self._index(node.kind, index_field, contains).get(value, ())
        else:
            candidates = self.rows[node.kind]
        # One environment for every candidate, its alias rebound in turn: evaluation is
        # synchronous, and an aggregate inside `where` binds in an environment of its own.
        inner = env.bind(node.alias, {})
        bindings = inner.bindings
        if node.where is None:
            matched = list(candidates)
        else:
            where = expr.compiled(node.where)
            matched = []
            for row in candidates:
                bindings[node.alias] = row
                if where(inner):
                    matched.append(row)
        if node.func == "count":
            result: Any = len(matched)
        elif node.func == "exists":
            result = bool(matched)
        else:
            values: set[Any] = set()
            value_of = expr.compiled(node.value) if node.value is not None else (
                lambda env: None)
            for row in matched:
                bindings[node.alias] = row
                value = value_of(inner)
                values.update(value if isinstance(value, list) else [value])
            values.discard(None)
            result = sorted(values, key=str)
        self._memo[memo_key] = result
        return result

    def matching(self, kind: str, alias: str, where: expr.Node | None,
                 env: expr.Env) -> list[dict[str, Any]]:
        """The rows of `kind` for which `where` holds with `alias` bound to them; each branch of
        a top-level `or` looks its candidates up by index, as aggregates do."""
        if where is None:
            return list(self.rows.get(kind, []))
        found: dict[int, dict[str, Any]] = {}
        for branch in _disjuncts(where):
            node = self._branches.setdefault((kind, alias, id(branch)),
                                             expr.Aggregate("exists", kind, alias, branch))
            self._nodes.setdefault(id(branch), branch)  # keeps the id from being reused
            index_field, contains, outer = self._plan(node)
            if index_field is not None:
                value = expr.evaluate(outer, env)
                candidates = self._index(kind, index_field, contains).get(value, ())
            else:
                candidates = self.rows.get(kind, [])
            for row in candidates:
                if id(row) not in found and expr.evaluate(branch, env.bind(alias, row)):
                    found[id(row)] = row
        return list(found.values())

    def _plan(self, node: expr.Aggregate) -> tuple[str | None, bool, Any]:
        """Which field of the aggregated kind to look candidates up by, and with what value."""
        plan = self._aggregate_plans.get(id(node))
        if plan is None:
            plan = (None, False, None)
            for part in expr.conjuncts(node.where) if node.where is not None else []:
                if not isinstance(part, expr.Binary) or part.op not in ("==", "contains"):
                    continue
                own = (isinstance(part.left, expr.Path) and len(part.left.parts) == 2
                       and part.left.parts[0] == node.alias)
                other = part.right
                if not own and part.op == "==" and isinstance(part.right, expr.Path) and \
                        len(part.right.parts) == 2 and part.right.parts[0] == node.alias:
                    own, other = True, part.left
                    field = part.right.parts[1]
                elif own:
                    field = part.left.parts[1]
                if own and node.alias not in _path_heads(other):
                    plan = (field, part.op == "contains", other)
                    break
            self._aggregate_plans[id(node)] = plan
        return plan

    def _index(self, kind: str, field: str, contains: bool) -> dict[Any, list[dict[str, Any]]]:
        key = (kind, field, contains)
        index = self._indexes.get(key)
        if index is None:
            index = defaultdict(list)
            for row in self.rows[kind]:
                value = self.field(row, field)
                for item in (value or []) if contains else [value]:
                    index[item].append(row)
            self._indexes[key] = index
        return index


def label(row: dict[str, Any]) -> Any:
    """How evidence names a record: the id, or the natural key's parts joined by "/" (found
    when asked: few records are evidence); a trigger's row carries its own."""
    if "__label__" in row:
        return row["__label__"]
    key = KINDS[row["__kind__"]].KEY
    return row[key[0]] if len(key) == 1 else "/".join(str(row[name]) for name in key)


def _disjuncts(node: Any) -> list[Any]:
    if isinstance(node, expr.Binary) and node.op == "or":
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


def _path_heads(node: Any) -> set[str]:
    if isinstance(node, expr.Path):
        return {node.parts[0]}
    result: set[str] = set()
    for child in expr.children(node):
        result |= _path_heads(child)
    if isinstance(node, expr.Aggregate):
        for part in (node.where, node.value):
            if part is not None:
                result |= _path_heads(part) - {node.alias}
    return result


def _uses_outer(node: expr.Aggregate) -> bool:
    """Whether an aggregate reads anything but its own records (then it is memoised per row)."""
    return bool(_path_heads(node) - {node.alias})
