"""The functions policy expressions may call, by name: one registry, which the parser and the
evaluator both read (an unknown name is an error listing these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _missing(env: Any, required: list[Any], present: Any) -> list[Any]:
    present = set(present or ())
    return [item for item in required if item not in present]


def _concat(env: Any, *args: Any) -> list[Any]:
    result: list[Any] = []
    for arg in args:
        if isinstance(arg, list):
            result.extend(arg)
        elif arg is not None:
            result.append(arg)
    return result


def _in_year(env: Any, value: Any) -> bool:
    """Dated from 1 January of the year up to the as-of date (and not after 31 December)."""
    last = min(env.context["as_of"], env.context["year_end"])
    return value is not None and env.context["year_start"] <= value <= last


def _label(env: Any, kind: str, name: str, code: Any) -> Any:
    from luoshi.facts.kinds import choice_of

    choice = choice_of(kind, name)
    return choice.labels.get(code, code) if choice and code is not None else code


def _labels(env: Any, kind: str, codes: list[Any]) -> list[Any]:
    """Chinese labels of enum codes of any field of `kind`."""
    from luoshi.facts.kinds import EVALUATED_KINDS as KINDS
    from luoshi.facts.kinds import choice_of

    table: dict[str, str] = {}
    for name in KINDS[kind].model_fields:
        choice = choice_of(kind, name)
        if choice:
            table.update(choice.labels)
    return [table.get(code, code) for code in codes or []]


def _titles(env: Any, kind: str, names: list[str]) -> list[str]:
    from luoshi.facts.kinds import EVALUATED_KINDS as KINDS

    fields = KINDS[kind].model_fields
    return [fields[name].title or name if name in fields else name for name in names or []]


REGISTRY: dict[str, Callable[..., Any]] = {
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
