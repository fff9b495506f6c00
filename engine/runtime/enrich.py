"""Enrichment: the facts the rule engine is given, and where they go.

This is the one step of Python before the engine. For the queries of one stratum it

- lowers each pattern's condition to engine tests for this check (`plan/conditions.py`);
- turns each record of the as-of view into one fact per pattern token (one per list element
  for an exploded pattern) holding the fields the tests and joins read: stored fields, computed
  fields of `terms.yaml`, and columns (values the engine cannot compute: paths through
  references, aggregates, date arithmetic in years). Dates become day numbers; a missing value
  (null, or an empty list) is left out, and the engine, like the expressions, never matches it;
- places each fact in the sessions where it can meet the facts it joins: by the partition
  value's home unit (`Partition`); and a fact of a negated pattern also in every session
  holding a fact it could block, whichever query put that fact there, so that an `unless` is
  never checked in a session that lacks the record that satisfies it.

Nothing here decides whether a record matches: every comparison, join and negation is a test
the engine evaluates. The plan is plain data, so it can be sent to a worker process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from luoshi.engine.language import expr, names
from luoshi.engine.plan.compile import Program, Query, rule_params
from luoshi.engine.plan.conditions import Columns, Test, engine_value, fields_read, lower
from luoshi.engine.runtime import scope
from luoshi.engine.runtime.view import FactView
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS

UNIT_SESSION = "u:"
# A fact's own keys are `type` (its token) and `ref` (its row); durable_rules owns `id` and
# `sid`, and joins on those read freed memory (bug B3). Record fields of these names are
# renamed: the record id is `key`.
_RENAMED = {"id": "key", "sid": "sid_", "type": "type_", "ref": "ref_"}


def field_name(name: str) -> str:
    """The name of a record's field in its fact."""
    return _RENAMED.get(name, name)


@dataclass
class EnginePattern:
    alias: str
    token: str  # the fact type: the kind, or `kind[field]` when exploded
    negated: bool
    test: Test | None  # the lowered filter (None: every fact of the token)
    joins: list[tuple[str, str, str, str]]  # (own field, op, earlier alias, its field)


@dataclass
class EngineQuery:
    id: str
    rule: str
    patterns: list[EnginePattern]
    raises: bool  # whether a match raises triggers (then its action asserts them)


@dataclass
class Plan:
    """What the engine evaluates for some queries of one stratum."""

    queries: list[EngineQuery]
    sessions: dict[str, list[dict[str, Any]]]  # unit session -> facts
    rows: list[dict[str, Any]]  # fact "ref" -> its view row
    # token -> engine fields of a derived fact (a trigger), for triggers the engine raises
    derived_fields: dict[str, list[str]] = field(default_factory=dict)

    def derived_fact(self, token: str, row: dict[str, Any], ref: int) -> dict[str, Any] | None:
        """A trigger as a fact, if a query reads its kind (durable refuses unread facts)."""
        wanted = self.derived_fields.get(token)
        if wanted is None:
            return None
        fact: dict[str, Any] = {"type": token, "ref": ref}
        for name in wanted:
            value = engine_value(row.get(name))
            if value is not None:
                fact[field_name(name)] = value
        return fact


def lower_queries(queries: list[Query], program: Program,
                  context: dict[str, Any]) -> tuple[list[EngineQuery], dict[str, dict]]:
    """Each query as the engine sees it, and every column by token: name -> (alias, node,
    rule). One `Columns` per rule, so a name means one expression in all its queries."""
    by_rule: dict[str, Columns] = {}
    lowered: list[EngineQuery] = []
    columns: dict[str, dict] = {}
    for query in queries:
        names_of = by_rule.setdefault(query.rule, Columns(query.rule, {
            alias: dict(found) for alias, found in query.columns.items()}))
        values = {**context, **rule_params(program, query.rule)}
        patterns = []
        for pattern in query.patterns:
            fields = names.fields_of(pattern.kind, program.computed)
            test = lower(pattern.filter, pattern.alias, fields, values, names_of, pattern.kind,
                         program.computed)
            patterns.append(EnginePattern(
                pattern.alias, pattern.token, pattern.negated, test,
                [(j.field, j.op, j.other, j.other_field) for j in pattern.joins]))
        lowered.append(EngineQuery(query.id, query.rule, patterns, bool(query.triggers)))
        for pattern in query.patterns:
            for name, node in names_of.by_alias.get(pattern.alias, {}).items():
                columns.setdefault(pattern.token, {})[name] = (pattern.alias, node, query.rule)
    return lowered, columns


def build(view: FactView, program: Program, queries: list[Query],
          in_shard: Callable[[str | None], bool] | None = None,
          units: frozenset[str] | None = None) -> Plan:
    """The plan of some queries of one stratum. `in_shard`: whether a unit is in the shard
    being checked; a query whose results are all charged to its session's unit
    (`Query.by_session`) then places facts only in those units' sessions. `units`: the units
    of a unit's re-check (then `in_shard` is membership of them): the facts that can be in
    their sessions are looked up (`scope`), where they can be, instead of walking every one."""
    lowered, columns = lower_queries(queries, program, view.context)
    needed = _fields_needed(queries, lowered)
    plan = Plan(lowered, {}, [])
    for token, wanted in needed.items():
        if token.startswith(names.DERIVED_PREFIX) and token not in view.rows:
            plan.derived_fields[token] = sorted(wanted)
    facts = _Facts(view, program, plan, needed, columns)
    placed: dict[str, dict[tuple[int, Any], set[str]]] = {}  # token -> fact -> sessions
    # (partition kind, value) -> its session, the same in every query: a few thousand values,
    # so each session is named (and its unit looked up) once, not once per fact or per query
    named: dict[tuple[str | None, Any], str | None] = {}
    charged = _charged_to_scope(in_shard) if in_shard else None
    for query in queries:
        values: set[Any] | None = None  # the partition values of the sessions wanted, if known
        if query.by_session:
            relevant = charged
            if units is not None:
                values = _values_of_units(view, query.partition.kind, units)
        else:
            relevant, values = _relevant(view, program, query, facts, in_shard, units) \
                if in_shard else (None, None)
        kind = query.partition.kind
        for pattern in query.patterns:
            partition = facts.getter(pattern.token, pattern.partition_field)
            subpartitions = [facts.getter(pattern.token, name)
                             for name in pattern.subpartition_fields]
            spots = placed.setdefault(pattern.token, {})
            candidates = facts.where(pattern.token, pattern.partition_field, values) \
                if values is not None else None
            for row, element in facts.each(pattern.token) if candidates is None else candidates:
                value = partition(row, element)
                if value is None or isinstance(value, list):  # not shared by other facts
                    session = _session_in_scope(view, query, value, row, relevant)
                else:
                    session = named.get((kind, value), _UNNAMED)
                    if session is _UNNAMED:
                        session = named[(kind, value)] = _session(view, query, value, row)
                    if session is not None and relevant is not None and not relevant(session):
                        continue
                if session is not None:
                    for get in subpartitions:
                        session += f"|{_hashable(get(row, element))}"
                    spots.setdefault((id(row), element), set()).add(session)
    _colocate_negations(queries, facts, placed, units is not None)
    for token, spots in placed.items():
        for (row_id, element), sessions in spots.items():
            fact = facts.fact(token, row_id, element)
            for session in sessions:
                plan.sessions.setdefault(session, []).append(fact)
    return plan


_UNNAMED = "?"  # no session is named so


def _charged_to_scope(in_shard: Callable[[str | None], bool]) -> Callable[[str], bool]:
    """Whether a session's results, all charged to its unit, are wanted (a query charged by
    session, `Query.by_session`): asked for every fact, so answered once per session."""
    answers: dict[str, bool] = {}

    def charged(session: str) -> bool:
        found = answers.get(session)
        if found is None:
            found = answers[session] = in_shard(_session_unit(session))
        return found
    return charged


def _values_of_units(view: FactView, kind: str | None, units: frozenset[str]) -> set[Any] | None:
    """The partition values of `kind` whose sessions are the units' (`_session`): the units
    themselves, or the ids of the records whose home unit is one of them; None if unknown."""
    if kind == "units":
        return set(units)
    if kind not in KINDS or KINDS[kind].HOME is None:
        return None
    rows = scope.rows_where(view, kind, expr.parse(str(KINDS[kind].HOME)), None, units)
    return None if rows is None else {row.get("id") for row in rows} - {None}


def _relevant(view: FactView, program: Program, query: Query, facts: _Facts,
              in_shard: Callable[[str | None], bool], units: frozenset[str] | None
              ) -> tuple[Callable[[str], bool] | None, set[Any] | None]:
    """For a shard or a unit's re-check, the sessions of `query`, a query not charged by session
    (those are `_charged_to_scope`), that can give a result charged to a unit wanted (a
    finding's unit or a trigger's target): those holding a record of the one positive pattern
    whose record alone decides every such unit, with a unit wanted (a unit's re-check thus
    spares the city's other sessions of a query partitioned by institution or person). None:
    every session. A session left out could only have given results `run.narrow` drops.
    With `units`, also the partition values of those sessions (None: unknown), and the
    deciding records are looked up where they can be."""
    rule = program.rules[query.rule]
    aliases = {pattern.alias for pattern in query.patterns}
    charged = [expr.parse(text) for text in
               [rule.finding.unit, *(rule.triggers[i].target_unit for i in query.triggers)]]
    used = set().union(*(expr.aliases_used(node, aliases) for node in charged))
    if not used:  # charged to no unit (or a constant one)
        to = {expr.evaluate(node, expr.Env({}, view.context, view)) for node in charged}
        if any(in_shard(unit) for unit in to):
            return None, None
        return frozenset().__contains__, set()
    pattern = next((p for p in query.patterns if {p.alias} == used and not p.negated), None)
    if pattern is None:
        return None, None
    alias = pattern.alias
    units_of = [expr.compiled(node) for node in charged]
    partition = facts.getter(pattern.token, pattern.partition_field)
    deciding = None  # the records that may decide a unit wanted (their order does not matter)
    if units is not None:
        found = [facts.where_node(pattern.token, node, alias, units) for node in charged]
        if all(part is not None for part in found):
            deciding = [fact for part in found if part is not None for fact in part]
    wanted: set[str] = set()
    values: set[Any] | None = set() if units is not None else None
    for row, element in facts.each(pattern.token) if deciding is None else deciding:
        env = expr.Env({alias: row}, view.context, view)
        if any(in_shard(unit(env)) for unit in units_of):
            value = partition(row, element)
            session = _session(view, query, value, row)
            if session is not None:
                wanted.add(session)
                if value is None or isinstance(value, list):  # not looked up: walk
                    values = None
                elif values is not None:
                    values.add(value)
    return wanted.__contains__, values


def _colocate_negations(queries: list[Query], facts: _Facts,
                        placed: dict[str, dict[tuple[int, Any], set[str]]],
                        few: bool = False) -> None:
    """Put each fact of a negated pattern in every session holding a fact of a positive pattern
    it is joined to by equality with the same value; repeated until nothing moves, since a
    negated token may be a positive one of another query. Any one equality is sound (a fact
    that could block a match shares its value); the one placing the fewest copies is used.
    `few`: few facts are placed (a unit's re-check), so the negated facts with those values
    are looked up where they can be, not found by walking every one."""
    links = []
    for query in queries:
        by_alias = {pattern.alias: pattern for pattern in query.patterns}
        for pattern in query.patterns:
            if pattern.negated:
                links.append((pattern.token, [(j.field, by_alias[j.other].token, j.other_field)
                                              for j in pattern.joins if j.op == "=="
                                              and not by_alias[j.other].negated]))
    changed = True
    while changed:
        changed = False
        for token, joins in links:
            best: list[tuple[tuple[int, Any], set[str]]] | None = None
            for own_field, partner_token, partner_field in joins:
                where: dict[Any, set[str]] = {}
                for spot, sessions in placed.get(partner_token, {}).items():
                    value = facts.value(partner_token, partner_field, spot)
                    if value is not None:
                        where.setdefault(value, set()).update(sessions)
                candidates = facts.values_where(token, own_field, where) if few else None
                if candidates is None:
                    candidates = facts.values_of(token, own_field)
                found = [(spot, spots_of) for spot, value in candidates.items()
                         if (spots_of := where.get(value))]
                if best is None or sum(len(v) for _, v in found) < sum(len(v) for _, v in best):
                    best = found
            spots = placed.setdefault(token, {})
            for spot, sessions in best or []:
                current = spots.setdefault(spot, set())
                if not sessions <= current:
                    current |= sessions
                    changed = True


def _fields_needed(queries: list[Query], lowered: list[EngineQuery]) -> dict[str, set[str]]:
    """Per token, the fields its facts must hold: what tests and joins read."""
    needed: dict[str, set[str]] = {}
    for query, engine_query in zip(queries, lowered, strict=True):
        token_of = {p.alias: p.token for p in query.patterns}
        for pattern, engine_pattern in zip(query.patterns, engine_query.patterns, strict=True):
            wanted = needed.setdefault(pattern.token, set())
            wanted |= fields_read(engine_pattern.test)
            for own, _, other, other_field in engine_pattern.joins:
                wanted.add(own)
                needed.setdefault(token_of[other], set()).add(other_field)
    return needed


class _Facts:
    """Facts built once per record (and list element), shared by every session holding them."""

    def __init__(self, view: FactView, program: Program, plan: Plan,
                 needed: dict[str, set[str]], columns: dict[str, dict]) -> None:
        self.view, self.program, self.plan = view, program, plan
        self.columns = columns
        self.needed = needed
        self.built: dict[tuple[str, int, Any], dict[str, Any]] = {}
        self.refs: dict[int, int] = {}
        self.values: dict[tuple[str, str], Callable[..., Any]] = {}
        self.rows_by_id: dict[int, dict[str, Any]] = {}
        self._each: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        self._values: dict[tuple[str, str], dict[tuple[int, Any], Any]] = {}

    def each(self, token: str) -> list[tuple[dict[str, Any], Any]]:
        """(row, list element or None) for every fact of a token."""
        found = self._each.get(token)
        if found is None:
            kind, _, rest = token.partition("[")
            exploded = rest[:-1] if rest else None
            found = []
            for row in self.view.rows.get(kind, ()):
                self.rows_by_id[id(row)] = row
                items = (self.view.field(row, exploded) or []) if exploded else [None]
                for element in dict.fromkeys(items) if exploded else items:
                    found.append((row, element))
            self._each[token] = found
        return found

    def where(self, token: str, name: str | None,
              values: Collection[Any]) -> list[tuple[dict[str, Any], Any]] | None:
        """A superset of the facts of `token` whose `name` (as `getter` reads it) is one of
        `values`, in the order of `each`, looked up by index (`scope`); None if it cannot be."""
        if name is None:
            return None
        exploded = token.partition("[")[2][:-1] or None
        column = self.columns.get(token, {}).get(name)
        if column is not None and name != exploded:
            return self.where_node(token, column[1], column[0], values)
        return self.where_node(token, expr.Path((name,)), None, values)  # its own field

    def where_node(self, token: str, node: Any, alias: str | None,
                   values: Collection[Any]) -> list[tuple[dict[str, Any], Any]] | None:
        """As `where`, for an expression over the record (as `alias`, or its own fields)."""
        kind, _, rest = token.partition("[")
        exploded = rest[:-1] if rest else None
        rows = scope.rows_where(self.view, kind, node, alias, values)
        if rows is None:
            return None
        found = []
        for row in rows:
            self.rows_by_id[id(row)] = row
            if exploded:
                for element in dict.fromkeys(self.view.field(row, exploded) or []):
                    found.append((row, element))
            else:
                found.append((row, None))
        return found

    def values_where(self, token: str, name: str,
                     wanted: Collection[Any]) -> dict[tuple[int, Any], Any] | None:
        """As `values_of`, for a superset of the facts whose value is one of `wanted` (text
        values, as `values_of` gives them); None if they cannot be looked up."""
        if not all(isinstance(value, str) for value in wanted):
            return None
        found = self.where(token, name, wanted)
        if found is None:
            return None
        get = self.getter(token, name)
        return {(id(row), element): _hashable(_plain(get(row, element)))
                for row, element in found}

    def getter(self, token: str, name: str | None) -> Callable[[dict[str, Any], Any], Any]:
        """How a fact of `token` reads `name`: the list element it was exploded to, a column,
        or a field (stored or computed) of its record."""
        key = (token, name or "")
        if key in self.values:
            return self.values[key]
        exploded = token.partition("[")[2][:-1] or None
        column = self.columns.get(token, {}).get(name or "")
        view = self.view
        if name is None:
            get: Callable[..., Any] = lambda row, element: None  # noqa: E731
        elif name == exploded:
            get = lambda row, element: element  # noqa: E731
        elif column is not None:
            column_alias, node, rule = column
            compiled = expr.compiled(node)
            context = {**view.context, **rule_params(self.program, rule)}

            def get(row: dict[str, Any], element: Any) -> Any:
                return compiled(expr.Env({column_alias: row}, context, view))
        elif name == "__key__":
            get = lambda row, element: row["__key__"]  # noqa: E731
        else:
            def get(row: dict[str, Any], element: Any) -> Any:
                try:
                    return row[name]
                except KeyError:
                    return view.field(row, name)
        self.values[key] = get
        return get

    def values_of(self, token: str, name: str) -> dict[tuple[int, Any], Any]:
        """Every fact's value of one field, hashable (lists as tuples), by (row id, element);
        computed alone, without building the facts (most of a shard's are never placed)."""
        key = (token, name)
        found = self._values.get(key)
        if found is None:
            get = self.getter(token, name)
            found = {(id(row), element): _hashable(_plain(get(row, element)))
                     for row, element in self.each(token)}
            self._values[key] = found
        return found

    def value(self, token: str, name: str, spot: tuple[int, Any]) -> Any:
        """One fact's value of one field, hashable, from its fact when that is built."""
        built = self.built.get((token, *spot))
        if built is not None:
            return _hashable(built.get(field_name(name)))
        found = self._values.get((token, name))
        if found is not None:
            return found[spot]
        return _hashable(_plain(self.getter(token, name)(self.rows_by_id[spot[0]], spot[1])))

    def fact(self, token: str, row_id: int, element: Any) -> dict[str, Any]:
        key = (token, row_id, element)
        fact = self.built.get(key)
        if fact is None:
            row = self.rows_by_id[row_id]
            ref = self.refs.get(row_id)
            if ref is None:
                ref = self.refs[row_id] = len(self.plan.rows)
                self.plan.rows.append(row)
            fact = {"type": token, "ref": ref}
            for name in sorted(self.needed.get(token, ())):
                value = _plain(self.getter(token, name)(row, element))
                if value is not None:
                    fact[field_name(name)] = value
            self.built[key] = fact
        return fact


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _plain(value: Any) -> Any:
    """A value as the engine holds it; None for what it must see as missing."""
    if value is None or value == []:
        return None
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, list):
        return [item.toordinal() if isinstance(item, dt.date) else item for item in value]
    return value


def _session(view: FactView, query: Query, value: Any, row: dict[str, Any]) -> str | None:
    """The session of a fact whose partition field holds `value`: its unit's (`u:<unit>`),
    within it the value's own when the value is not a unit (`u:<unit>/<kind>:<value>`): a
    unit leading many institutions, or whose leaders are linked to many, would otherwise hold
    a session too big for the engine, which slows down with the facts of a session."""
    if value is None:
        # Only a query with one positive pattern can match a fact with no partition value
        # (its negations, joined by equality on that value, cannot block it); any session will
        # do, so each record its own, and they are packed together.
        alone = sum(not pattern.negated for pattern in query.patterns) == 1
        return f"{UNIT_SESSION}/{row['__key__']}" if alone else None
    kind = query.partition.kind
    if kind is None:
        return f"v:{value}"
    home = str(home_unit(view, kind, value) or "")
    return UNIT_SESSION + home if kind == "units" else f"{UNIT_SESSION}{home}/{kind}:{value}"


def _session_in_scope(view: FactView, query: Query, value: Any, row: dict[str, Any],
                      relevant: Callable[[str], bool] | None) -> str | None:
    """The fact's session, or None when it has none or the scope does not need it."""
    session = _session(view, query, value, row)
    return None if session is None or (relevant and not relevant(session)) else session


def _session_unit(session: str | None) -> str | None:
    """The unit of a unit session (`u:<id>[/…]`; `u:` holds facts of no unit)."""
    if not session or not session.startswith(UNIT_SESSION):
        return None
    return session[len(UNIT_SESSION):].split("/", 1)[0] or None


def home_unit(view: FactView, kind: str, record_id: Any) -> Any:
    """The unit a record belongs to (its kind's HOME path), e.g. a person's unit."""
    if kind == "units":
        return record_id
    key = (kind, record_id)
    if key not in view.homes:  # asked for every fact; a few thousand different answers
        row = view.by_id.get(kind, {}).get(record_id)
        if row is None or kind not in KINDS or KINDS[kind].HOME is None:
            view.homes[key] = None
        elif "." not in str(KINDS[kind].HOME):  # a field of its own: no expression to evaluate
            view.homes[key] = view.field(row, str(KINDS[kind].HOME))
        else:
            view.homes[key] = expr.evaluate(expr.parse(KINDS[kind].HOME),
                                            expr.Env({}, view.context, view, self_row=row))
    return view.homes[key]
