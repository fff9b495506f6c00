"""Compiling policies to an engine-independent form: queries over facts.

Each way a rule can fire (its body, or each of its `alternatives`) becomes a `Query`: positive
patterns joined in order, then negated patterns (`unless`), as the rule engine sees them. A
trigger with an `unless` of its own becomes a query of its own. The compiler splits every
condition by what it reads:

- a condition on one record becomes that pattern's `filter`, which `conditions.py` lowers to
  engine tests for each check (its parameters and the as-of date then known);
- a comparison between two patterns becomes a `Join`, evaluated by the engine on business
  keys (membership in a list field makes that pattern "exploded": one fact per list element,
  because durable_rules 2.0.28 refuses a reference to another fact inside `$iany`); a side
  that is not a plain field becomes a column of its pattern, computed before the engine;
- anything else is a policy error.

It also chooses how facts are partitioned into engine sessions: by a join key shared by every
pattern of the query, coarsened to the unit that key belongs to (`Partition`), so facts that
can meet share a session, and sessions are per unit. It orders queries into strata: a rule that
joins or negates triggers raised by other rules runs in a later stratum than they do; a rule
over triggers alone runs in the same stratum, fired by the engine as the triggers are raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luoshi.engine.errors import CompileError
from luoshi.engine.language import expr, names
from luoshi.engine.language.params import scoped
from luoshi.engine.language.policy import (
    Catalog,
    Rule,
    parse_pattern,
    rule_expressions,
    template_parts,
)
from luoshi.engine.language.triggers import DERIVED_KINDS, DERIVED_PREFIX
from luoshi.engine.plan.conditions import Columns, field_of
from luoshi.engine.plan.partition import Partition, charged_to_session, partition_of
from luoshi.engine.plan.strata import stratify
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS

MAX_POSITIVE_PATTERNS = 15  # durable_rules: 16 patterns per rule, one is the phase gate


@dataclass
class Join:
    """`this.field op other.other_field` for two patterns of one query."""

    field: str
    op: str
    other: str
    other_field: str


@dataclass
class Pattern:
    alias: str
    kind: str
    negated: bool = False
    explode: str | None = None  # a list field made scalar: one fact per element
    filter: expr.Node | None = None
    joins: list[Join] = field(default_factory=list)
    # Values computed before the engine (shared by the rule's queries: a name means one
    # expression), e.g. a join side that is not a plain field.
    columns: dict[str, expr.Node] = field(default_factory=dict)
    partition_field: str | None = None
    # Further join keys every pattern shares, in the same order in every pattern: sessions are
    # split by them too (the same matches, in sessions small enough for the engine).
    subpartition_fields: list[str] = field(default_factory=list)

    @property
    def token(self) -> str:
        """The fact type the engine sees for this pattern's facts."""
        return f"{self.kind}[{self.explode}]" if self.explode else self.kind



@dataclass
class Query:
    id: str
    rule: str
    stratum: int
    patterns: list[Pattern]
    partition: Partition
    finding: bool  # whether a match raises the rule's finding
    triggers: list[int]  # indexes of the rule's triggers a match raises
    # Whether every finding and trigger of a match is charged to its session's unit: then a
    # shard (`check --shard`) need evaluate only its own units' sessions of this query.
    by_session: bool = False
    # The rule's columns by alias (one object for all its queries; see conditions.Columns).
    columns: dict[str, dict[str, expr.Node]] = field(default_factory=dict)

    def consumes(self) -> set[str]:
        return {pattern.kind for pattern in self.patterns}

    def produces(self, rule: Rule) -> set[str]:
        return {DERIVED_PREFIX + rule.triggers[index].type for index in self.triggers}


@dataclass
class Program:
    queries: list[Query]
    rules: dict[str, Rule]
    computed: dict[str, dict[str, expr.Node]]
    params: dict[str, Any]  # every parameter in effect, by its qualified name

    def strata(self) -> list[list[Query]]:
        depth = max((query.stratum for query in self.queries), default=0)
        return [[q for q in self.queries if q.stratum == k] for k in range(1, depth + 1)]


def compile_catalog(catalog: Catalog, params: dict[str, Any] | None = None,
                    select: set[str] | None = None) -> Program:
    """Compile the rules (all, or `select` and what they need) with parameters applied."""
    values = {**catalog.params(), **(params or {})}
    computed = {kind: {name: expr.parse(text) for name, text in fields.items()}
                for kind, fields in catalog.terms.computed.items()}
    for kind in catalog.terms.computed:
        if kind not in KINDS:
            raise CompileError("terms", (), f"computed 中未知的数据类别 {kind}", "P302")
        for name, node in computed[kind].items():
            found = names.problems(node, {}, set(names.CONTEXT) | set(catalog.terms.params),
                                   computed, self_kind=kind)
            if found:
                raise CompileError("terms", (kind, name), f"{kind}.{name}：{found[0]}", "P302")
    _reject_computed_cycles(computed)
    queries = []
    for rule in catalog.rules.values():
        if select is not None and rule.id not in select:
            continue
        _check_names(rule, catalog, computed)
        queries.extend(_compile_rule(rule, computed))
    stratify(queries, catalog)
    return Program(queries, catalog.rules, computed, values)


def _reject_computed_cycles(computed: dict[str, dict[str, expr.Node]]) -> None:
    """A computed field may not depend on itself through the record's other computed fields."""
    for kind, fields in computed.items():
        uses = {name: {part for part in _bare_names(node) if part in fields}
                for name, node in fields.items()}
        for start in fields:
            path, todo = [start], [(start, iter(sorted(uses[start])))]
            seen = {start}
            while todo:
                name, following = todo[-1]
                nxt = next(following, None)
                if nxt is None:
                    todo.pop()
                    path.pop()
                    continue
                if nxt == start:
                    raise CompileError("terms", (kind, start),
                                       f"计算字段 {kind}.{start} 循环引用：{' → '.join([*path, start])}",
                                       "P302")
                if nxt not in seen:
                    seen.add(nxt)
                    path.append(nxt)
                    todo.append((nxt, iter(sorted(uses[nxt]))))


def _bare_names(node: expr.Node) -> set[str]:
    """The record's own fields a computed field reads (bare names, and the first name of a path)."""
    if isinstance(node, expr.Path):
        return {node.parts[0]}
    found: set[str] = set()
    for child in expr.children(node):
        found |= _bare_names(child)
    return found


def rule_params(program: Program, rule_id: str) -> dict[str, Any]:
    """A rule's `$name` values: shared parameters, then its own (`ID.name`) as `name`."""
    return scoped(program.params, rule_id)


# ------------------------------------------------------------------------------- one rule

def _check_names(rule: Rule, catalog: Catalog, computed: dict[str, dict[str, expr.Node]]) -> None:
    """Every name each expression of the rule uses must exist (P302, at the expression)."""
    variables = set(names.CONTEXT) | set(catalog.terms.params) | set(rule.params)
    entries = rule_expressions(rule)
    bodies: list[tuple[Any, ...]] = [("alternatives", i) for i in range(len(rule.alternatives))] or [()]
    for body in bodies:
        def in_body(loc: tuple[Any, ...], body: tuple[Any, ...] = body) -> bool:
            return loc[0] != "alternatives" or loc[:2] == body

        scope: dict[str, str] = {}
        for loc, text, kind in entries:
            if kind == "match" and in_body(loc):
                pattern = parse_pattern(text, alias=str(loc[-1]))
                _known(rule, loc, pattern.kind)
                scope[pattern.alias] = pattern.kind
        for loc, text, kind in entries:
            if not in_body(loc):
                continue
            if kind in ("match", "unless"):
                pattern = parse_pattern(text, alias=str(loc[-1]) if kind == "match" else None)
                _known(rule, loc, pattern.kind)
                nodes = [pattern.where] if pattern.where is not None else []
                local = {**scope, pattern.alias: pattern.kind}
            else:
                nodes = ([part for part in template_parts(text) if not isinstance(part, str)]
                         if kind == "message" else [expr.parse(text)])
                local = scope
            allowed = variables | ({"subject", "unit"} if loc == ("finding", "notice") else set())
            for node in nodes:
                found = names.problems(node, local, allowed, computed)
                if found:
                    raise CompileError(rule.id, loc, found[0], "P302")


def _known(rule: Rule, loc: tuple[Any, ...], kind: str) -> None:
    if not names.known_kind(kind):
        raise CompileError(rule.id, loc, f"未知的数据类别 {kind}", "P302")


def _compile_rule(rule: Rule, computed: dict[str, dict[str, expr.Node]]) -> list[Query]:
    def located(prefix: tuple[Any, ...], texts: list[str]) -> list[tuple[str, tuple[Any, ...]]]:
        return [(text, (*prefix, "unless", position)) for position, text in enumerate(texts)]

    Body = tuple[tuple[Any, ...], dict[str, str], str | None, list[tuple[str, tuple[Any, ...]]]]
    bodies: list[Body] = [((), rule.match, rule.where, located((), rule.unless))]
    for index, alternative in enumerate(rule.alternatives):
        bodies.append((("alternatives", index), {**rule.match, **alternative.match},
                       _and(rule.where, alternative.where),
                       [*located((), rule.unless),
                        *located(("alternatives", index), alternative.unless)]))
    if rule.alternatives:
        bodies = bodies[1:]
    queries = []
    columns = Columns(rule.id, {})
    plain_triggers = [i for i, trigger in enumerate(rule.triggers) if not trigger.unless]
    for number, (loc, match, where, unless) in enumerate(bodies):
        suffix = f"/{number + 1}" if len(bodies) > 1 else ""
        queries.append(_query(rule, f"{rule.id}{suffix}", loc, match, where, unless,
                              finding=True, triggers=plain_triggers, computed=computed,
                              columns=columns))
        for index, trigger in enumerate(rule.triggers):
            if trigger.unless:
                queries.append(_query(rule, f"{rule.id}{suffix}#t{index}", loc, match, where,
                                      [*unless, *located(("triggers", index), trigger.unless)],
                                      finding=False,
                                      triggers=[index], computed=computed, columns=columns))
    return queries


def _and(first: str | None, second: str | None) -> str | None:
    if first and second:
        return f"({first}) and ({second})"
    return first or second


def _query(rule: Rule, query_id: str, loc: tuple[Any, ...], match: dict[str, str],
           where: str | None, unless: list[tuple[str, tuple[Any, ...]]], finding: bool,
           triggers: list[int],
           computed: dict[str, dict[str, expr.Node]], columns: Columns) -> Query:
    positives: list[Pattern] = []
    conditions: list[tuple[expr.Node, tuple[Any, ...]]] = []
    for alias, text in match.items():
        parsed = parse_pattern(text, alias=alias)
        _check_kind(rule, (*loc, "match", alias), parsed.kind)
        positives.append(Pattern(alias, parsed.kind,
                                 columns=columns.by_alias.setdefault(alias, {})))
        if parsed.where is not None:
            conditions += [(part, (*loc, "match", alias)) for part in expr.conjuncts(parsed.where)]
    if not positives:
        raise CompileError(rule.id, loc, "规则没有 match：至少要匹配一类记录")
    if len(positives) > MAX_POSITIVE_PATTERNS:
        raise CompileError(rule.id, (*loc, "match"),
                           f"一条规则最多匹配 {MAX_POSITIVE_PATTERNS} 类记录（规则引擎的限制）")
    if where:
        conditions += [(part, (*loc, "where")) for part in expr.conjuncts(expr.parse(where))]
    order = {pattern.alias: position for position, pattern in enumerate(positives)}
    by_alias = {pattern.alias: pattern for pattern in positives}
    for part, part_loc in conditions:
        _place(rule, part_loc, part, by_alias, order, columns)

    negatives = []
    for text, part_loc in unless:
        parsed = parse_pattern(text)
        _check_kind(rule, part_loc, parsed.kind)
        if parsed.alias in by_alias:
            raise CompileError(rule.id, part_loc, f"别名 {parsed.alias} 已在 match 中使用")
        pattern = Pattern(parsed.alias, parsed.kind, negated=True,
                          columns=columns.by_alias.setdefault(parsed.alias, {}))
        scope = {**by_alias, parsed.alias: pattern}
        scope_order = {**order, parsed.alias: len(order)}
        for part in expr.conjuncts(parsed.where) if parsed.where is not None else []:
            _place(rule, part_loc, part, scope, scope_order, columns, negated=pattern)
        negatives.append(pattern)
    patterns = positives + negatives
    partition = partition_of(rule, loc, patterns, computed, columns)
    query = Query(query_id, rule.id, 1, patterns, partition, finding, triggers,
                  columns=columns.by_alias)
    query.by_session = charged_to_session(rule, query)
    return query



def _check_kind(rule: Rule, loc: tuple[Any, ...], kind: str) -> None:
    if kind in KINDS or kind in DERIVED_KINDS:
        return
    raise CompileError(rule.id, loc, f"未知的数据类别 {kind}")


def _place(rule: Rule, loc: tuple[Any, ...], part: expr.Node, scope: dict[str, Pattern],
           order: dict[str, int], columns: Columns, negated: Pattern | None = None) -> None:
    """Put one condition where it belongs: a pattern's filter, or a join between two."""
    used = expr.aliases_used(part, set(scope))
    unknown = _unknown_heads(part, set(scope))
    if unknown:
        raise CompileError(rule.id, loc, f"条件 {expr.to_text(part)} 引用了未绑定的别名："
                                         f"{'、'.join(sorted(unknown))}")
    if negated is not None and negated.alias not in used:
        if used:  # a condition of the positives inside `unless`: not meaningful there
            raise CompileError(rule.id, loc, f"unless 中的条件须涉及 {negated.alias}："
                                             f"{expr.to_text(part)}")
    if len(used) <= 1:
        target = scope[next(iter(used))] if used else (
            negated or min(scope.values(), key=lambda p: order[p.alias]))
        target.filter = part if target.filter is None else expr.Binary("and", target.filter, part)
        return
    if len(used) > 2 or not isinstance(part, expr.Binary) or \
            part.op not in (*expr.COMPARISONS, "contains"):
        raise CompileError(rule.id, loc, f"条件 {expr.to_text(part)} 无法编译：两类记录之间只能"
                                         "用比较（== != < <= > >=）或 contains 关联")
    left_aliases = expr.aliases_used(part.left, set(scope))
    right_aliases = expr.aliases_used(part.right, set(scope))
    if len(left_aliases) != 1 or len(right_aliases) != 1:
        raise CompileError(rule.id, loc, f"条件 {expr.to_text(part)} 的两边须各自只涉及一类记录")
    (left,), (right,) = left_aliases, right_aliases
    op, left_node, right_node = part.op, part.left, part.right
    if op == "contains":  # list side is exploded: one fact per element, then equality
        list_pattern = scope[left]
        if not (isinstance(left_node, expr.Path) and len(left_node.parts) == 2):
            raise CompileError(rule.id, loc, "contains 的左边须为一个列表字段")
        if list_pattern.explode not in (None, left_node.parts[1]):
            raise CompileError(rule.id, loc, f"{left} 已按 {list_pattern.explode} 展开")
        list_pattern.explode = left_node.parts[1]
        op = "=="
    # The join belongs to the later pattern (the negated one, if any).
    if order[left] < order[right]:
        left, right, left_node, right_node = right, left, right_node, left_node
        op = _MIRROR[op]
    later, earlier = scope[left], scope[right]
    later.joins.append(Join(field_of(later.alias, left_node, columns), op, earlier.alias,
                            field_of(earlier.alias, right_node, columns)))


_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _unknown_heads(node: expr.Node, scope: set[str]) -> set[str]:
    if isinstance(node, expr.Path):
        return {node.parts[0]} - scope
    if isinstance(node, expr.Aggregate):
        inner = scope | {node.alias}
        found: set[str] = set()
        for part in (node.where, node.value):
            if part is not None:
                found |= _unknown_heads(part, inner)
        return found
    found = set()
    for child in expr.children(node):
        found |= _unknown_heads(child, scope)
    return found





def computed_read(program: Program, rule_id: str) -> dict[tuple[str, str], expr.Node]:
    """Every computed field of `terms.yaml` the rule's conditions read, directly, through a
    reference (`t.institution.in_force`) or through another computed field, by (kind, name)."""
    found: dict[tuple[str, str], expr.Node] = {}

    def visit(node: Any, scope: dict[str, str], own: str | None) -> None:
        if isinstance(node, expr.Path):
            head, rest = node.parts[0], node.parts[1:]
            if head in scope:
                kind = scope[head]
            elif own is not None:  # a bare name in a computed field: the record's own
                kind, rest = own, node.parts
            else:
                return
            for position, name in enumerate(rest):
                formula = program.computed.get(kind, {}).get(name)
                if formula is not None and (kind, name) not in found:
                    found[(kind, name)] = formula
                    visit(formula, {}, kind)
                if position < len(rest) - 1:
                    following = names.targets(kind, name, program.computed)
                    if not following:
                        return
                    kind = following[0]
            return
        if isinstance(node, expr.Aggregate):
            inner = {**scope, node.alias: node.kind}
            for part in (node.where, node.value):
                if part is not None:
                    visit(part, inner, own)
            return
        for child in expr.children(node):
            visit(child, scope, own)

    for query in program.queries:
        if query.rule != rule_id:
            continue
        scope = {pattern.alias: pattern.kind for pattern in query.patterns}
        for pattern in query.patterns:
            if pattern.filter is not None:
                visit(pattern.filter, scope, None)
            for join in pattern.joins:
                visit(expr.Path((pattern.alias, join.field)), scope, None)
                visit(expr.Path((join.other, join.other_field)), scope, None)
            for node in pattern.columns.values():
                visit(node, scope, None)
    return found
