"""A unit's re-check looks its records up instead of walking the city (engine/runtime/scope.py):
the facts it places must be exactly those walking places, and the index it keeps between
checks must always describe the rows it is asked about."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from luoshi.engine.runtime import enrich, run
from luoshi.engine.runtime.scope import RowIndex
from luoshi.engine.runtime.view import FactView
from luoshi.facts.inputs import read_input

from .checking import program
from .test_shards import generated_city


def placed(plan: enrich.Plan) -> dict[str, list[str]]:
    """Each session's facts, by content and the record they stand for."""
    return {session: sorted(json.dumps({**{k: v for k, v in fact.items() if k != "ref"},
                                        "record": plan.rows[fact["ref"]]["__key__"]},
                                       sort_keys=True, default=str) for fact in facts)
            for session, facts in plan.sessions.items()}


@pytest.mark.parametrize("seed", [4, 11])
def test_looking_up_a_units_records_places_exactly_what_walking_places(tmp_path, seed,
                                                                         monkeypatch):
    db = generated_city(tmp_path, seed)
    rows = read_input(None, db)
    queries = [query for query in program().queries if query.stratum == 1]
    walked_rows = [0]
    each = enrich._Facts.each

    def counted(self, token):  # noqa: ANN001
        found = each(self, token)
        walked_rows[0] += len(found)
        return found

    monkeypatch.setattr(enrich._Facts, "each", counted)
    units = sorted(row["id"] for row in rows["units"])
    index = RowIndex()  # one for every check, as the portal keeps it
    # The year's end, and a day on which later records do not exist yet and later events have
    # not happened (the view differs from the stored rows).
    for day in (dt.date(2013, 12, 31), dt.date(2013, 6, 30)):
        context = run.check_context(program(), 2013, day)
        for scope in [[unit] for unit in units] + [units[:3], ["no-such-unit"]]:
            wanted = frozenset(scope)
            view = FactView(rows, day, program().computed, context, index)
            walked_rows[0] = 0
            walked = enrich.build(view, program(), queries, wanted.__contains__)
            walking = walked_rows[0]
            walked_rows[0] = 0
            looked_up = enrich.build(view, program(), queries, wanted.__contains__, wanted)
            assert placed(looked_up) == placed(walked), (day, scope)
            assert walked_rows[0] < walking / 5, (day, scope)  # the unit's records, not the city's


def test_the_index_describes_the_rows_it_is_asked_about():
    index = RowIndex()
    before = [{"unit": "a", "tags": ["x", "y"]}, {"unit": "b", "tags": []}]
    found = index.positions("checks", before, "unit")
    assert found == {"a": [0], "b": [1]}
    assert index.positions("checks", before, "unit") is found  # kept, not built again
    assert index.positions("checks", before, "tags") == {"x": [0], "y": [0]}  # by element
    # A load replaced the kind's rows: another list, indexed anew (never the old positions).
    after = [before[1], {"unit": "a", "tags": ["z"]}, before[0]]
    assert index.positions("checks", after, "unit") == {"b": [0], "a": [1, 2]}
    assert index.positions("checks", after, "tags") == {"z": [1], "x": [2], "y": [2]}
    assert index.positions("checks", [{"unit": {"not": "hashable"}}], "unit") is None
