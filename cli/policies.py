"""What every command that evaluates policies shares: `--policies`, and building the program."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.engine.errors import CompileError
from luoshi.engine.plan.compile import Program, compile_catalog
from luoshi.engine.language.policy import Catalog, PolicyError, load_catalog, rule_location
from luoshi.engine.settings import load_settings, parse_assignments, resolve_params
from luoshi.facts.problems import Location, Problem

PoliciesOption = Annotated[
    list[str] | None,
    typer.Option("--policies", help="追加的策略文件夹（可多次给出）", show_default=False),
]


def load_program(policies: list[str] | None, params: list[str] | None,
                 config: str | None) -> tuple[Catalog, Program]:
    settings = load_settings(config)
    catalog = load_catalog([*settings.policies, *(policies or [])])
    values = resolve_params(catalog.params(), settings.params, parse_assignments(params or []))
    try:
        return catalog, compile_catalog(catalog, values)
    except CompileError as error:
        if error.rule in catalog.rules:
            where = rule_location(catalog, error.rule, *error.loc)
        else:  # a computed field of terms.yaml, at the file that defines it
            where = catalog.terms_where.get(".".join(map(str, error.loc))) or next(
                iter(catalog.terms_where.values()), Location("policies"))
        raise PolicyError([Problem(where, error.code, f"{error.rule}：{error.message}")]) from None
