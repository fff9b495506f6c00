"""Lowering a pattern's condition to tests the rule engine evaluates.

A policy condition on one record (`r.deadline < $as_of and r.closed_on is null`) becomes a tree
of engine tests on the fields of that record's fact:

    ("and", [t, ...])  ("or", [t, ...])
    ("cmp", op, field, ("const", value))       field op value
    ("cmp", op, field, ("field", other, n))    field op other + n (same fact; n in days)
    ("ex", field)  ("nex", field)              present / missing (null, or an empty list)
    ("has", field, value)  ("lacks", field, value)   a list field does / does not hold value
    ("never",)                                 matches nothing

Values are JSON scalars; dates are day numbers (`date.toordinal()`). What the engine cannot
compute becomes a **column**, a value attached to the fact before the engine (enrichment): a
path through a reference (`m.institution.important_measure` → `institution__important_measure`),
an aggregate (`count(...)`, `len(missing(..., values(...)))`), date arithmetic in years, function
values. Only values: every comparison, negation, `in`, `contains` and null test stays a test.
Parameters and the context (`$as_of`, `$year_start`, ...) are constants here, so a rule is
lowered for one check; `$as_of - $years years` is folded to a day number.

Python and the engine agree on missing values: a comparison with a missing value is false in
both, so `not (x == 'a')` is lowered as `x is null or x != 'a'`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from luoshi.engine.language import expr, names
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS

Test = tuple[Any, ...]
NEVER: Test = ("never",)
_COMPLEMENT = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_MIRROR = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class Columns:
    """The columns of one rule: names that say what they are, one per distinct expression."""

    def __init__(self, rule: str, columns: dict[str, dict[str, expr.Node]]) -> None:
        self.rule = rule
        self.by_alias = columns  # alias -> {column name: expression}

    def name(self, alias: str, node: expr.Node) -> str:
        own = self.by_alias.setdefault(alias, {})
        for name, existing in own.items():
            if existing == node:
                return name
        if isinstance(node, expr.Path) and node.parts[0] == alias:
            name = "__".join(node.parts[1:])
        else:
            taken = {n for columns in self.by_alias.values() for n in columns}
            number = 0
            while f"{self.rule}_{number}" in taken:
                number += 1
            name = f"{self.rule}_{number}"
        own[name] = node
        return name


def lower(node: expr.Node | None, alias: str, fields: set[str], context: dict[str, Any],
          columns: Columns, kind: str | None = None,
          computed: dict[str, dict[str, expr.Node]] | None = None) -> Test | None:
    """The tests of a condition on records bound to `alias` (None: no condition);
    `fields`: the record's stored and computed fields; `kind` and `computed`: its kind and the
    computed fields of `terms.yaml`, whose predicates on one record become tests too."""
    if node is None:
        return None
    lowering = _Lowering(alias, fields, context, columns, kind, computed or {})
    test = _simplify(lowering.test(node))
    if not _expressible(test):
        # A constant the engine cannot hold (a list, a date past its range): the whole
        # condition is computed before the engine, as a value the engine tests. The bundled
        # catalog has none (its compiled form is tests/golden/compiled.json).
        return ("cmp", "==", columns.name(alias, node), ("const", True))
    return test


def _expressible(test: Test) -> bool:
    """Whether every constant of a test is a JSON scalar durable_rules accepts."""
    if not test or test[0] in ("never", "ex", "nex"):
        return True
    if test[0] in ("and", "or"):
        return all(_expressible(part) for part in test[1])
    if test[0] in ("has", "lacks"):
        return _scalar(test[2])
    rhs = test[3]
    return _scalar(rhs[1]) if rhs[0] == "const" else isinstance(rhs[2], int)


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or isinstance(value, str):
        return True
    return isinstance(value, (int, float)) and abs(value) <= 2**53 and value == value


def value(node: expr.Node, context: dict[str, Any]) -> Any:
    """A constant expression's value as the engine holds it (dates as day numbers)."""
    return engine_value(expr.evaluate(node, expr.Env({}, context, _NoLookup())))


def engine_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.toordinal()
    return value


class _NoLookup:
    def field(self, row: Any, name: str) -> Any:
        raise KeyError(name)

    def follow(self, row: Any, name: str) -> Any:
        raise KeyError(name)

    def aggregate(self, node: Any, env: Any) -> Any:
        raise KeyError(node)


def is_constant(node: expr.Node) -> bool:
    """No record is read: constants, parameters and arithmetic on them."""
    if isinstance(node, (expr.Path, expr.Aggregate)):
        return False
    return all(is_constant(child) for child in expr.children(node))


class _Lowering:
    def __init__(self, alias: str, fields: set[str], context: dict[str, Any],
                 columns: Columns, kind: str | None = None,
                 computed: dict[str, dict[str, expr.Node]] | None = None) -> None:
        self.alias, self.fields, self.context, self.columns = alias, fields, context, columns
        self.kind, self.computed = kind, computed or {}

    # -- values ---------------------------------------------------------------------------

    def operand(self, node: expr.Node) -> tuple[Any, ...]:
        """("const", v) | ("field", name, days) for a field, a column, or field ± N days."""
        if is_constant(node):
            return ("const", value(node, self.context))
        if isinstance(node, expr.Path) and len(node.parts) == 2 and node.parts[0] == self.alias \
                and node.parts[1] in self.fields:
            return ("field", node.parts[1], 0)
        if isinstance(node, expr.Binary) and node.op in ("+", "-") and \
                isinstance(node.right, expr.Duration) and node.right.unit == "days" and \
                is_constant(node.right.amount):
            inner = self.operand(node.left)
            amount = value(node.right.amount, self.context)
            if inner[0] == "field" and isinstance(amount, int) and not isinstance(amount, bool):
                days = amount
                return ("field", inner[1], inner[2] + (days if node.op == "+" else -days))
        return ("field", self.columns.name(self.alias, node), 0)

    # -- conditions -----------------------------------------------------------------------

    def test(self, node: expr.Node) -> Test:
        if is_constant(node):
            return () if bool(value(node, self.context)) else NEVER
        if isinstance(node, expr.Binary) and node.op in ("and", "or"):
            return ("and" if node.op == "and" else "or",
                    [self.test(node.left), self.test(node.right)])
        if isinstance(node, expr.Unary) and node.op == "not":
            return self.negated(node.operand)
        if isinstance(node, expr.Binary) and node.op in expr.COMPARISONS:
            return self.comparison(node.op, node.left, node.right)
        if isinstance(node, expr.IsNull):
            name = self.field_of(node.operand)
            return ("ex", name) if node.negated else ("nex", name)
        if isinstance(node, expr.Binary) and node.op in ("in", "not in"):
            return self.membership(node.left, node.right, node.op == "in")
        if isinstance(node, expr.Binary) and node.op == "contains" and is_constant(node.right):
            return ("has", self.field_of(node.left), value(node.right, self.context))
        expanded = self.expand(node)
        if expanded is not None:
            return self.test(expanded)
        # A value used as a condition (a boolean field, `exists(...)`): it must be true.
        return ("cmp", "==", self.field_of(node), ("const", True))

    def negated(self, node: expr.Node) -> Test:
        """`not node`, where a missing value makes every comparison false."""
        if is_constant(node):
            return NEVER if bool(value(node, self.context)) else ()
        if isinstance(node, expr.Binary) and node.op in ("and", "or"):
            return ("or" if node.op == "and" else "and",
                    [self.negated(node.left), self.negated(node.right)])
        if isinstance(node, expr.Unary) and node.op == "not":
            return self.test(node.operand)
        if isinstance(node, expr.Binary) and node.op in expr.COMPARISONS:
            compared = self.comparison(_COMPLEMENT[node.op], node.left, node.right)
            missing = [("nex", side[1]) for side in (self.operand(node.left),
                                                    self.operand(node.right))
                       if side[0] == "field"]
            return ("or", [*missing, compared])
        if isinstance(node, expr.IsNull):
            return self.test(expr.IsNull(node.operand, not node.negated))
        if isinstance(node, expr.Binary) and node.op in ("in", "not in"):
            name = self.field_of(node.left)
            return ("or", [("nex", name), self.membership(node.left, node.right,
                                                           node.op != "in")])
        if isinstance(node, expr.Binary) and node.op == "contains" and is_constant(node.right):
            name = self.field_of(node.left)
            return ("or", [("nex", name), ("lacks", name, value(node.right, self.context))])
        expanded = self.expand(node)
        if expanded is not None:
            return self.negated(expanded)
        name = self.field_of(node)
        return ("or", [("nex", name), ("cmp", "==", name, ("const", False))])

    def comparison(self, op: str, left: expr.Node, right: expr.Node) -> Test:
        first, second = self.operand(left), self.operand(right)
        if first[0] == "const" and second[0] == "const":
            return () if _holds(op, first[1], second[1]) else NEVER
        if first[0] == "const":
            first, second, op = second, first, _MIRROR[op]
        if second[0] == "const":
            if second[1] is None:  # nothing compares with a missing value
                return NEVER
            if first[2]:  # x + n op c  <=>  x op c - n
                return ("cmp", op, first[1], ("const", second[1] - first[2]))
            return ("cmp", op, first[1], ("const", second[1]))
        if first[2]:  # x + n op y + m  <=>  y + m - n mirrored op x
            first, second, op = second, first, _MIRROR[op]
            if first[2]:
                second = ("field", second[1], second[2] - first[2])
                first = ("field", first[1], 0)
        return ("cmp", op, first[1], ("field", second[1], second[2]))

    def membership(self, left: expr.Node, right: expr.Node, inside: bool) -> Test:
        name = self.field_of(left)
        if isinstance(right, expr.ListOf) and all(is_constant(item) for item in right.items):
            items = [value(item, self.context) for item in right.items]
            if inside:
                return ("or", [("cmp", "==", name, ("const", item)) for item in items])
            return ("and", [("ex", name), *[("cmp", "!=", name, ("const", item))
                                            for item in items]])
        if is_constant(left):  # 'a' in r.list
            test = ("has", self.field_of(right), value(left, self.context))
            return test if inside else ("or", [("nex", self.field_of(right)),
                                               ("lacks", self.field_of(right),
                                                value(left, self.context))])
        # Membership of one field's value in another field: the engine has no such test.
        column = self.columns.name(self.alias, expr.Binary("in" if inside else "not in",
                                                            left, right))
        return ("cmp", "==", column, ("const", True))

    def field_of(self, node: expr.Node) -> str:
        kind = self.operand(node)
        if kind[0] == "field" and not kind[2]:
            return kind[1]
        return self.columns.name(self.alias, node)

    def expand(self, node: expr.Node) -> expr.Node | None:
        """Boolean functions the engine tests directly, written as comparisons; and a computed
        field that is a predicate on its record's own fields (`in_force`), written out on that
        record (`t.institution.in_force` tests `t.institution.status` …)."""
        if isinstance(node, expr.Path):
            return self.predicate(node)
        if not isinstance(node, expr.Call):
            return None
        if node.name == "in_year":  # from 1 January up to the as-of date, not past 31 December
            (day,) = node.args
            last = min(self.context["as_of"], self.context["year_end"])
            return expr.Binary("and", expr.Binary(">=", day, expr.Const(self.context["year_start"])),
                               expr.Binary("<=", day, expr.Const(last)))
        if node.name == "between":
            subject, low, high = node.args
            return expr.Binary("and", expr.Binary(">=", subject, low),
                               expr.Binary("<=", subject, high))
        return None


    def predicate(self, node: expr.Path) -> expr.Node | None:
        if node.parts[0] != self.alias or self.kind is None:
            return None
        kind = self.kind
        for name in node.parts[1:-1]:  # the kind the path reaches through references
            reached = names.targets(kind, name, self.computed)
            if len(reached) != 1:
                return None
            kind = reached[0]
        formula = self.computed.get(kind, {}).get(node.parts[-1])
        if formula is None or not _on_own_fields(formula, kind):
            return None
        return _prefixed(formula, node.parts[:-1])


def _on_own_fields(node: expr.Node, kind: str) -> bool:
    """A condition of comparisons, null tests, `in` and `and`/`or`/`not` over the record's own
    stored fields and constants: each part a test the engine evaluates on raw fields."""
    if isinstance(node, expr.Path):
        return len(node.parts) == 1 and kind in KINDS and node.parts[0] in KINDS[kind].model_fields
    if isinstance(node, (expr.Aggregate, expr.Call)):
        return isinstance(node, expr.Call) and node.name in ("in_year", "between") and \
            all(_on_own_fields(arg, kind) for arg in node.args)
    return all(_on_own_fields(child, kind) for child in expr.children(node))


def _prefixed(node: expr.Node, prefix: tuple[str, ...]) -> expr.Node:
    """A computed field's formula read from the record at `prefix` (its fields' paths)."""
    if isinstance(node, expr.Path):
        return expr.Path((*prefix, *node.parts))
    if isinstance(node, expr.Unary):
        return expr.Unary(node.op, _prefixed(node.operand, prefix))
    if isinstance(node, expr.IsNull):
        return expr.IsNull(_prefixed(node.operand, prefix), node.negated)
    if isinstance(node, expr.Binary):
        return expr.Binary(node.op, _prefixed(node.left, prefix), _prefixed(node.right, prefix))
    if isinstance(node, expr.Duration):
        return expr.Duration(_prefixed(node.amount, prefix), node.unit)
    if isinstance(node, expr.ListOf):
        return expr.ListOf(tuple(_prefixed(item, prefix) for item in node.items))
    if isinstance(node, expr.Call):
        return expr.Call(node.name, tuple(_prefixed(arg, prefix) for arg in node.args))
    return node


def _holds(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    try:
        return bool(expr.COMPARE[op](left, right))
    except TypeError:
        return False


def _simplify(test: Test) -> Test:
    """Flatten nested and/or, drop tests that always hold (`()`), fold `never`."""
    if not test or test[0] not in ("and", "or"):
        return test
    op = test[0]
    parts: list[Test] = []
    for part in (_simplify(part) for part in test[1]):
        if part and part[0] == op:
            parts.extend(part[1])
        else:
            parts.append(part)
    if op == "and":
        if NEVER in parts:
            return NEVER
        parts = [part for part in parts if part != ()]
    else:
        if () in parts:
            return ()
        parts = [part for part in parts if part != NEVER]
        if not parts:
            return NEVER
    if not parts:
        return ()
    return parts[0] if len(parts) == 1 else (op, parts)


def fields_read(test: Test | None) -> set[str]:
    """The fact fields a test reads."""
    if not test:
        return set()
    if test[0] in ("and", "or"):
        return set().union(*(fields_read(part) for part in test[1]))
    if test[0] == "cmp":
        rhs = test[3]
        return {test[2]} | ({rhs[1]} if rhs[0] == "field" else set())
    if test[0] in ("ex", "nex", "has", "lacks"):
        return {test[1]}
    return set()


def field_of(alias: str, node: expr.Node, columns: Columns) -> str:
    """A plain field's name, or a column computed before the engine for anything else."""
    if isinstance(node, expr.Path) and len(node.parts) == 2:
        return node.parts[1]
    return columns.name(alias, node)
