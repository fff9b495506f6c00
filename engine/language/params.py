"""What a catalog's parameters may be, checked before any record is read.

- A rule's `param_checks` are conditions over its parameters (`$min <= $max`): a policy says
  how its parameters relate, without Python. A value given by `--param` or `luoshi.toml` that
  breaks one is refused (C001); a default that breaks one is a mistake in the policy (P201).
- A date moved by a parameter or a constant (`$as_of - $years years`) moves by at most
  `MAX_SHIFT`: further, it would leave the calendar, and the arithmetic would give no date at
  all — a finding that silently never fires. A value that moves it further is refused, naming
  the parameter (C001); a constant or a default that does is a mistake in the policy (P301).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.policy import (
    Catalog,
    Rule,
    parse_pattern,
    rule_expressions,
    rule_location,
    template_parts,
)
from luoshi.facts.problems import Location, Problem

# As far as a date may move: 100 years, as in days (settings.PARAM_LIMIT).
MAX_SHIFT = {"days": 36_500, "years": 100}
_UNIT = {"days": "天", "years": "年"}


def scoped(values: dict[str, Any], rule_id: str) -> dict[str, Any]:
    """A rule's `$name` values: the shared parameters, then its own (`ID.name`) as `name`."""
    own = {name.split(".", 1)[1]: value for name, value in values.items()
           if name.startswith(rule_id + ".")}
    shared = {name: value for name, value in values.items() if "." not in name}
    return {**shared, **own}


def policy_problems(catalog: Catalog) -> list[Problem]:
    """Mistakes of the policies themselves: a `param_checks` condition that is not one over
    the rule's parameters, or that its defaults break; a date moved beyond `MAX_SHIFT` by a
    constant or by a default."""
    problems: list[Problem] = []
    defaults = catalog.params()
    for rule in catalog.rules.values():
        values = scoped(defaults, rule.id)
        for index, text in enumerate(rule.param_checks):
            where = rule_location(catalog, rule.id, "param_checks", index)
            try:
                node = expr.parse(text)
            except expr.ExprError as error:
                problems.append(Problem(where, "P301", f"{rule.id} param_checks：{error}"
                                                       f"（第 {error.column} 个字符）"))
                continue
            unknown = _not_parameters(node, values)
            if unknown:
                problems.append(Problem(where, "P302", f"{rule.id} param_checks 只能用本规则的参数与"
                                                       f"共用参数（{_listed(values)}）、常数、比较、加减与 "
                                                       f"and/or/not，不能用：{unknown}"))
            elif not _holds(node, values):
                problems.append(Problem(where, "P201", f"{rule.id} 参数的默认值不满足 param_checks 的条件 "
                                                       f"{text}（{_shown(node, values, rule)}）"))
        for loc, duration in _shifts(rule, values):
            problems.append(Problem(rule_location(catalog, rule.id, *loc), "P301",
                                    f"{rule.id} {_moved(duration, values, rule)}"))
    for key, duration in _computed_shifts(catalog, scoped(defaults, "")).items():
        problems.append(Problem(catalog.terms_where[key], "P301",
                                f"{key}：{_moved(duration, scoped(defaults, ''), None)}"))
    return problems


def value_problems(catalog: Catalog, values: dict[str, Any]) -> list[Problem]:
    """Parameter values (the defaults with `--param` and `luoshi.toml` over them) that break a
    rule's `param_checks` or move a date too far: C001, naming the parameters."""
    problems: list[Problem] = []
    where = Location("--param")
    for rule in catalog.rules.values():
        scope = scoped(values, rule.id)
        for text in rule.param_checks:
            node = expr.parse(text)
            if not _holds(node, scope):
                problems.append(Problem(where, "C001", f"参数 {_shown(node, scope, rule)} 互相矛盾："
                                                       f"规则 {rule.id} 要求 {text}"))
        for _, duration in _shifts(rule, scope):
            problems.append(Problem(where, "C001", f"参数 {_shown(duration.amount, scope, rule)} "
                                                   f"使规则 {rule.id} 的{_moved(duration, {}, None)}"))
    for key, duration in _computed_shifts(catalog, scoped(values, "")).items():
        problems.append(Problem(where, "C001", f"参数 {_shown(duration.amount, values, None)} "
                                               f"使计算字段 {key} 的{_moved(duration, {}, None)}"))
    return list(dict.fromkeys(problems))


def _moved(duration: expr.Duration, values: dict[str, Any], rule: Rule | None) -> str:
    """`日期加减“$years years”（F401.years=5000）超过 100 年的上限…`; the values named if given."""
    used = _shown(duration.amount, values, rule)
    limit = f"{MAX_SHIFT[duration.unit]} {_UNIT[duration.unit]}"
    return (f"日期加减“{expr.to_text(duration)}”{f'（{used}）' if used else ''}超过 {limit}的上限，"
            "日期会超出日历")


def _shifts(rule: Rule, values: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], expr.Duration]]:
    """Each duration of the rule that moves a date too far, with where it is written."""
    for loc, text, kind in rule_expressions(rule):
        for node in _nodes(text, kind):
            for duration in _durations(node):
                if _too_far(duration, values):
                    yield loc, duration


def _computed_shifts(catalog: Catalog, values: dict[str, Any]) -> dict[str, expr.Duration]:
    """The same for the computed fields, by `kind.field`."""
    found = {}
    for kind, fields in catalog.terms.computed.items():
        for name, text in fields.items():
            for duration in _durations(expr.parse(text)):
                if _too_far(duration, values):
                    found[f"{kind}.{name}"] = duration
    return found


def _nodes(text: str, kind: str) -> list[Any]:
    """The parsed expressions of one entry of `rule_expressions`."""
    if kind == "message":
        return [part for part in template_parts(text) if not isinstance(part, str)]
    if kind in ("match", "unless"):
        pattern = parse_pattern(text, alias="x" if kind == "match" else None)
        return [pattern.where] if pattern.where is not None else []
    return [expr.parse(text)]


def _durations(node: Any) -> Iterator[expr.Duration]:
    if isinstance(node, expr.Duration):
        yield node
    parts = list(expr.children(node))
    if isinstance(node, expr.Aggregate):
        parts += [part for part in (node.where, node.value) if part is not None]
    for part in parts:
        yield from _durations(part)


def _too_far(duration: expr.Duration, values: dict[str, Any]) -> bool:
    """Whether the duration moves a date beyond `MAX_SHIFT`, where only parameters and
    constants decide how far (what records decide is known only in a check)."""
    if _not_parameters(duration.amount, values):
        return False
    amount = _value(duration.amount, values)
    return not isinstance(amount, bool) and isinstance(amount, (int, float)) \
        and abs(amount) > MAX_SHIFT[duration.unit]


def _arithmetic(node: Any) -> bool:
    """Whether an expression is only constants, `$` names, comparisons, `+ -`, `and or not`:
    what can be evaluated before a check, on parameters alone, and before the compiler has
    checked any function's arguments."""
    return isinstance(node, (expr.Const, expr.Var, expr.Unary, expr.Binary, expr.IsNull)) \
        and all(_arithmetic(child) for child in expr.children(node))


def _variables(node: Any) -> list[str]:
    """The `$` names an expression reads, in the order written."""
    found = [node.name] if isinstance(node, expr.Var) else []
    parts = list(expr.children(node))
    if isinstance(node, expr.Aggregate):
        parts += [part for part in (node.where, node.value) if part is not None]
    for part in parts:
        found += _variables(part)
    return list(dict.fromkeys(found))


def _not_parameters(node: Any, values: dict[str, Any]) -> str:
    """What in a condition over parameters is not a parameter (a field, a `$year`), or ''."""
    if not _arithmetic(node):
        return "记录的字段、聚合或函数"
    unknown = [name for name in _variables(node) if name not in values]
    return "、".join(f"${name}" for name in unknown)


def _value(node: Any, values: dict[str, Any]) -> Any:
    return expr.evaluate(node, expr.Env({}, values, None))  # type: ignore[arg-type]


def _holds(node: Any, values: dict[str, Any]) -> bool:
    return _value(node, values) is True


def _shown(node: Any, values: dict[str, Any], rule: Rule | None) -> str:
    """The parameters an expression reads, by the names `--param` takes, with their values:
    `I201.min=3、I201.max=1`."""
    own = rule.params if rule else {}
    return "、".join(f"{rule.id}.{name}={values[name]}" if rule and name in own
                    else f"{name}={values[name]}"
                    for name in _variables(node) if name in values)


def _listed(values: dict[str, Any]) -> str:
    return "、".join(f"${name}" for name in sorted(values)) or "无"
