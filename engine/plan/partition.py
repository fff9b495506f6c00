"""Partitioning a query's facts into engine sessions: by a join key every pattern shares,
coarsened to the unit that key belongs to, so facts that can meet share a session and sessions
are per unit (durable_rules joins and negations never cross sessions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from luoshi.engine.errors import CompileError
from luoshi.engine.language import expr, names
from luoshi.engine.plan.conditions import Columns, field_of
from luoshi.facts.kinds import KINDS

if TYPE_CHECKING:
    from luoshi.engine.language.policy import Rule
    from luoshi.engine.plan.compile import Pattern, Query


@dataclass
class Partition:
    """Sessions are keyed by `kind`'s home unit of the value each pattern has in its field."""

    kind: str | None  # the kind whose id the partition fields hold (None: the value itself)


def partition_of(rule: Rule, loc: tuple[Any, ...], patterns: list[Pattern],
               computed: dict[str, dict[str, expr.Node]], columns: Columns) -> Partition:
    """A join key every pattern shares; its values, coarsened to units, key the sessions."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        parent.setdefault(node, node)
        while parent[node] != node:
            node = parent[node]
        return node

    for pattern in patterns:
        for join in pattern.joins:
            if join.op == "==":
                parent[find((pattern.alias, join.field))] = find((join.other, join.other_field))
    if len(patterns) == 1:
        # No joins, so any partition will do: the finding's unit, a plain field or else a
        # column materialised from its expression (`r.inspection.target`), so that every
        # session is the unit its results are charged to, which is what shards need.
        (pattern,) = patterns
        unit = expr.parse(rule.finding.unit)
        if isinstance(unit, expr.Path) and len(unit.parts) == 2 and unit.parts[0] == pattern.alias:
            pattern.partition_field = unit.parts[1]
        elif expr.aliases_used(unit, {pattern.alias}):
            pattern.partition_field = field_of(pattern.alias, unit, columns)
            return Partition("units")
        else:  # charged to no unit (`null`): by the record itself
            pattern.partition_field = "id" if "id" in names.fields_of(pattern.kind, computed) \
                else "__key__"
        return Partition(_kind_of(pattern, pattern.partition_field, computed))
    classes: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for node in list(parent):
        classes.setdefault(find(node), []).append(node)
    unit = expr.parse(rule.finding.unit)
    charged = (unit.parts[0], unit.parts[1]) if isinstance(unit, expr.Path) and \
        len(unit.parts) == 2 else None
    # The class holding the finding's unit first: then every session is the unit its results
    # are charged to, which is what shards need.
    shared = []  # the classes with a field in every pattern, the finding's unit's first
    for members in sorted(classes.values(), key=lambda members: charged not in members):
        by_alias: dict[str, str] = {}
        for alias, name in members:
            by_alias.setdefault(alias, name)
        if all(pattern.alias in by_alias for pattern in patterns):
            shared.append(by_alias)
    if shared:
        first, *others = shared
        for pattern in patterns:
            pattern.partition_field = first[pattern.alias]
            # Facts that meet agree on every shared key, so each one splits sessions soundly:
            # I207's leader links of the office's leader, one session per institution.
            pattern.subpartition_fields = [by_alias[pattern.alias] for by_alias in others]
        kind = next((k for p in patterns
                     if (k := _kind_of(p, first[p.alias], computed)) is not None), None)
        return Partition(kind)
    raise CompileError(rule.id, loc, "规则的各类记录之间没有共同的关联字段（==），"
                                     "无法按单位分区交给规则引擎")


def _kind_of(pattern: Pattern, name: str, computed: dict[str, dict[str, expr.Node]]) -> str | None:
    """The kind whose ids `name` holds in this pattern's records, where that can be known."""
    if name == "__key__":
        return None
    found = names.targets(pattern.kind, name, computed)
    return found[0] if found else None


def charged_to_session(rule: Rule, query: Query) -> bool:
    """Whether the finding's unit and every trigger's target unit are the unit whose session
    holds the match: the home unit of the partition value (`enrich._session`). That is a plain
    path from a pattern through its partition field to the home unit of the partition kind:
    `t.unit` for a unit partition on `t.unit`; `m.unit` for a misconduct partition on `m.id`
    (a misconduct's home is its `unit`); `l.person.unit` for a person partition on `l.person`."""
    kind = query.partition.kind
    if kind is None or kind not in KINDS or KINDS[kind].HOME is None:
        return False
    home = str(KINDS[kind].HOME).split(".")
    by_alias = {pattern.alias: pattern for pattern in query.patterns}
    for text in [rule.finding.unit, *(rule.triggers[i].target_unit for i in query.triggers)]:
        node = expr.parse(text)
        if len(query.patterns) == 1 and query.patterns[0].columns.get(
                query.patterns[0].partition_field or "") == node:
            continue  # the column materialised from this very expression
        if not (isinstance(node, expr.Path) and len(node.parts) >= 2):
            return False
        pattern = by_alias.get(node.parts[0])
        if pattern is None or pattern.partition_field is None or \
                pattern.explode == pattern.partition_field:
            return False
        # From the pattern's record to the session's unit: its own id's home, or its
        # partition field (a reference to the partition kind) and then that record's home.
        if pattern.partition_field == "id" and pattern.kind == kind:
            to_unit = home
        else:
            to_unit = [pattern.partition_field] + ([] if kind == "units" else home)
        if list(node.parts[1:]) != to_unit:
            return False
    return True
