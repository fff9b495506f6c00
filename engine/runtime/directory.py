"""The names and titles documents print: a small typed directory of the records a check's
documents may name (units, persons, institutions, tasks, inspections, misconduct, …) with the
fields they print, and which units are responsible.

A check's report carries the view it read; a recorded run's directory is read from the stored
rows as they were right after the run's load (`of_rows`): only the terms that say who is
responsible and which organ supervises a unit are evaluated, no rule is run. So a recorded
run's notices and appraisal print the names it had when it ran, however often they are made
again and whatever is renamed later, and making them does not check the whole city again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from luoshi.engine.plan.compile import Program
from luoshi.engine.runtime.results import Report
from luoshi.engine.runtime.view import FactView, ViewError, context_for
from luoshi.facts.factset import Rows

# The fields a document prints of a record (its words, its place, its home unit); the rest of
# a record is not kept. `organ`, a unit's supervising discipline organ, is a term.
PRINTED = ("name", "title", "kind", "parent", "post", "unit", "requirement", "ledger",
           "institution", "date", "problem", "deadline", "description", "summary")
Entry = Mapping[str, Any]


@dataclass(frozen=True)
class Directory:
    """Records by kind and id, each with its printed fields; the responsible units, as a check
    lists them; and what a finding's notice wording may read (`$year`, `$as_of`, parameters)."""

    records: Mapping[str, Mapping[str, Entry]] = field(default_factory=dict)
    responsible: tuple[str, ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)

    def row(self, kind: str, key: Any) -> Entry | None:
        return self.records.get(kind, {}).get(key) if key is not None else None

    def rows(self, kind: str) -> Iterable[Entry]:
        return self.records.get(kind, {}).values()

    def unit_names(self) -> dict[str, str]:
        return {key: row["name"] for key, row in self.records.get("units", {}).items()}


def of_view(view: FactView | None, responsible: Iterable[str] = ()) -> Directory:
    """The directory of the records a check read (its view): what documents of it print."""
    if view is None:
        return Directory()
    records: dict[str, dict[str, Entry]] = {}
    for kind, by_id in view.by_id.items():
        if not by_id or kind.startswith("triggers."):
            continue
        printed = [name for name in PRINTED if name in next(iter(by_id.values()))]
        records[kind] = {key: {"id": key, **{name: row[name] for name in printed}}
                         for key, row in by_id.items()}
    for key, row in view.by_id.get("units", {}).items():
        records["units"][key] = {**records["units"][key], "organ": _organ(view, row)}
    return Directory(records, tuple(responsible), dict(view.context))


def of_rows(rows: Rows, program: Program, year: int, as_of: dt.date,
            params: Mapping[str, Any]) -> Directory:
    """The directory of the stored `rows` as a check of `year` as of `as_of` with `params`
    (a recorded run's) reads them, without running a rule."""
    shared = {name: value for name, value in params.items() if "." not in name}
    view = FactView(rows, as_of, program.computed, context_for(year, as_of, shared))
    responsible = sorted(row["id"] for row in view.rows["units"]
                         if view.field(row, "responsible"))
    return of_view(view, responsible)


def _organ(view: FactView, row: dict[str, Any]) -> Any:
    try:
        return view.field(row, "organ")
    except ViewError:  # a deployment's terms without it: the documents go to the leading group
        return None


def names_of(report: Report) -> Directory:
    """The directory a report's documents print: the one it carries (a recorded run's, as of
    the run), else the one of the view its check read."""
    return report.names if report.names is not None else of_view(report.view, report.units)
