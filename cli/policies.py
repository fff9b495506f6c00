"""What every command that evaluates policies shares: `--policies`, and building the program."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.engine.errors import CompileError
from luoshi.engine.language.policy import Catalog, PolicyError, load_catalog, rule_location
from luoshi.engine.plan.compile import Program, compile_catalog
from luoshi.engine.settings import Settings, load_settings, parse_assignments, resolve_params
from luoshi.facts.problems import Location, Problem

PoliciesOption = Annotated[
    list[str] | None,
    typer.Option("--policies", help="追加的策略文件夹（可多次给出）", show_default=False),
]


ConfigOption = Annotated[str | None, typer.Option(
    "--config", help="配置文件（默认读取当前文件夹的 luoshi.toml，若有）", show_default=False)]
NoConfigOption = Annotated[bool, typer.Option("--no-config", help="不读取任何配置文件")]
YearOption = Annotated[int, typer.Option("--year", help="检查年度（2000–2100）", min=2000, max=2100,
                                         show_default=False)]


def use_settings(config: str | None, no_config: bool) -> Settings:
    """The settings for this run; the file read, if any, is named on stderr."""
    settings = load_settings(config, use_file=not no_config)
    if settings.file:
        from .console import err

        err.print(f"配置文件：{settings.file}", markup=False)
    return settings


def load_program(policies: list[str] | None, params: list[str] | None,
                 settings: Settings) -> tuple[Catalog, Program]:
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
