"""The portal's calls into the pipeline: the same functions the command line uses (loading,
checking, recording, documents, the appraisal), each behind one function here so that the
handlers stay thin.

A unit's view is its re-check: `check(units=[U])` evaluates only what can be charged to it
(docs/scaling.md), and `run.narrow(units=[U])` keeps what is charged to it, nothing else."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from luoshi.engine.language.policy import Catalog
from luoshi.engine.plan.compile import Program
from luoshi.engine.program import load_program
from luoshi.engine.runtime import recording, run
from luoshi.engine.runtime.results import Report
from luoshi.engine.settings import Settings, load_settings
from luoshi.facts import history, store
from luoshi.facts.factset import Rows, facts_sha256
from luoshi.facts.inputs import read_input
from luoshi.facts.validate import read_uploads
from luoshi.outputs import appraisal, documents, notices, ranking
from luoshi.outputs.formats import json_format

from .sources import plain_report


@dataclass
class Pipeline:
    """The store and the compiled policies one server uses (compiled once, at start)."""

    db: str | None
    settings: Settings
    catalog: Catalog
    program: Program
    # (load id, the state right after it): what `rows` read last, for the next read
    _state: tuple[int, Rows] | None = field(default=None, repr=False)
    _state_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, db: str | None, config: str | None = None) -> Pipeline:
        settings, catalog, program = _compiled(config, os.getcwd())
        return cls(db, settings, catalog, program)

    # -- loading ------------------------------------------------------------------------

    def submit(self, files: list[tuple[str, bytes]], unit: str | None, replace: bool,
               by: str) -> store.LoadResult:
        """`load --unit U` (or `--replace`, or a merge) of uploaded files, validated against
        the stored state; raises `InputError` with every problem, storing nothing."""
        submission = store.Submission(scope="unit" if unit else "replace" if replace else "merge",
                                      unit=unit, by=by, note="门户报送")
        stored = None if replace else (lambda wanted: store.stored_ids(self.db, wanted, False))
        facts, inputs = read_uploads(files, stored=stored)
        return store.load(facts, inputs, self.db, submission=submission)

    def submissions(self, unit: str | None, load_id: int | None = None) -> list[sa.Row[Any]]:
        """Loads, newest first: a unit's own only (in the query), or one of them."""
        if not self.has_data():
            return []
        return store.submissions(self.db, unit, load_id)

    def has_data(self) -> bool:
        """Whether the store can be read; `StoreError` if it cannot: the portal's store was made
        at its start, so one that cannot be read is lost or unreachable, not empty (the pages
        said there was no data yet)."""
        return bool(store.reading(self.db, lambda connection: True))

    def rows(self) -> Rows:
        """The current state (for a unit too: its re-check picks what it needs)."""
        return self.state()[1]

    def state(self) -> tuple[int, Rows]:
        """The newest load and the state right after it, kept between requests: after a load,
        only the versions it brought or ended are read (`store.read_newer`), not the whole
        city. Rows are never changed by a check."""
        with self._state_lock:
            if self._state is None:
                seen: dict[str, int] = {}
                rows = read_input(None, self.db, seen=seen)
            else:
                seen = {}
                rows = store.read_newer(self.db, self._state[1], self._state[0], seen)
            self._state = (seen["load_id"], rows)
            return self._state

    # -- checking -----------------------------------------------------------------------

    def check(self, rows: Rows, year: int, as_of: dt.date, unit: str | None) -> Report:
        """The check of `rows`, narrowed to what is charged to `unit` if
        given; a unit's re-check evaluates only what can be charged to it (`check(units=…)`)."""
        if unit is None:
            return run.check(rows, self.program, year, as_of)
        return run.narrow(run.check(rows, self.program, year, as_of, units=[unit]), units=[unit])

    def findings(self, year: int, as_of: dt.date, unit: str | None) -> dict[str, Any]:
        """The JSON of `check --format json`."""
        return json_format.as_data(self.check(self.rows(), year, as_of, unit))

    def upcoming(self, rows: Rows, year: int, as_of: dt.date, days: int,
                 unit: str | None) -> dict[str, Any]:
        """The JSON of `luoshi upcoming`, narrowed to `unit` if given."""
        from luoshi.engine.runtime.upcoming import upcoming

        return upcoming(rows, self.program, year, as_of, days, units=[unit] if unit else None)

    def record(self, year: int, as_of: dt.date) -> int:
        """`check --record` of the current state: the run's id."""
        load_id, rows = self.state()
        report = run.check(rows, self.program, year, as_of)
        return recording.record(self.db, report, self.catalog, [], facts_sha256(rows), load_id)

    def runs(self) -> list[sa.Row[Any]]:
        return history.runs(self.db)

    def run(self, run_id: int) -> sa.Row[Any] | None:
        return next((found for found in self.runs() if found.id == run_id), None)

    def diff(self, older: sa.Row[Any], newer: sa.Row[Any]) -> dict[str, list[dict[str, Any]]]:
        return history.reasons(older, newer)

    # -- documents and the appraisal ------------------------------------------------------

    def _recorded(self, recorded: sa.Row[Any]) -> Report:
        """The recorded run as documents show it: its records' files by name (`sources`)."""
        report = run.check(self.rows(), self.program, recorded.year, recorded.as_of)
        return plain_report(recording.as_recorded(report, recorded))

    def notice(self, recorded: sa.Row[Any], unit: str) -> tuple[str, bytes] | None:
        """`unit`'s 整改通知书 of a recorded run as DOCX (file name, bytes), if it has one."""
        report = run.narrow(self._recorded(recorded), units=[unit])
        days = self.settings.notices.get("reply_days", notices.DEFAULT_REPLY_DAYS)
        built = notices.build(report, self.catalog, days, recorded.as_of, self.settings.notices)
        for document in built:
            if document.kind == "rectification_notice" and document.unit == unit:
                return f"{document.file_stem}.docx", documents.render(document, "docx")
        return None

    def notice_units(self, recorded: sa.Row[Any]) -> list[str]:
        """The units that have a 整改通知书 in a recorded run (as `notices.build` picks them)."""
        for_organ = {t["finding"] for t in recorded.triggers if t["type"] == "re_accountability"}
        return sorted({f["unit"] for f in recorded.findings if f["unit"] and f["id"] not in for_organ})

    def _scores(self, recorded: sa.Row[Any]) -> tuple[Report, list[Any], dict[str, float]]:
        report = self._recorded(recorded)
        weights = {**ranking.DEFAULT_WEIGHTS, **self.settings.weights}
        return report, ranking.rank(report, weights), weights

    def report_html(self, recorded: sa.Row[Any]) -> str:
        report, scores, weights = self._scores(recorded)
        return appraisal.html(report, scores, weights, self.catalog, self.settings.bands)

    def report_xlsx(self, recorded: sa.Row[Any]) -> bytes:
        report, scores, weights = self._scores(recorded)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "report.xlsx"
            appraisal.xlsx(path, report, scores, weights, self.catalog, self.settings.bands)
            return path.read_bytes()

    def template(self, unit: str | None) -> bytes:
        """The workbook to fill in: a unit's filled with the records it submits and its own
        codes (`rows_of_unit`); the office's with everything stored (empty before any load)."""
        from luoshi.facts.template import rows_of_unit, write_template

        rows = self.rows() if self.has_data() else None
        codes = rows
        if rows is not None and unit:
            rows, codes = rows_of_unit(rows, unit)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "template.xlsx"
            write_template(path, rows, codes)
            return path.read_bytes()


@cache
def _compiled(config: str | None, folder: str) -> tuple[Settings, Catalog, Program]:
    """Settings and the compiled program, once per process (`folder`: where luoshi.toml is
    looked for): compiling takes seconds, and a program is never changed by a check."""
    settings = load_settings(config, use_file=True)
    catalog, program = load_program(None, None, settings)
    return settings, catalog, program
