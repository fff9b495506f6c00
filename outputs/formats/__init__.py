"""Output formats of `check`, registered by name: json, table, junit, github, markdown."""

from __future__ import annotations

from collections.abc import Callable

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.formats import github, json_format, junit, markdown, table

Formatter = Callable[[Report, Catalog], str]

FORMATS: dict[str, Formatter] = {
    "table": table.render,
    "json": json_format.render,
    "junit": junit.render,
    "github": github.render,
    "markdown": markdown.render,
}
