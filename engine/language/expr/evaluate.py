"""Evaluating policy expressions: each tree compiled once into closures over an `Env`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from luoshi.engine.language.expr.functions import REGISTRY
from luoshi.engine.language.expr.syntax import (
    Aggregate,
    Binary,
    Call,
    Const,
    Duration,
    IsNull,
    ListOf,
    Node,
    Path,
    Unary,
    Var,
)


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
    if isinstance(node, Const):
        value = node.value
        return lambda env: value
    if isinstance(node, Var):
        name = node.name
        return lambda env: env.context[name]
    if isinstance(node, Path):
        return _compile_path(node.parts)
    if isinstance(node, Binary):
        return _compile_binary(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, Unary):
        operand = _compile(node.operand)
        if node.op == "not":
            return lambda env: not operand(env)
        def negative(env: Env) -> Any:
            value = operand(env)
            return -value if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else None
        return negative
    if isinstance(node, IsNull):
        operand, negated = _compile(node.operand), node.negated

        def is_null(env: Env) -> bool:
            value = operand(env)
            empty = value is None or value == []
            return not empty if negated else empty
        return is_null
    if isinstance(node, Duration):
        amount, unit = _compile(node.amount), node.unit
        def duration(env: Env) -> Any:
            value = amount(env)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None  # `'a' days`: no duration, a missing value
            return (unit, int(value))
        return duration
    if isinstance(node, ListOf):
        items = [_compile(item) for item in node.items]
        return lambda env: [item(env) for item in items]
    if isinstance(node, Call):
        return _compile_call(node)
    aggregate = node
    return lambda env: env.lookup.aggregate(aggregate, env)


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
            if a is None or not isinstance(b, (list, tuple, str)):
                return False
            try:
                return (a in b) == wanted
            except TypeError:  # `1 in 'text'`
                return False
        return membership
    if op == "contains":
        def contains(env: Env) -> bool:
            a, b = left(env), right(env)
            if b is None or not isinstance(a, (list, tuple, str)):
                return False
            try:
                return b in a
            except TypeError:
                return False
        return contains
    def arithmetic(env: Env) -> Any:
        try:
            return _arith(op, left(env), right(env))
        except (TypeError, ValueError, OverflowError):  # like a comparison of the incomparable:
            return None  # a value that is missing, never a crash of the check
    return arithmetic


def _compile_call(node: Call) -> Callable[[Env], Any]:
    args = [_compile(arg) for arg in node.args]
    if node.name == "if":  # only the branch taken is evaluated
        condition, then, otherwise = args
        return lambda env: then(env) if condition(env) else otherwise(env)
    function = REGISTRY[node.name]

    def call(env: Env) -> Any:
        values = [arg(env) for arg in args]
        try:
            return function(env, *values)
        except (TypeError, ValueError, OverflowError):  # a value of the wrong type: missing
            return None
    return call
