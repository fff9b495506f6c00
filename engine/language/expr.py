"""The expression language of policies: parsing and evaluation.

Policies say what must be true in small expressions over records, written as text in YAML:

    m.kind in ['disobey_order', 'defy_ban'] and m.date <= $as_of
    a.basis == m.id
    i.published_on > i.date + $days days
    count(inspections as i where i.organizer == id and i.mode == 'unannounced' and in_year(i.date))
    missing(['key_area', 'key_post', 'risk_point'], values(checks as c where c.unit == id, c.kind))

- `alias.field` reads a field of a bound record; a path through a reference field follows it
  (`m.unit.main_leader` is the main leader of the misconduct's unit). Inside a computed field, a
  bare name is a field of the record itself.
- `$name` is a context value (`$year`, `$as_of`, `$year_start`, `$year_end`) or a parameter.
- `N days`, `N years` are durations; date ± years keeps the calendar day (29 February → 28).
- Comparisons with a missing value (null) are false, as in SQL and as in the rule engine;
  `x is null` / `x is not null` test for it.
- `count`, `exists` and `values` aggregate over the records of a kind.

Evaluation needs an `Env`: the bindings, the context, and a `Lookup` that resolves references
and runs aggregates (see `prepare.py`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol


class ExprError(ValueError):
    """A policy expression that cannot be parsed; `column` is 1-based within the expression."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


# ----------------------------------------------------------------------------- syntax tree

@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Any


@dataclass(frozen=True)
class Binary:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class IsNull:
    operand: Any
    negated: bool


@dataclass(frozen=True)
class Duration:
    amount: Any
    unit: str  # "days" or "years"


@dataclass(frozen=True)
class ListOf:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Aggregate:
    func: str  # count, exists, values
    kind: str
    alias: str
    where: Any | None
    value: Any | None = None


Node = Const | Var | Path | Unary | Binary | IsNull | Duration | ListOf | Call | Aggregate

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
FUNCTIONS = {"coalesce", "missing", "len", "in_year", "concat", "between", "only", "latest",
             "if", "empty_fields", "label", "labels", "titles"}
AGGREGATES = {"count", "exists", "values"}
_UNITS = {"day": "days", "days": "days", "year": "years", "years": "years"}

# ----------------------------------------------------------------------------- parser

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(\.\d+)?)
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<var>\$[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)|\[|\]|,|\.)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExprError(f"无法识别的字符 {text[position]!r}", position + 1)
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group(), position + 1))
        position = match.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int]:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *words: str) -> bool:
        kind, value, _ = self.peek()
        return (kind in ("name", "op")) and value in words

    def expect(self, word: str) -> None:
        kind, value, column = self.take()
        if value != word:
            raise ExprError(f"此处应为 {word!r}，实际为 {value or '表达式结尾'!r}", column)

    def parse(self) -> Node:
        node = self.or_()
        kind, value, column = self.peek()
        if kind != "end":
            raise ExprError(f"多余的内容 {value!r}", column)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            self.take()
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            return Unary("not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        if self.at(*COMPARISONS):
            return Binary(self.take()[1], left, self.sum())
        if self.at("is"):
            self.take()
            negated = self.at("not")
            if negated:
                self.take()
            self.expect("null")
            return IsNull(left, negated)
        if self.at("in"):
            self.take()
            return Binary("in", left, self.sum())
        if self.at("not") and self.peek(1)[1] == "in":
            self.take()
            self.take()
            return Binary("not in", left, self.sum())
        if self.at("contains"):
            self.take()
            return Binary("contains", left, self.sum())
        return left

    def sum(self) -> Node:
        node = self.term()
        while self.at("+", "-"):
            node = Binary(self.take()[1], node, self.term())
        return node

    def term(self) -> Node:
        node = self.primary()
        kind, value, _ = self.peek()
        if kind == "name" and value in _UNITS:
            self.take()
            return Duration(node, _UNITS[value])
        return node

    def primary(self) -> Node:
        kind, value, column = self.take()
        if kind == "number":
            return Const(float(value) if "." in value else int(value))
        if kind == "string":
            return Const(value[1:-1])
        if kind == "var":
            return Var(value[1:])
        if kind == "op" and value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "op" and value == "-":
            return Unary("-", self.primary())
        if kind == "op" and value == "[":
            items = []
            while not self.at("]"):
                items.append(self.or_())
                if not self.at("]"):
                    self.expect(",")
            self.expect("]")
            return ListOf(tuple(items))
        if kind == "name":
            if value in ("true", "false"):
                return Const(value == "true")
            if value == "null":
                return Const(None)
            if self.at("(") and value in AGGREGATES:
                return self.aggregate(value)
            if self.at("(") and value in FUNCTIONS:
                self.take()
                args = []
                while not self.at(")"):
                    args.append(self.or_())
                    if not self.at(")"):
                        self.expect(",")
                self.expect(")")
                return Call(value, tuple(args))
            if self.at("("):
                raise ExprError(f"未知的函数 {value!r}，可用："
                                f"{'、'.join(sorted(FUNCTIONS | AGGREGATES))}", column)
            parts = [value]
            while self.at("."):
                self.take()
                part_kind, part, part_column = self.take()
                if part_kind != "name":
                    raise ExprError("'.' 之后应为字段名", part_column)
                parts.append(part)
            return Path(tuple(parts))
        raise ExprError(f"此处应为一个值，实际为 {value or '表达式结尾'!r}", column)

    def aggregate(self, func: str) -> Node:
        self.expect("(")
        kind_token = self.take()
        if kind_token[0] != "name":
            raise ExprError("聚合函数的第一个参数应为数据类别", kind_token[2])
        self.expect("as")
        alias_token = self.take()
        if alias_token[0] != "name":
            raise ExprError("as 之后应为别名", alias_token[2])
        where = None
        if self.at("where"):
            self.take()
            where = self.or_()
        value = None
        if func == "values":
            self.expect(",")
            value = self.or_()
        self.expect(")")
        return Aggregate(func, kind_token[1], alias_token[1], where, value)


@cache
def parse(text: str) -> Node:
    """The syntax tree of an expression (cached: trees are immutable and shared)."""
    return _Parser(text).parse()


# ----------------------------------------------------------------------------- walking

def children(node: Node) -> tuple[Any, ...]:
    if isinstance(node, (Unary, IsNull)):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Duration):
        return (node.amount,)
    if isinstance(node, (ListOf, Call)):
        return node.items if isinstance(node, ListOf) else node.args
    return ()


def aggregates(node: Node, nested: bool = False) -> list[tuple[Aggregate, bool]]:
    """Every aggregate in an expression, each with whether it sits inside another."""
    found = [(node, nested)] if isinstance(node, Aggregate) else []
    for child in children(node):
        found += aggregates(child, nested)
    if isinstance(node, Aggregate):
        for part in (node.where, node.value):
            if part is not None:
                found += aggregates(part, True)
    return found


def conjuncts(node: Node) -> list[Node]:
    """`a and b and c` as [a, b, c]."""
    if isinstance(node, Binary) and node.op == "and":
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def aliases_used(node: Node, bound: set[str]) -> set[str]:
    """The bound aliases an expression reads (aggregates' own aliases excluded)."""
    if isinstance(node, Path):
        return {node.parts[0]} & bound
    if isinstance(node, Aggregate):
        inner = bound - {node.alias}
        used = aliases_used(node.where, inner) if node.where is not None else set()
        return used | (aliases_used(node.value, inner) if node.value is not None else set())
    result: set[str] = set()
    for child in children(node):
        result |= aliases_used(child, bound)
    return result


def to_text(node: Node) -> str:
    """An expression back as text (for golden tests and explanations)."""
    if isinstance(node, Const):
        return "null" if node.value is None else (
            repr(node.value) if isinstance(node.value, str) else str(node.value).lower()
            if isinstance(node.value, bool) else str(node.value))
    if isinstance(node, Var):
        return f"${node.name}"
    if isinstance(node, Path):
        return ".".join(node.parts)
    if isinstance(node, Unary):
        return f"not ({to_text(node.operand)})" if node.op == "not" else f"-{to_text(node.operand)}"
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, IsNull):
        return f"{to_text(node.operand)} is {'not ' if node.negated else ''}null"
    if isinstance(node, Duration):
        return f"{to_text(node.amount)} {node.unit}"
    if isinstance(node, ListOf):
        return "[" + ", ".join(to_text(item) for item in node.items) + "]"
    if isinstance(node, Call):
        return f"{node.name}(" + ", ".join(to_text(arg) for arg in node.args) + ")"
    where = f" where {to_text(node.where)}" if node.where is not None else ""
    value = f", {to_text(node.value)}" if node.value is not None else ""
    return f"{node.func}({node.kind} as {node.alias}{where}{value})"


# ----------------------------------------------------------------------------- evaluation

class Lookup(Protocol):
    """What evaluation needs from the fact set."""

    def field(self, row: dict[str, Any], name: str) -> Any: ...

    def follow(self, row: dict[str, Any], name: str) -> dict[str, Any] | None: ...

    def aggregate(self, node: Aggregate, env: Env) -> Any: ...


@dataclass
class Env:
    bindings: dict[str, dict[str, Any]]
    context: dict[str, Any]
    lookup: Lookup
    self_row: dict[str, Any] | None = None  # the record a computed field belongs to

    def bind(self, alias: str, row: dict[str, Any]) -> Env:
        return Env({**self.bindings, alias: row}, self.context, self.lookup, self.self_row)


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (or earlier); 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if isinstance(right, tuple):  # a duration: ("days"|"years", n)
        unit, amount = right
        amount = amount if op == "+" else -amount
        if unit == "years":
            return add_years(left, amount)
        return left + dt.timedelta(days=amount)
    if isinstance(left, list) and op == "+":
        return left + (right if isinstance(right, list) else [right])
    return left + right if op == "+" else left - right


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def evaluate(node: Node, env: Env) -> Any:
    """The value of an expression. Each tree is compiled once into nested closures, which
    evaluate several times faster than walking the tree on every call."""
    return compiled(node)(env)


def compiled(node: Node) -> Callable[[Env], Any]:
    """The expression as a function of an `Env`: for loops that evaluate it on many rows."""
    entry = _COMPILED.get(id(node))
    if entry is None or entry[0] is not node:  # the node is kept, so its id cannot be reused
        entry = _COMPILED[id(node)] = (node, _compile(node))
    return entry[1]


_COMPILED: dict[int, tuple[Node, Callable[[Env], Any]]] = {}


def _compile(node: Node) -> Callable[[Env], Any]:
    kind = type(node)
    if kind is Const:
        value = node.value
        return lambda env: value
    if kind is Var:
        name = node.name
        return lambda env: env.context[name]
    if kind is Path:
        return _compile_path(node.parts)
    if kind is Binary:
        return _compile_binary(node.op, _compile(node.left), _compile(node.right))
    if kind is Unary:
        operand = _compile(node.operand)
        if node.op == "not":
            return lambda env: not operand(env)
        return lambda env: None if (value := operand(env)) is None else -value
    if kind is IsNull:
        operand, negated = _compile(node.operand), node.negated

        def is_null(env: Env) -> bool:
            value = operand(env)
            empty = value is None or value == []
            return not empty if negated else empty
        return is_null
    if kind is Duration:
        amount, unit = _compile(node.amount), node.unit
        return lambda env: None if (value := amount(env)) is None else (unit, int(value))
    if kind is ListOf:
        items = [_compile(item) for item in node.items]
        return lambda env: [item(env) for item in items]
    if kind is Call:
        return _compile_call(node)
    return lambda env: env.lookup.aggregate(node, env)


def _compile_path(parts: tuple[str, ...]) -> Callable[[Env], Any]:
    first = parts[0]
    general = _compile_any_path(parts)
    if len(parts) != 2:
        return general
    name = parts[1]

    def field_of_alias(env: Env) -> Any:  # `alias.field`: most paths, evaluated most often
        row = env.bindings.get(first)
        if row is None:
            return general(env)
        try:
            return row[name]  # a stored field, or a computed one already evaluated
        except KeyError:
            return env.lookup.field(row, name)
    return field_of_alias


def _compile_any_path(parts: tuple[str, ...]) -> Callable[[Env], Any]:
    first, rest = parts[0], parts[1:]

    def path(env: Env) -> Any:
        row = env.bindings.get(first)
        names = rest
        if row is None:
            if env.self_row is None:
                raise KeyError(first)
            row, names = env.self_row, parts
        if not names:
            return row
        lookup = env.lookup
        for name in names[:-1]:  # every name but the last is a reference to follow
            row = lookup.follow(row, name)
            if row is None:
                return None
        return lookup.field(row, names[-1])
    return path


def _compile_binary(op: str, left: Callable[[Env], Any],
                    right: Callable[[Env], Any]) -> Callable[[Env], Any]:
    if op == "and":
        return lambda env: bool(left(env)) and bool(right(env))
    if op == "or":
        return lambda env: bool(left(env)) or bool(right(env))
    if op in COMPARE:
        compare = COMPARE[op]

        def comparison(env: Env) -> bool:
            a = left(env)
            if a is None:
                return False
            b = right(env)
            if b is None:
                return False
            try:
                return compare(a, b)
            except TypeError:
                return False
        return comparison
    if op in ("in", "not in"):
        wanted = op == "in"

        def membership(env: Env) -> bool:
            a, b = left(env), right(env)
            return a is not None and b is not None and (a in b) == wanted
        return membership
    if op == "contains":
        def contains(env: Env) -> bool:
            a, b = left(env), right(env)
            return a is not None and b is not None and b in a
        return contains
    return lambda env: _arith(op, left(env), right(env))


def _compile_call(node: Call) -> Callable[[Env], Any]:
    args = [_compile(arg) for arg in node.args]
    if node.name == "if":  # only the branch taken is evaluated
        condition, then, otherwise = args
        return lambda env: then(env) if condition(env) else otherwise(env)
    function = _FUNCTIONS[node.name]
    return lambda env: function(env, *[arg(env) for arg in args])


def _missing(env: Env, required: list[Any], present: Any) -> list[Any]:
    present = set(present or ())
    return [item for item in required if item not in present]


def _concat(env: Env, *args: Any) -> list[Any]:
    result: list[Any] = []
    for arg in args:
        if isinstance(arg, list):
            result.extend(arg)
        elif arg is not None:
            result.append(arg)
    return result


def _in_year(env: Env, value: Any) -> bool:
    """Dated from 1 January of the year up to the as-of date (and not after 31 December)."""
    last = min(env.context["as_of"], env.context["year_end"])
    return value is not None and env.context["year_start"] <= value <= last


def _label(env: Env, kind: str, name: str, code: Any) -> Any:
    from luoshi.facts.kinds import choice_of

    choice = choice_of(kind, name)
    return choice.labels.get(code, code) if choice and code is not None else code


def _labels(env: Env, kind: str, codes: list[Any]) -> list[Any]:
    """Chinese labels of enum codes of any field of `kind`."""
    from luoshi.facts.kinds import KINDS, choice_of

    table: dict[str, str] = {}
    for name in KINDS[kind].model_fields:
        choice = choice_of(kind, name)
        if choice:
            table.update(choice.labels)
    return [table.get(code, code) for code in codes or []]


def _titles(env: Env, kind: str, names: list[str]) -> list[str]:
    from luoshi.facts.kinds import KINDS

    fields = KINDS[kind].model_fields
    return [fields[name].title if name in fields else name for name in names or []]


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "coalesce": lambda env, *args: next((arg for arg in args if arg is not None), None),
    "missing": _missing,
    "len": lambda env, value: 0 if value is None else len(value),
    "concat": _concat,
    "in_year": _in_year,
    "between": lambda env, value, low, high: value is not None and low <= value <= high,
    "only": lambda env, values: values[0] if values is not None and len(values) == 1 else None,
    "latest": lambda env, *args: max((arg for arg in args if arg is not None), default=None),
    "empty_fields": lambda env, row, *names: [
        name for name in names if env.lookup.field(row, name) in (None, [])],
    "label": _label,
    "labels": _labels,
    "titles": _titles,
}
