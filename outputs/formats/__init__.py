"""Output formats of `check`, registered by name: json, table, junit, github, markdown.

Each format's module is imported when it is used: a check that prints JSON (a unit's CI job)
need not import Rich's tables or the XML writer."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from luoshi.engine.language.policy import Catalog
    from luoshi.engine.runtime.results import Report

# name -> module of luoshi.outputs.formats whose `render(report, catalog) -> str` writes it
FORMATS: dict[str, str] = {
    "table": "table",
    "json": "json_format",
    "junit": "junit",
    "github": "github",
    "markdown": "markdown",
}


def render(name: str, report: Report, catalog: Catalog) -> str:
    """`report` in format `name` (one of FORMATS)."""
    module = importlib.import_module(f"luoshi.outputs.formats.{FORMATS[name]}")
    text: str = module.render(report, catalog)
    return text
