"""The compiled program a check runs: the catalog read from the policy folders, with the
parameters of the settings and of the command, compiled for the engine. Shared by every command
that evaluates policies and by the portal."""

from __future__ import annotations

from luoshi.engine.errors import CompileError
from luoshi.engine.language.params import value_problems
from luoshi.engine.language.policy import Catalog, PolicyError, load_catalog, rule_location
from luoshi.engine.plan.compile import Program, compile_catalog
from luoshi.engine.settings import Settings, parse_assignments, resolve_params
from luoshi.facts.problems import InputError, Location, Problem


def load_program(policies: list[str] | None, params: list[str] | None,
                 settings: Settings) -> tuple[Catalog, Program]:
    catalog = load_catalog([*settings.policies, *(policies or [])])
    values = resolve_params(catalog.params(), settings.params, parse_assignments(params or []))
    contradictions = value_problems(catalog, values)
    if contradictions:
        raise InputError(contradictions)
    try:
        return catalog, compile_catalog(catalog, values)
    except CompileError as error:
        if error.rule in catalog.rules:
            where = rule_location(catalog, error.rule, *error.loc)
        else:  # a computed field of terms.yaml, at the file that defines it
            where = catalog.terms_where.get(".".join(map(str, error.loc))) or next(
                iter(catalog.terms_where.values()), Location("policies"))
        raise PolicyError([Problem(where, error.code, f"{error.rule}：{error.message}")]) from None
