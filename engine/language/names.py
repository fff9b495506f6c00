"""Static checks of the names policies use: kinds, fields (through references), parameters.

A typo in a policy (`m.knd`, `$mni`) is reported when the catalog is compiled, at the rule's
file and line, rather than when a check happens to evaluate it.
"""

from __future__ import annotations

from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.triggers import DERIVED_PREFIX, FIELDS
from luoshi.facts.kinds import KINDS, references

# Derived kinds: the triggers rules raise, which other rules (A308) match, and their fields.
CONTEXT = ("year", "as_of", "year_start", "year_end")


def fields_of(kind: str, computed: dict[str, dict[str, Any]]) -> set[str]:
    if kind.startswith(DERIVED_PREFIX):
        return set(FIELDS)
    return set(KINDS[kind].model_fields) | set(computed.get(kind, {}))


def known_kind(kind: str) -> bool:
    return kind in KINDS or kind.startswith(DERIVED_PREFIX)


def targets(kind: str, name: str, computed: dict[str, dict[str, Any]],
            seen: frozenset = frozenset()) -> tuple[str, ...]:
    """The kinds whose ids a field holds (declared, or inferred for computed fields)."""
    if kind.startswith(DERIVED_PREFIX):
        return FIELDS.get(name) or ()
    if name == "id":
        return (kind,)
    declared = references(kind).get(name)
    if declared:
        return tuple(declared)
    formula = computed.get(kind, {}).get(name)
    if formula is None or (kind, name) in seen:
        return ()
    node = expr.parse(formula) if isinstance(formula, str) else formula
    return tuple(dict.fromkeys(_targets_of(kind, node, computed, seen | {(kind, name)})))


def _targets_of(kind: str, node: Any, computed: dict, seen: frozenset) -> list[str]:
    if isinstance(node, expr.Path) and len(node.parts) == 1:
        return list(targets(kind, node.parts[0], computed, seen))
    if isinstance(node, expr.Call) and node.name in ("coalesce", "only", "concat", "latest"):
        return [t for arg in node.args for t in _targets_of(kind, arg, computed, seen)]
    if isinstance(node, expr.Aggregate) and node.func == "values" and \
            isinstance(node.value, expr.Path) and len(node.value.parts) == 2:
        return list(targets(node.kind, node.value.parts[1], computed, seen))
    return []


def problems(node: Any, scope: dict[str, str], variables: set[str],
             computed: dict[str, dict[str, Any]], self_kind: str | None = None) -> list[str]:
    """What in an expression names nothing: aliases, fields, kinds, `$` variables."""
    found: list[str] = []
    if isinstance(node, expr.Var):
        if node.name not in variables:
            found.append(f"未知的参数或变量 ${node.name}，可用：" + "、".join(f"${v}" for v in sorted(variables)))
        return found
    if isinstance(node, expr.Path):
        head, rest = node.parts[0], node.parts[1:]
        if head in scope:
            kind = scope[head]
        elif self_kind is not None:
            kind, rest = self_kind, node.parts
        else:
            return [f"未绑定的别名 {head}"]
        for position, name in enumerate(rest):
            if name not in fields_of(kind, computed):
                return [f"{kind} 没有字段 {name}（{'.'.join(node.parts)}）"]
            if position < len(rest) - 1:
                following = targets(kind, name, computed)
                if not following:
                    return [f"{kind}.{name} 不是引用字段，不能再取 .{rest[position + 1]}"]
                kind = following[0]
        return found
    if isinstance(node, expr.Aggregate):
        if not known_kind(node.kind):
            return [f"未知的数据类别 {node.kind}"]
        inner = {**scope, node.alias: node.kind}
        for part in (node.where, node.value):
            if part is not None:
                found += problems(part, inner, variables, computed, self_kind)
        return found
    for child in expr.children(node):
        found += problems(child, scope, variables, computed, self_kind)
    return found
