"""Which kinds a shard may read for its own units only (`check --shard`).

A kind is *local* when every rule reads its records only from within one unit: the unit whose
session the match is in, which for a query charged by session (`Query.by_session`) and
partitioned by unit is the unit its results belong to. Then shard K needs only the records
whose home unit is in K. The proof is deliberately narrow, because a wrong answer would
silently drop findings:

- no field of any kind (stored or computed) refers to the kind: no path can reach its records
  from another unit's record, and no record depends on one of them existing (orphans);
- it is a pattern of by-session queries only, partitioned by its own home field (the only
  positive pattern of its query, or a negated one);
- every aggregate or evidence pattern over it says `x.<home> == p.<partition field>` for the
  pattern `p` of every query it is evaluated in, and none sits in a computed field.

Everything else is read whole.
"""

from __future__ import annotations

from typing import Any

from luoshi.engine.language import expr, names
from luoshi.engine.language.policy import parse_pattern, rule_expressions, template_parts
from luoshi.engine.plan.compile import Program, Query
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS
from luoshi.facts.kinds import references


def local_kinds(program: Program) -> dict[str, str]:
    """Local kinds, each with its home field (a column holding a unit id)."""
    candidates = {kind: model.HOME for kind, model in KINDS.items()
                  if kind != "units" and model.HOME and "." not in model.HOME
                  and model.HOME in references(kind)
                  and references(kind)[model.HOME] == ["units"]}
    for kind in KINDS:  # reached from another record: never local
        for name in [*references(kind), *program.computed.get(kind, {})]:
            for target in names.targets(kind, name, program.computed):
                candidates.pop(target, None)
    for fields in program.computed.values():  # computed fields have no session
        for node in fields.values():
            for aggregate, _ in expr.aggregates(node):
                candidates.pop(aggregate.kind, None)
    for query in program.queries:
        # Sessions whose value is the unit itself: a partition field then holds the unit id.
        by_unit = query.by_session and query.partition.kind == "units"
        unit_of = {p.alias: p.partition_field for p in query.patterns
                   if by_unit and p.partition_field and p.explode != p.partition_field}
        positives = [p for p in query.patterns if not p.negated]
        for pattern in query.patterns:
            home = candidates.get(pattern.kind)
            own = by_unit and home is not None and pattern.partition_field == home \
                and (pattern.negated or len(positives) == 1) and pattern.explode != home
            if not own:
                candidates.pop(pattern.kind, None)
            for part in [pattern.filter, *pattern.columns.values()]:
                if part is not None:
                    _check_aggregates(part, unit_of, candidates)
        for node in _rule_nodes(program, query):
            _check_aggregates(node, unit_of, candidates)
    return candidates


def _rule_nodes(program: Program, query: Query) -> list[Any]:
    """The rule's expressions evaluated on a match (messages, units, triggers, `where`), and
    its evidence patterns as the aggregates they are; its `match` and `unless` patterns are
    the query's own."""
    nodes: list[Any] = []
    for loc, text, kind in rule_expressions(program.rules[query.rule]):
        if kind == "message":
            nodes += [part for part in template_parts(text) if not isinstance(part, str)]
        elif kind == "unless" and loc[0] == "evidence":
            pattern = parse_pattern(text)
            nodes.append(expr.Aggregate("exists", pattern.kind, pattern.alias, pattern.where))
        elif kind not in ("match", "unless"):
            nodes.append(expr.parse(text))
    return nodes


def _check_aggregates(node: Any, unit_of: dict[str, str], candidates: dict[str, str]) -> None:
    """An aggregate keeps its kind local only if its records are bound to the session's unit:
    a top-level conjunct `x.<home> == p.<partition field>` (`unit_of`: alias -> that field)."""
    for aggregate, nested in expr.aggregates(node):
        home = candidates.get(aggregate.kind)
        if home is None:
            continue
        if nested or aggregate.alias in unit_of or not any(
                _binds(part, aggregate.alias, home, unit_of)
                for part in expr.conjuncts(aggregate.where or expr.Const(True))):
            candidates.pop(aggregate.kind, None)


def _binds(part: Any, alias: str, home: str, unit_of: dict[str, str]) -> bool:
    if not (isinstance(part, expr.Binary) and part.op == "=="):
        return False
    for own, other in ((part.left, part.right), (part.right, part.left)):
        if own == expr.Path((alias, home)) and isinstance(other, expr.Path) and \
                len(other.parts) == 2 and unit_of.get(other.parts[0]) == other.parts[1]:
            return True
    return False
