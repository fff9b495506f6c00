"""The portal keeps check results between requests (web/kept.py): a kept page must change as
soon as a submission changes what it shows, and must always equal a fresh check."""

from __future__ import annotations

import datetime as dt

from luoshi.engine.runtime import run
from luoshi.engine.runtime.upcoming import upcoming
from luoshi.facts.inputs import read_input
from luoshi.outputs.formats.json_format import as_data
from luoshi.web.kept import Changes
from luoshi.web.sources import plain_data

from .conftest import EXAMPLE
from .portal import UNITS, app_for, login, make_store
from .test_versions import submission_of

OWN, OTHER = "caizheng", "gonghui"
YEAR, DAY = 2013, dt.date(2013, 12, 31)


def fresh_findings(db: str, pipeline, unit: str | None) -> dict:  # noqa: ANN001
    report = run.check(read_input(None, db), pipeline.program, YEAR, DAY)
    return plain_data(as_data(run.narrow(report, units=[unit]) if unit else report))  # as the API


def test_a_kept_page_changes_after_a_submission_and_equals_a_fresh_check(tmp_path):
    db = make_store(tmp_path)
    app = app_for(db)
    own, other, office = login(app, OWN), login(app, OTHER), login(app, "office1")
    pipeline = app.state.portal.pipeline
    url = f"/api/findings?year={YEAR}&as_of={DAY.isoformat()}"
    before = own.get(url).json()
    others_before = other.get(url).json()
    office.get(url)
    assert office.get(f"/?year={YEAR}&as_of={DAY.isoformat()}").status_code == 200
    # The unit's re-checks look its records up in an index the pipeline keeps (scope.RowIndex).
    units_indexed = pipeline._index.positions("units", pipeline.rows()["units"], "id")
    # The unit withdraws a record one of its findings rests on (and what names it).
    finding = next(f for f in before["findings"] if f["evidence"])
    withdrawn = finding["evidence"][0]["id"]
    sent = submission_of(UNITS[OWN], EXAMPLE, tmp_path / "own.yaml", leave_out={withdrawn},
                         cascade=True)
    answer = own.post("/api/submissions", headers={"x-csrf-token": own.csrf},
                      files=[("files", ("own.yaml", sent.read_bytes()))])
    assert answer.status_code == 201, answer.text
    after = own.get(url).json()
    assert after != before and finding["id"] not in {f["id"] for f in after["findings"]}
    assert after == fresh_findings(db, pipeline, UNITS[OWN])  # not from a stale index either
    # The load left the units alone: their index is the one kept, not built again.
    assert pipeline._index.positions("units", pipeline.rows()["units"], "id") is units_indexed
    assert other.get(url).json() == fresh_findings(db, pipeline, UNITS[OTHER]) == others_before
    assert office.get(url).json() == fresh_findings(db, pipeline, None)
    coming = pipeline.upcoming(YEAR, dt.date(2013, 9, 25), 10, None)
    assert coming == upcoming(read_input(None, db), pipeline.program, YEAR,
                              dt.date(2013, 9, 25), 10)
    page = own.get(f"/?year={YEAR}&as_of={DAY.isoformat()}").text
    assert f"本单位的问题与提醒（{len(after['findings'])}）" in page


def test_changes_name_the_units_a_load_can_have_changed():
    local = {"education": "unit"}
    old = {"education": [{"__key__": "e1", "unit": "a"}, {"__key__": "e2", "unit": "b"}],
           "persons": [{"__key__": "p1", "unit": "a"}]}
    first = Changes.first(1)
    # Unit b's education record changed: a's results stand, b's and the city's may not.
    new = {**old, "education": [old["education"][0], {"__key__": "e2", "unit": "b", "x": 1}]}
    second = first.after(2, old, new, local)
    assert second.of("a") == first.of("a") and second.of("b") != first.of("b")
    assert second.units_since(first) == {"b"}
    # A record of a kind read city-wide: every result may have changed.
    third = second.after(3, new, {**new, "persons": [{"__key__": "p1", "unit": "c"}]}, local)
    assert third.of("a") != second.of("a") and third.units_since(second) is None
    # A load that changed nothing a check reads (the same row objects) changes nothing.
    assert third.after(4, new, dict(new), local).of("a") == (third.shared, 0)
