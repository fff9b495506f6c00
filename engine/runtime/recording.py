"""A check recorded in the store (`check --record`, the portal's 检查), and a recorded run read
back as a report with the names it had (its directory as of its load), so that its documents
and appraisal are the same however often they are made again, without checking anything. One
implementation for both faces, the command line and the portal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from luoshi.engine.language.policy import Catalog
from luoshi.engine.plan.compile import Program
from luoshi.engine.runtime.directory import Directory, of_rows
from luoshi.engine.runtime.results import Evidence, Finding, Report, Trigger
from luoshi.facts.factset import Rows
from luoshi.outputs.formats import json_format


def record(db: str | None, report: Report, catalog: Catalog, waivers: list[Any],
           inputs_sha256: str, load_id: int | None,
           narrowing: dict[str, Any] | None = None) -> int:
    """Store `report` as a run: the findings and triggers as `check --format json` gives them,
    with the hashes of the facts, the policies' texts (for `rerun`), the waivers
    (`(Waiver, Location)` pairs) and how the findings were narrowed (`--select`, `--unit`, …)."""
    from luoshi.facts import history

    data = json_format.as_data(report)
    return history.record(db, year=report.year, as_of=report.as_of, inputs_sha256=inputs_sha256,
                          policies_sha256=catalog.sha256(), params=data["params"],
                          waivers=[w.model_dump(mode="json") for w, _ in waivers],
                          findings=data["findings"], triggers=data["triggers"], load_id=load_id,
                          policies=catalog.texts(), narrowing=narrowing)


def as_recorded(recorded: Any, names: Directory) -> Report:
    """The recorded run `recorded` (a row of `tables.RUNS`) as a report: its findings and
    triggers, with `names`, its directory as of the run (`directory.of_rows`)."""
    findings = [Finding(**{**item, "evidence": [Evidence(**e) for e in item["evidence"]]})
                for item in recorded.findings]
    triggers = [Trigger(**{**item, "due": dt.date.fromisoformat(item["due"]) if item["due"]
                           else None}) for item in recorded.triggers]
    return Report(recorded.year, recorded.as_of, findings, triggers, list(names.responsible),
                  dict(recorded.params), names.unit_names(), names=names)


def names_as_recorded(db: str | None, recorded: Any, program: Program,
                      rows: Rows | None = None) -> Directory:
    """The directory of the recorded run `recorded`: the stored rows right after its load
    (`rows`, if they are at hand), as it read them; a run of files (no load) the current
    state's."""
    from luoshi.facts.inputs import read_input

    if rows is None:
        rows = read_input(None, db, known_at=recorded.load_id or None)
    return of_rows(rows, program, recorded.year, recorded.as_of, recorded.params)
