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
from dataclasses import dataclass, field
from typing import Any

from luoshi.facts.kinds import KINDS

from . import expr
from .compile import Pattern, Program, Query, rule_params
from .view import FactView

UNIT_SESSION = "u:"


@dataclass
class Workload:
    # [{"id", "patterns": [{"alias", "token", "flag", "negated", "joins": [[f, op, alias, f]]}]}]
    queries: list[dict[str, Any]]
    sessions: dict[str, list[dict[str, Any]]]  # session id -> facts
    rows: list[dict[str, Any]] = field(default_factory=list)  # fact "ref" -> view row


def _scalar(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.toordinal()
    return value


def build(view: FactView, program: Program, queries: list[Query]) -> Workload:
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
        for position, pattern in enumerate(query.patterns):
            flag = f"q{number}p{position}"
            shape["patterns"].append({
                "alias": pattern.alias, "token": pattern.token, "flag": flag,
                "negated": pattern.negated,
                "joins": [[names[(pattern.alias, j.field)], j.op, j.other,
                           names[(j.other, j.other_field)]] for j in pattern.joins],
            })
            needed = {name for (alias, name) in names if alias == pattern.alias}
            partners = [(absent, _partner_keys(view, absent, context)) for absent in pattern.absent]
            # A fact whose join value no fact of the earlier pattern has can never match.
            required = [(j.field, seen.setdefault((j.other, j.other_field), set()))
                        for j in pattern.joins if j.op == "=="]
            passes = expr.compiled(pattern.filter) if pattern.filter is not None else None
            for row in view.rows.get(pattern.kind, []):
                env = expr.Env({pattern.alias: row}, context, view)
                if passes is not None and not passes(env):
                    continue
                elements = (view.field(row, pattern.explode) or []) if pattern.explode else [None]
                for element in elements:
                    if partners and any(
                            _join_key(view, pattern, env, row, element,
                                      [join.other_field for join in absent.joins]) in keys
                            for absent, keys in partners):
                        continue
                    values = {}
                    for name in needed:
                        value = _value(view, pattern, env, row, element, name)
                        if value is not None:
                            values[name] = _scalar(value)
                    if any(values.get(name) not in allowed for name, allowed in required):
                        continue
                    session = _session(view, query, pattern, env, row, element)
                    if session is None:
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
                    for name, value in values.items():
                        fact[names[(pattern.alias, name)]] = value
                        seen.setdefault((pattern.alias, name), set()).add(value)
        workload.queries.append(shape)
    return workload


def _partner_keys(view: FactView, pattern: Pattern, context: dict[str, Any]) -> set[tuple]:
    """The join values of every record (or list element) of a negated pattern that passes its
    filter; a record missing one of them can never be a partner."""
    keys: set[tuple] = set()
    fields = [join.field for join in pattern.joins]
    passes = expr.compiled(pattern.filter) if pattern.filter is not None else None
    for row in view.rows.get(pattern.kind, []):
        env = expr.Env({pattern.alias: row}, context, view)
        if passes is not None and not passes(env):
            continue
        for element in (view.field(row, pattern.explode) or []) if pattern.explode else [None]:
            key = _join_key(view, pattern, env, row, element, fields)
            if key is not None:
                keys.add(key)
    return keys


def _join_key(view: FactView, pattern: Pattern, env: expr.Env, row: dict[str, Any],
              element: Any, fields: list[str]) -> tuple | None:
    """The values of `fields` as a hashable key, None if one is missing (nothing equals it)."""
    key = []
    for name in fields:
        value = _value(view, pattern, env, row, element, name)
        if value is None:
            return None
        key.append(tuple(value) if isinstance(value, list) else value)
    return tuple(key)


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


def _value(view: FactView, pattern: Pattern, env: expr.Env, row: dict[str, Any], element: Any,
           name: str) -> Any:
    if name == pattern.explode:
        return element
    if name in pattern.columns:
        return expr.evaluate(pattern.columns[name], env)
    return view.field(row, name)


def _session(view: FactView, query: Query, pattern: Pattern, env: expr.Env,
             row: dict[str, Any], element: Any) -> str | None:
    value = _value(view, pattern, env, row, element, pattern.partition_field)
    if value is None:
        # Only a single-pattern query can match a fact with no partition value.
        return UNIT_SESSION if len(query.patterns) == 1 else None
    kind = query.partition.kind
    if kind is None:
        return f"v:{value}"
    return UNIT_SESSION + str(home_unit(view, kind, value) or "")


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
