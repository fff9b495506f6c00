"""What a rule engine is given for one stratum: query shapes, and facts grouped into sessions.

Only the facts a pattern can match reach the engine (its filter and its anti-joins, `absent`,
are decided here), and only the fields its joins read. Values are plain JSON scalars: dates become day numbers, missing
values are left out (a comparison with a missing value never matches, as in expressions).
Each fact goes to the session of its partition value's home unit (`Partition`), once per
session however many patterns it serves. The workload is plain data, so it can be sent to a
worker process, and every backend, the durable_rules one and the tests' pure-Python one,
evaluates exactly the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from luoshi.facts.kinds import KINDS

from luoshi.engine.language import expr
from luoshi.engine.plan.compile import Pattern, Program, Query, rule_params
from luoshi.engine.runtime.view import FactView

UNIT_SESSION = "u:"


@dataclass
class Workload:
    # [{"id", "patterns": [{"alias", "token", "flag", "negated", "joins": [[f, op, alias, f]]}]}]
    queries: list[dict[str, Any]]
    sessions: dict[str, list[dict[str, Any]]]  # session id -> facts
    rows: list[dict[str, Any]] = field(default_factory=list)  # fact "ref" -> view row


def build(view: FactView, program: Program, queries: list[Query],
          in_shard: Callable[[str | None], bool] | None = None) -> Workload:
    """`in_shard`: whether a unit is in the shard being checked; a query whose results are all
    charged to its session's unit (`Query.by_session`) then gets only those units' sessions,
    and the rows of other units are not even filtered."""
    workload = Workload([], {})
    refs: dict[int, int] = {}
    # One fact per session, record and list element; its flags say which patterns it serves
    # *in that session*: a fact placed in a session for one query must not match another
    # query's pattern there, where that query's other facts were never placed.
    facts: dict[tuple[str, str, int, Any], dict[str, Any]] = {}
    for number, query in enumerate(queries):
        context = {**view.context, **rule_params(program, query.rule)}
        shape = {"id": query.id, "patterns": []}
        names = _field_names(query, number)
        seen: dict[tuple[str, str], set[Any]] = {}  # (alias, field) -> values its facts have
        shard = in_shard if query.by_session else None
        for position, pattern in enumerate(query.patterns):
            flag = f"q{number}p{position}"
            shape["patterns"].append({
                "alias": pattern.alias, "token": pattern.token, "flag": flag,
                "negated": pattern.negated,
                "joins": [[names[(pattern.alias, j.field)], j.op, j.other,
                           names[(j.other, j.other_field)]] for j in pattern.joins],
            })
            getters = [(name, names[(pattern.alias, name)], _getter(view, pattern, name))
                       for name in {name for (alias, name) in names if alias == pattern.alias}]
            partition = _getter(view, pattern, pattern.partition_field)
            partners = [(_key_getter(view, pattern, [join.other_field for join in absent.joins]),
                         _partner_keys(view, absent, context)) for absent in pattern.absent]
            # A fact whose join value no fact of the earlier pattern has can never match.
            required = [(j.field, seen.setdefault((j.other, j.other_field), set()))
                        for j in pattern.joins if j.op == "=="]
            passes = expr.compiled(pattern.filter) if pattern.filter is not None else None
            looked_up = [_lookup(view, pattern, lookup) for lookup in pattern.lookups]
            for row in view.rows.get(pattern.kind, []):
                env = expr.Env({pattern.alias: row}, context, view)
                if shard and not pattern.explode and not shard(
                        _session_unit(_session(view, query, partition(env, row, None)))):
                    continue
                if passes is not None and not passes(env):
                    continue
                if looked_up and not all(found(env, row) for found in looked_up):
                    continue
                elements = (view.field(row, pattern.explode) or []) if pattern.explode else [None]
                for element in elements:
                    if partners and any(key(env, row, element) in keys for key, keys in partners):
                        continue
                    values = {}
                    for name, _, get in getters:
                        value = get(env, row, element)
                        if value is not None:
                            values[name] = value.toordinal() if isinstance(value, dt.date) \
                                else value
                    if any(values.get(name) not in allowed for name, allowed in required):
                        continue
                    session = _session(view, query, partition(env, row, element))
                    if session is None or (shard and not shard(_session_unit(session))):
                        continue
                    ref = refs.get(id(row))
                    if ref is None:
                        ref = refs[id(row)] = len(workload.rows)
                        workload.rows.append(row)
                    fact = facts.get((session, pattern.token, ref, element))
                    if fact is None:
                        fact = facts[(session, pattern.token, ref, element)] = {
                            "type": pattern.token, "ref": ref}
                        workload.sessions.setdefault(session, []).append(fact)
                    fact[flag] = True
                    for name, engine_name, _ in getters:
                        if name in values:
                            fact[engine_name] = values[name]
                            seen.setdefault((pattern.alias, name), set()).add(values[name])
        workload.queries.append(shape)
    return workload


def _partner_keys(view: FactView, pattern: Pattern, context: dict[str, Any]) -> set[tuple]:
    """The join values of every record (or list element) of a negated pattern that passes its
    filter; a record missing one of them can never be a partner."""
    keys: set[tuple] = set()
    key_of = _key_getter(view, pattern, [join.field for join in pattern.joins])
    passes = expr.compiled(pattern.filter) if pattern.filter is not None else None
    for row in view.rows.get(pattern.kind, []):
        env = expr.Env({pattern.alias: row}, context, view)
        if passes is not None and not passes(env):
            continue
        for element in (view.field(row, pattern.explode) or []) if pattern.explode else [None]:
            key = key_of(env, row, element)
            if key is not None:
                keys.add(key)
    return keys


Getter = Callable[[expr.Env, dict[str, Any], Any], Any]  # (env, row, list element) -> value


def lookup_row(view: FactView, lookup: Pattern,
               row: dict[str, Any]) -> dict[str, Any] | None:
    """The record a looked-up pattern names from `row`, a record of its owner (by id)."""
    by_id = next(j for j in lookup.joins if j.field == "id" and j.op == "==")
    value = row[by_id.other_field] if by_id.other_field in row else \
        view.field(row, by_id.other_field)
    return None if value is None else view.by_id.get(lookup.kind, {}).get(value)


def _lookup(view: FactView, owner: Pattern,
            lookup: Pattern) -> Callable[[expr.Env, dict[str, Any]], bool]:
    """Whether a record of `owner` has the record `lookup` names, passing its filter and
    its other joins, as the engine would have required (a missing value never matches)."""
    passes = expr.compiled(lookup.filter) if lookup.filter is not None else None
    joins = [(_getter(view, lookup, j.field), expr.COMPARE[j.op], _getter(view, owner, j.other_field))
             for j in lookup.joins if not (j.field == "id" and j.op == "==")]

    def found(env: expr.Env, row: dict[str, Any]) -> bool:
        partner = lookup_row(view, lookup, row)
        if partner is None:
            return False
        both = env.bind(lookup.alias, partner)
        if passes is not None and not passes(both):
            return False
        for own, compare, other in joins:
            left, right = own(both, partner, None), other(both, row, None)
            if left is None or right is None:
                return False
            try:
                if not compare(left, right):
                    return False
            except TypeError:
                return False
        return True
    return found


def _getter(view: FactView, pattern: Pattern, name: str) -> Getter:
    """How a fact of `pattern` reads `name`: the list element it was exploded to, one of the
    pattern's materialised columns, or a field (stored or computed) of its record."""
    if name == pattern.explode:
        return lambda env, row, element: element
    if name in pattern.columns:
        column = expr.compiled(pattern.columns[name])
        return lambda env, row, element: column(env)

    def field(env: expr.Env, row: dict[str, Any], element: Any) -> Any:
        try:
            return row[name]
        except KeyError:
            return view.field(row, name)
    return field


def _key_getter(view: FactView, pattern: Pattern,
                fields: list[str]) -> Callable[[expr.Env, dict[str, Any], Any], tuple | None]:
    """The values of `fields` as a hashable key, None if one is missing (nothing equals it)."""
    getters = [_getter(view, pattern, name) for name in fields]

    def key(env: expr.Env, row: dict[str, Any], element: Any) -> tuple | None:
        values = []
        for get in getters:
            value = get(env, row, element)
            if value is None:
                return None
            values.append(tuple(value) if isinstance(value, list) else value)
        return tuple(values)
    return key


def _field_names(query: Query, number: int) -> dict[tuple[str, str], str]:
    """Engine field names: `f_<field>` for fields, `q<n>p<m>_c<k>` for a pattern's columns."""
    names: dict[tuple[str, str], str] = {}
    columns = {}
    for position, pattern in enumerate(query.patterns):
        for name in pattern.columns:
            columns[(pattern.alias, name)] = f"q{number}p{position}{name}"

    def add(alias: str, name: str) -> None:
        names[(alias, name)] = columns.get((alias, name), f"f_{name}")

    for pattern in query.patterns:
        if pattern.partition_field:
            add(pattern.alias, pattern.partition_field)
        for join in pattern.joins:
            add(pattern.alias, join.field)
            add(join.other, join.other_field)
    return names


def _session(view: FactView, query: Query, value: Any) -> str | None:
    """The session of a fact whose partition field holds `value`."""
    if value is None:
        # Only a single-pattern query can match a fact with no partition value.
        return UNIT_SESSION if len(query.patterns) == 1 else None
    kind = query.partition.kind
    if kind is None:
        return f"v:{value}"
    return UNIT_SESSION + str(home_unit(view, kind, value) or "")


def _session_unit(session: str | None) -> str | None:
    """The unit of a unit session (`u:<id>`; `u:` holds facts of no unit)."""
    return (session[len(UNIT_SESSION):] or None) if session else None


def home_unit(view: FactView, kind: str, record_id: Any) -> Any:
    """The unit a record belongs to (its kind's HOME path), e.g. a person's unit."""
    if kind == "units":
        return record_id
    key = (kind, record_id)
    if key not in view.homes:  # asked for every fact; a few thousand different answers
        row = view.by_id.get(kind, {}).get(record_id)
        if row is None or kind not in KINDS or KINDS[kind].HOME is None:
            view.homes[key] = None
        else:
            view.homes[key] = expr.evaluate(expr.parse(KINDS[kind].HOME),
                                            expr.Env({}, view.context, view, self_row=row))
    return view.homes[key]
