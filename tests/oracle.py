"""A pure-Python evaluator of a stratum, the yardstick for the durable_rules backend.

It shares nothing with the engine path but the as-of view: no enrichment, no lowering of
conditions to engine tests, no sessions. Each query's conditions are evaluated as the policy
wrote them (`Pattern.filter`, by the expression evaluator); patterns are joined by hash on
their first equality with an earlier pattern, every other join checked on the pair; a negated
pattern is a hash lookup on its first equality; triggers a match raises are fed, as rows, to
the queries of the stratum that read them. Were lowering, enrichment, partitioning or the
engine wrong, the two would disagree.
"""

from __future__ import annotations

from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.plan.compile import Pattern, rule_params
from luoshi.engine.runtime.run import Bindings, Stratum, _chain_depth


def run(stratum: Stratum) -> list[tuple[str, Bindings]]:
    view, program = stratum.view, stratum.program
    depth = _chain_depth(stratum.queries, program)
    raised: dict[str, dict[tuple, dict[str, Any]]] = {}  # kind -> trigger rows, by content
    matches = []
    for query in sorted(stratum.queries, key=lambda q: (depth[q.id], q.id)):
        context = {**view.context, **rule_params(program, query.rule)}
        facts = {pattern.alias: _facts(view, pattern, context, raised)
                 for pattern in query.patterns}
        indexes: dict[tuple[str, str], dict[Any, list[Fact]]] = {}
        positives = [p for p in query.patterns if not p.negated]
        negatives = [p for p in query.patterns if p.negated]
        for binding in _bind(view, positives, facts, context, {}, indexes):
            if any(_blocked(view, n, facts[n.alias], binding, context, indexes)
                   for n in negatives):
                continue
            rows = {alias: fact[0] for alias, (_, fact) in binding.items()}
            matches.append((query.id, rows))
            for trigger in stratum.chain(query, rows):
                content = tuple(sorted((k, str(v)) for k, v in trigger.items()
                                       if not k.startswith("__")))
                raised.setdefault(trigger["__kind__"], {}).setdefault(content, trigger)
    return matches


Fact = tuple[dict[str, Any], Any]  # (row, list element or None)


def _facts(view: Any, pattern: Pattern, context: dict[str, Any],
           raised: dict[str, dict[tuple, dict[str, Any]]]) -> list[Fact]:
    """The records (list elements, if exploded) for which the pattern's own condition holds."""
    rows = [*view.rows.get(pattern.kind, ()), *raised.get(pattern.kind, {}).values()]
    found = []
    for row in rows:
        if pattern.filter is not None and not expr.evaluate(
                pattern.filter, expr.Env({pattern.alias: row}, context, view)):
            continue
        if pattern.explode:
            found += [(row, element) for element in dict.fromkeys(
                view.field(row, pattern.explode) or [])]
        else:
            found.append((row, None))
    return found


def _value(view: Any, pattern: Pattern, name: str, fact: Fact, context: dict[str, Any]) -> Any:
    row, element = fact
    if name == pattern.explode:
        return element
    if name in pattern.columns:
        return expr.evaluate(pattern.columns[name], expr.Env({pattern.alias: row}, context, view))
    return row[name] if name in row else view.field(row, name)


def _holds(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None or left == [] or right == []:
        return False
    try:
        return bool(expr.COMPARE[op](left, right))
    except TypeError:
        return False


Binding = dict[str, tuple[Pattern, "Fact"]]


def _joins_hold(view: Any, pattern: Pattern, fact: Fact, binding: Binding,
                context: dict[str, Any]) -> bool:
    for join in pattern.joins:
        other_pattern, other_fact = binding[join.other]
        if not _holds(join.op, _value(view, pattern, join.field, fact, context),
                      _value(view, other_pattern, join.other_field, other_fact, context)):
            return False
    return True


def _candidates(view: Any, pattern: Pattern, facts: list[Fact], binding: Binding,
                context: dict[str, Any], indexes: dict) -> list[Fact]:
    """The facts of a pattern with the value its first equality join asks for (by hash)."""
    equal = next((j for j in pattern.joins if j.op == "=="), None)
    if equal is None:
        return facts
    key = (pattern.alias, equal.field)
    if key not in indexes:
        index: dict[Any, list[Fact]] = {}
        for fact in facts:
            value = _value(view, pattern, equal.field, fact, context)
            if value is not None:
                index.setdefault(_hashable(value), []).append(fact)
        indexes[key] = index
    other_pattern, other_fact = binding[equal.other]
    wanted = _value(view, other_pattern, equal.other_field, other_fact, context)
    return indexes[key].get(_hashable(wanted), []) if wanted is not None else []


def _bind(view: Any, patterns: list[Pattern], facts: dict[str, list[Fact]],
          context: dict[str, Any], binding: Binding, indexes: dict):
    if not patterns:
        yield dict(binding)
        return
    first, rest = patterns[0], patterns[1:]
    for fact in _candidates(view, first, facts[first.alias], binding, context, indexes):
        if _joins_hold(view, first, fact, binding, context):
            binding[first.alias] = (first, fact)
            yield from _bind(view, rest, facts, context, binding, indexes)
            del binding[first.alias]


def _blocked(view: Any, pattern: Pattern, facts: list[Fact], binding: Binding,
             context: dict[str, Any], indexes: dict) -> bool:
    return any(_joins_hold(view, pattern, fact, binding, context)
               for fact in _candidates(view, pattern, facts, binding, context, indexes))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
