"""A check recorded in the store (`check --record`, the portal's 检查), and a recorded run read
back as a report, so that its documents and appraisal are the same however often they are made
again. One implementation for both faces, the command line and the portal."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Evidence, Finding, Report, Trigger
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


def as_recorded(report: Report, recorded: Any) -> Report:
    """`report` (a check of the current state, for names and titles) with the findings and
    triggers of the recorded run `recorded` (a row of `tables.RUNS`)."""
    findings = [Finding(**{**item, "evidence": [Evidence(**e) for e in item["evidence"]]})
                for item in recorded.findings]
    triggers = [Trigger(**{**item, "due": dt.date.fromisoformat(item["due"]) if item["due"]
                           else None}) for item in recorded.triggers]
    return dataclasses.replace(report, findings=findings, triggers=triggers)
