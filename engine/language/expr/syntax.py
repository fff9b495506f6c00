"""The syntax of policy expressions: the tree, the parser, and walking the tree.

See `luoshi.engine.language.expr` for the language itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from luoshi.engine.language.expr.functions import REGISTRY


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
MAX_LENGTH = 10_000  # characters of one expression
MAX_DEPTH = 32  # nested parentheses, lists, calls and aggregates
MAX_NUMBER = 2**53  # numbers exact in JSON, the engine and Python alike
FUNCTIONS = {*REGISTRY, "if"}  # `if` evaluates only the branch taken
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
            tokens.append((match.lastgroup or "", match.group(), position + 1))
        position = match.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise ExprError(f"表达式过长（{len(text)} 个字符，最多 {MAX_LENGTH}）", MAX_LENGTH)
        self.depth = 0
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
        return self.nested(self._or)

    def nested(self, parse: Any) -> Node:
        """Every nesting (parentheses, lists, arguments, aggregates, `not`, `-`) is bounded, so
        that a deep expression is a clear error, not a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"表达式嵌套过深（最多 {MAX_DEPTH} 层）", self.peek()[2])
        try:
            return parse()
        finally:
            self.depth -= 1

    def _or(self) -> Node:
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
            return Unary("not", self.nested(self.not_))
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
            whole = value.partition(".")[0]
            # Checked on the digits first: Python refuses to convert more than 4,300 of them.
            if len(whole.lstrip("0")) > len(str(MAX_NUMBER)) or abs(float(value)) > MAX_NUMBER:
                shown = value if len(value) <= 40 else f"{value[:20]}…（{len(whole)} 位）"
                raise ExprError(f"数值 {shown} 过大", column)  # the engine holds 64-bit integers
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
            return Unary("-", self.nested(self.primary))
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
