"""How deep durable_rules' alpha stack can grow: what its error 303 counts.

durable_rules 2.0.28 matches a fact against its alpha network with a fixed stack of 64 nodes
(`handleAlpha` in `src/rules/events.c`, `MAX_STACK_SIZE`): every child node the fact passes is
pushed before any is visited, so a fact that passes many sibling tests at once fails the whole
assert with error 303. Counting patterns per fact type is not enough: every branch of an `$or`
ends in a node of its own that leads on to the rest of the pattern, so a fact that passes several
branches walks the rest several times, and tests that compare with another fact or with the
fact itself (joins, `$m`) are pushed without being tested.

This module builds the network as the C core does (`createAlpha`, `findAlpha`, `linkAlpha` in
`src/rules/rete.c`: a test is shared with an identical sibling; `$nex` tests and the node
ending each `$or` are kept in a list and pushed whenever the field is missing, which for the
latter is always) and gives, per fact type, the deepest the stack can get for any fact of that
type. The bound is sound: siblings are assumed to pass together, except equalities of one field
with different constants, which no fact passes together, and the deepest child is assumed to be
visited last. The backend splits rules into rulesets whose bound stays within the limit.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

STACK_LIMIT = 64  # MAX_STACK_SIZE: a push onto a full stack is error 303

_OPERATORS = {"$lt", "$lte", "$gt", "$gte", "$neq", "$ex", "$nex", "$mt", "$imt", "$iall",
              "$iany"}


@dataclass(eq=False)
class _Node:
    name: str = ""  # the field tested
    op: str = ""
    value: str = ""  # the right-hand side as JSON text: shared only when identical
    by_test: dict[tuple[str, str, str], _Node] = dataclasses.field(default_factory=dict)
    listed: list[_Node] = dataclasses.field(default_factory=list)  # `$nex` tests and `$or` ends


class Network:
    """The alpha network of some durable_rules rules (their `all` patterns)."""

    def __init__(self) -> None:
        self.root = _Node()

    @classmethod
    def of(cls, rules: dict[str, Any]) -> Network:
        network = cls()
        network.add_rules(rules)
        return network

    def add_rules(self, rules: dict[str, Any]) -> None:
        for rule in rules.values():
            for pattern in rule["all"]:
                (expression,) = pattern.values()
                self._add(expression, self.root)

    def deepest(self) -> dict[Any, int]:
        """Per fact type (a `type` equality under the root), the deepest stack a fact of that
        type can need."""
        memo: dict[int, int] = {}
        return {json.loads(node.value): _depth(node, memo) for (name, op, _), node
                in self.root.by_test.items() if name == "type" and op == "$eq"}

    def _add(self, expression: dict[str, Any], parent: _Node) -> _Node:
        """The node an expression ends at (createAlpha)."""
        (key, value), = expression.items()
        if key == "$and":
            for part in value:
                parent = self._add(part, parent)
            return parent
        if key == "$or":
            end = _Node(op="$or")  # never shared: each `$or` has an end of its own
            for branch in value:
                self._add(branch, parent).listed.append(end)
            return end
        if key in _OPERATORS:
            op, ((name, right),) = key, value.items()
        else:
            op, name, right = "$eq", key, value
        if op in ("$iany", "$iall"):  # never shared; inner tests run inside the array test
            node = _Node(name, op, json.dumps(right, sort_keys=True))
            parent.listed.append(node)  # not in by_test: its key is not unique
            return node
        text = json.dumps(right, sort_keys=True)
        test = (name, op, text)
        found = parent.by_test.get(test) or next(
            (n for n in parent.listed if (n.name, n.op, n.value) == test), None)
        if found is not None:
            return found
        node = _Node(name, op, text)
        if op == "$nex":
            parent.listed.append(node)
        else:
            parent.by_test[test] = node
        return node


def _depth(node: _Node, memo: dict[int, int]) -> int:
    """The deepest stack while a node and what follows it are visited, the node counted: its
    children are all pushed at once, then visited one by one, the last pushed first."""
    found = memo.get(id(node))
    if found is not None:
        return found
    children = [*node.by_test.values(), *node.listed]
    if not children:
        memo[id(node)] = 1
        return 1
    # A fact holds one value per field: of its equalities with different text constants, one
    # passes (durable coerces between numbers, booleans and their text, so only plain text).
    exclusive: set[str] = set()
    pushed = len(node.listed)
    for child in node.by_test.values():
        if child.op == "$eq" and _plain_text(child.value):
            if child.name in exclusive:
                continue
            exclusive.add(child.name)
        pushed += 1
    deepest = max(_depth(child, memo) for child in children)
    memo[id(node)] = max(1, pushed, pushed - 1 + deepest)
    return memo[id(node)]


def _plain_text(value: str) -> bool:
    """A JSON string constant that durable cannot take for a number or a boolean."""
    if not value.startswith('"'):
        return False
    text = json.loads(value)
    try:
        float(text)
    except ValueError:
        return text.strip().lower() not in ("true", "false")
    return False
