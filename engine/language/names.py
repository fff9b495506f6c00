"""Static checks of the names policies use: kinds, fields (through references), parameters.

A typo in a policy (`m.knd`, `$mni`) is reported when the catalog is compiled, at the rule's
file and line, rather than when a check happens to evaluate it.
"""

from __future__ import annotations

import inspect
from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.expr.functions import REGISTRY
from luoshi.engine.language.triggers import DERIVED_PREFIX, FIELDS
from luoshi.facts.kinds import EVALUATED_KINDS as KINDS
from luoshi.facts.kinds import references, suggest_kind

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
        start = _start(node, scope, self_kind)
        if start is None:
            return [f"未绑定的别名 {node.parts[0]}"]
        kind, rest = start
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
        if _aggregate_depth(node) > MAX_AGGREGATE_DEPTH:
            return [f"聚合嵌套过深（最多 {MAX_AGGREGATE_DEPTH} 层）：每多一层，检查时间就乘以一类记录的数量"]
        inner = {**scope, node.alias: node.kind}
        for part in (node.where, node.value):
            if part is not None:
                found += problems(part, inner, variables, computed, self_kind)
        return found
    if isinstance(node, expr.Call):
        found += _arity(node) or _named_arguments(node, scope, computed, self_kind)
    if isinstance(node, expr.Binary) and node.op in expr.COMPARISONS:
        compared = [_value_type(side, scope, self_kind) for side in (node.left, node.right)]
        if None not in compared and compared[0] != compared[1]:
            # The engine compares what the policy language refuses to (a date with its text,
            # "100" with 100): such a comparison would hold in one and not the other.
            found.append(f"比较的两边类型不同（{_TYPE_NAMES[str(compared[0])]}与"
                         f"{_TYPE_NAMES[str(compared[1])]}），"
                         f"永远不成立：{expr.to_text(node)}")
    if isinstance(node, expr.Binary) and node.op in ("+", "-"):
        sides = {_value_type(side, scope, self_kind) for side in (node.left, node.right)}
        text = bool(sides & {"text", "bool"})
        if text and (node.op == "-" or "bool" in sides or sides & {"number", "date"}):
            found.append(f"不能这样加减（文本只能与文本相接）：{expr.to_text(node)}")
    for child in expr.children(node):
        found += problems(child, scope, variables, computed, self_kind)
    return found


MAX_AGGREGATE_DEPTH = 2


def _aggregate_depth(node: Any) -> int:
    """How many aggregates sit inside one another at most (0: none)."""
    parts = list(expr.children(node))
    if isinstance(node, expr.Aggregate):
        parts += [part for part in (node.where, node.value) if part is not None]
    own = 1 if isinstance(node, expr.Aggregate) else 0
    return own + max((_aggregate_depth(part) for part in parts), default=0)


def _arity(node: Any) -> list[str]:
    if node.name == "if":
        low, high = 3, 3
    else:
        parameters = list(inspect.signature(REGISTRY[node.name]).parameters.values())[1:]
        if any(p.kind is p.VAR_POSITIONAL for p in parameters):
            low, high = len([p for p in parameters if p.kind is not p.VAR_POSITIONAL]), None
        else:
            low = high = len(parameters)
    count = len(node.args)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if low == high else f"至少 {low}"
        return [f"函数 {node.name} 应有 {wanted} 个参数，实际为 {count} 个"]
    return []


_TYPE_NAMES = {"text": "文本", "bool": "是否", "number": "数值", "date": "日期"}


# Functions whose first argument names a kind, and (label) whose second names a field of it.
_NAMING = {"label": 2, "labels": 1, "titles": 1}


def _named_arguments(node: Any, scope: dict[str, str], computed: dict[str, dict[str, Any]],
                     self_kind: str | None) -> list[str]:
    """`label('misconduct', 'kind', m.kind)`, `empty_fields(t, 'unit')`: kinds and fields
    are names, written as text; one that names nothing would otherwise fail in the middle of
    a check."""
    if node.name == "empty_fields":
        record, *names = node.args
        start = _start(record, scope, self_kind) if isinstance(record, expr.Path) else None
        if start is None or start[1]:
            return ["函数 empty_fields 的第一个参数应为一条记录的别名（如 t）"]
        fields = fields_of(start[0], computed)
        wrong = [name for name in names
                 if not (isinstance(name, expr.Const) and name.value in fields)]
        if wrong:
            return [f"函数 empty_fields 的参数 {expr.to_text(wrong[0])} 不是 {start[0]} 的字段名"
                    "（加引号的文本）"]
        return []
    if node.name not in _NAMING:
        return []
    kind, *rest = node.args
    if not (isinstance(kind, expr.Const) and isinstance(kind.value, str)):
        return [f"函数 {node.name} 的第一个参数应为数据类别名（加引号的文本，如 'misconduct'）"]
    if kind.value not in KINDS:
        close = suggest_kind(kind.value)
        return [f"函数 {node.name} 的第一个参数 '{kind.value}' 不是数据类别" +
                (f"，是否应为 '{close}'？" if close else "，可用：" + "、".join(sorted(KINDS)))]
    if _NAMING[node.name] == 2:
        field, stored = rest[0], KINDS[kind.value].model_fields
        if not (isinstance(field, expr.Const) and isinstance(field.value, str)
                and field.value in stored):
            return [f"函数 {node.name} 的第二个参数应为 {kind.value} 的字段名（加引号的文本），可用："
                    + "、".join(stored)]
    return []


def _value_type(node: Any, scope: dict[str, str], self_kind: str | None) -> str | None:
    """What a constant or a stored field holds, where that is plain: text, bool, number, date."""
    if isinstance(node, expr.Const):
        value = node.value
        return "bool" if isinstance(value, bool) else "text" if isinstance(value, str) else \
            "number" if isinstance(value, (int, float)) else None
    if isinstance(node, expr.Duration):
        return "number"
    if not isinstance(node, expr.Path):
        return None
    start = _start(node, scope, self_kind)
    if start is None:
        return None
    kind, rest = start
    if len(rest) != 1 or kind not in KINDS or rest[0] not in KINDS[kind].model_fields:
        return None
    annotation = str(KINDS[kind].model_fields[rest[0]].annotation)
    for name, label in (("bool", "bool"), ("str", "text"), ("date", "date"), ("int", "number"),
                        ("float", "number")):
        if name in annotation and "list" not in annotation:
            return label
    return None


def _start(node: Any, scope: dict[str, str], self_kind: str | None
           ) -> tuple[str, tuple[str, ...]] | None:
    """A path's kind and the fields it reads from there: an alias's, else (in a computed
    field) the record's own; None for an unbound alias."""
    head, rest = node.parts[0], node.parts[1:]
    if head in scope:
        return scope[head], rest
    if self_kind is not None:
        return self_kind, node.parts
    return None
