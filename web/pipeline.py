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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, get_origin

import sqlalchemy as sa

from luoshi.engine.language.policy import Catalog
from luoshi.engine.plan.compile import Program
from luoshi.engine.plan.locality import local_kinds
from luoshi.engine.program import load_program
from luoshi.engine.runtime import recording, run
from luoshi.engine.runtime.directory import Directory
from luoshi.engine.runtime.results import Report
from luoshi.engine.runtime.scope import RowIndex
from luoshi.engine.settings import Settings, load_settings
from luoshi.facts import history, store
from luoshi.facts.factset import Rows, facts_sha256
from luoshi.facts.inputs import read_input
from luoshi.facts.kinds import KINDS, references
from luoshi.facts.problems import DamagedRecord
from luoshi.facts.validate import read_uploads
from luoshi.outputs import appraisal, documents, notices, ranking
from luoshi.outputs.formats import json_format

from .kept import Changes, Kept, lean, updated_report, updated_upcoming
from .sources import plain_report

T = TypeVar("T")
# The whole city's results are brought up to date unit by unit while at most 1/8 of the units
# changed since they were kept; past that, one whole check is cheaper.
REBUILD_SHARE = 8


@dataclass(frozen=True)
class State:
    """The state after load `load_id`, and which loads last changed what checks read."""

    load_id: int
    rows: Rows
    changes: Changes


@dataclass
class Pipeline:
    """The store and the compiled policies one server uses (compiled once, at start)."""

    db: str | None
    settings: Settings
    catalog: Catalog
    program: Program
    # what `state` read last, for the next read
    _state: State | None = field(default=None, repr=False)
    _state_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _kept: Kept = field(default_factory=Kept, repr=False)  # check results (web/kept.py)
    # The stored rows by field value, for units' re-checks (`scope`): a kind's index stays
    # valid while loads leave its rows alone.
    _index: RowIndex = field(default_factory=RowIndex, repr=False)
    # The names of recorded runs, by run id (`_recorded`): a few, the runs being downloaded.
    _names: Kept = field(default_factory=lambda: Kept(size=8), repr=False)

    @classmethod
    def start(cls, db: str | None, config: str | None = None) -> Pipeline:
        settings, catalog, program = _compiled(config, os.getcwd())
        return cls(db, settings, catalog, program)

    # -- loading ------------------------------------------------------------------------

    def submit(self, files: list[tuple[str, bytes]], unit: str | None, replace: bool,
               by: str, private: bool = False, max_records: int | None = None,
               ) -> store.LoadResult:
        """`load --unit U` (or `--replace`, or a merge) of uploaded files, validated against
        the stored state; raises `InputError` with every problem, storing nothing. `private`:
        sent by unit U's own account, which may cite only what it may see (`_citable`);
        `max_records`: reading stops past that many (E107)."""
        submission = store.Submission(scope="unit" if unit else "replace" if replace else "merge",
                                      unit=unit, by=by, note="门户报送", private=private)

        def stored(wanted: dict[str, set[str]]) -> dict[str, set[str]]:
            found = store.stored_ids(self.db, wanted, False)
            return self._citable(found, unit) if private and unit else found

        facts, inputs = read_uploads(files, stored=None if replace else stored,
                                     max_records=max_records)
        return store.load(facts, inputs, self.db, submission=submission)

    def _citable(self, found: dict[str, set[str]], unit: str) -> dict[str, set[str]]:
        """Of the stored ids `found`, those unit `unit` may cite: the office's reference records
        (units, persons, institutions) and the records that name the unit (its own, an
        inspection of it). Any other is answered as missing, so that a unit cannot tell another
        unit's records from ids that exist nowhere."""
        rows = self.rows()
        citable = {}
        for kind, ids in found.items():
            naming = _unit_fields(kind)
            citable[kind] = ids if naming is None else {
                row["id"] for row in rows.get(kind, ()) if row["id"] in ids
                and any(row[name] == unit for name in naming)}
        return citable

    def submissions(self, unit: str | None, load_id: int | None = None) -> list[sa.Row[Any]]:
        """Loads, newest first: a unit's own only (in the query), or one of them."""
        return store.submissions(self.db, unit, load_id)

    def submitted_files(self, load_id: int) -> list[store.KeptFile]:
        """The files load `load_id` read, byte for byte as they were sent."""
        return store.submission_files(self.db, load_id)

    def rows(self) -> Rows:
        """The current state (for a unit too: its re-check picks what it needs)."""
        return self.state().rows

    def state(self) -> State:
        """The newest load and the state right after it, kept between requests: after a load,
        only the versions it brought or ended are read (`store.read_newer`), not the whole
        city. Rows are never changed by a check."""
        with self._state_lock:
            seen: dict[str, int] = {}
            if self._state is None:
                rows = read_input(None, self.db, seen=seen)
                self._state = State(seen["load_id"], rows, Changes.first(seen["load_id"]))
            else:
                old = self._state
                rows = store.read_newer(self.db, old.rows, old.load_id, seen)
                if seen["load_id"] != old.load_id:
                    changes = old.changes.after(seen["load_id"], old.rows, rows,
                                                local_kinds(self.program))
                    self._state = State(seen["load_id"], rows, changes)
            return self._state

    # -- checking -----------------------------------------------------------------------

    def check(self, rows: Rows, year: int, as_of: dt.date, unit: str | None) -> Report:
        """The check of `rows`, narrowed to what is charged to `unit` if
        given; a unit's re-check evaluates only what can be charged to it (`check(units=…)`)."""
        if unit is None:
            return run.check(rows, self.program, year, as_of)
        return run.narrow(run.check(rows, self.program, year, as_of, units=[unit],
                                    index=self._index), units=[unit])

    def report(self, year: int, as_of: dt.date, unit: str | None) -> Report:
        """The current state's check (a unit's narrowed to it), kept until what it read changes
        (`web/kept.py`); without the view it read."""
        return self._report(self.state(), year, as_of, unit)

    def _report(self, state: State, year: int, as_of: dt.date, unit: str | None) -> Report:
        def compute(rows: Rows, units: set[str] | None) -> Report:
            if units is None:
                return lean(run.check(rows, self.program, year, as_of), None)
            return lean(run.narrow(run.check(rows, self.program, year, as_of, units=units,
                                             index=self._index), units=sorted(units)), unit)

        key = ("check", year, as_of, unit)
        if unit is not None:
            return self._kept.fetch(key, state.changes.of(unit),
                                    lambda: compute(state.rows, {unit}))
        return self._whole(key, state, compute, updated_report)

    def findings(self, year: int, as_of: dt.date, unit: str | None) -> dict[str, Any]:
        """The JSON of `check --format json`."""
        return json_format.as_data(self.report(year, as_of, unit))

    def upcoming(self, year: int, as_of: dt.date, days: int, unit: str | None) -> dict[str, Any]:
        """The JSON of `luoshi upcoming`, narrowed to `unit` if given; kept as `report` is."""
        from luoshi.engine.runtime.upcoming import upcoming

        state = self.state()

        def compute(rows: Rows, units: set[str] | None) -> dict[str, Any]:
            # The check as of the day is kept already when it has the same scope.
            now = self._report(state, year, as_of, unit) if units in (None, {unit}) else None
            return upcoming(rows, self.program, year, as_of, days,
                            units=sorted(units) if units is not None else None, now=now,
                            index=self._index)

        key = ("upcoming", year, as_of, days, unit)
        if unit is not None:
            return self._kept.fetch(key, state.changes.of(unit),
                                    lambda: compute(state.rows, {unit}))
        return self._whole(key, state, compute, updated_upcoming)

    def _whole(self, key: tuple[Any, ...], state: State, compute: Callable[[Rows, set[str] | None], T],
               update: Callable[[T, T, set[str]], T]) -> T:
        """The whole city's result: kept for the newest load; after loads that changed only a
        few units' local records, the kept one with theirs re-checked (`compute(rows, units)`:
        narrowed to those units; `compute(rows, None)`: the whole city)."""
        found = self._kept.latest(key)
        if found is not None and found[0].newest == state.load_id:
            return found[1]
        changed = state.changes.units_since(found[0]) if found is not None else None
        if found is not None and changed is not None and \
                len(changed) <= max(1, len(state.rows["units"]) // REBUILD_SHARE):
            value = update(found[1], compute(state.rows, changed), changed) if changed \
                else found[1]
        else:
            value = compute(state.rows, None)
        return self._kept.put(key, state.changes, value)

    def record(self, year: int, as_of: dt.date) -> int:
        """`check --record` of the current state: the run's id."""
        state = self.state()
        report = run.check(state.rows, self.program, year, as_of)
        return recording.record(self.db, report, self.catalog, [], facts_sha256(state.rows),
                                state.load_id)

    def runs(self, newest: int = 50) -> list[sa.Row[Any]]:
        """The newest recorded runs, the pages' lists; a damaged one is named (`DamagedRecord`)."""
        found = history.runs(self.db)[:newest]
        history.checked(*found)
        return found

    def newest_year(self) -> int | None:
        """The year of the newest sound recorded run (the pages' default year): a damaged run
        is named where runs are listed, and does not stop the pages that only need a year."""
        for found in history.runs(self.db):
            try:
                history.checked(found)
            except DamagedRecord:
                continue
            return int(found.year)
        return None

    def run(self, run_id: int) -> sa.Row[Any] | None:
        found = next((found for found in history.runs(self.db) if found.id == run_id), None)
        if found is not None:
            history.checked(found)
        return found

    def diff(self, older: sa.Row[Any], newer: sa.Row[Any]) -> dict[str, list[dict[str, Any]]]:
        return history.reasons(older, newer)

    # -- documents and the appraisal ------------------------------------------------------

    def _recorded(self, recorded: sa.Row[Any]) -> Report:
        """The recorded run as documents show it: its findings and triggers with the names it
        had (its directory as of its load, kept: a run never changes), its records' files by
        name (`sources`). Nothing is checked."""
        names = self._names.fetch(recorded.id, None, lambda: self._names_of(recorded))
        return plain_report(recording.as_recorded(recorded, names))

    def _names_of(self, recorded: sa.Row[Any]) -> Directory:
        state = self.state()  # a run of the newest state reads no more than that
        rows = state.rows if recorded.load_id == state.load_id else None
        return recording.names_as_recorded(self.db, recorded, self.program, rows)

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

        rows: Rows | None = self.rows()
        codes = rows
        if rows is not None and unit:
            rows, codes = rows_of_unit(rows, unit)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "template.xlsx"
            write_template(path, rows, codes)
            return path.read_bytes()


@cache
def _unit_fields(kind: str) -> tuple[str, ...] | None:
    """The fields by which a record of `kind` names a unit (an inspection: its organizer and
    the unit inspected); None for the office's reference kinds, which every unit may cite."""
    if KINDS[kind].OWNER is None:
        return None
    return tuple(name for name, targets in references(kind).items() if targets == ["units"]
                 and get_origin(KINDS[kind].model_fields[name].annotation) is not list)


@cache
def _compiled(config: str | None, folder: str) -> tuple[Settings, Catalog, Program]:
    """Settings and the compiled program, once per process (`folder`: where luoshi.toml is
    looked for): compiling takes seconds, and a program is never changed by a check."""
    settings = load_settings(config, use_file=True)
    catalog, program = load_program(None, None, settings)
    return settings, catalog, program
