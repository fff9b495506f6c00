"""Every rule's pass and fail cases: its documented examples, and the edge cases in
tests/rules/<ID>.yaml. One parametrised test, so `pytest -k F403` runs one rule."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from .checking import CASES_DIR, catalog, run_yaml, subjects


def _cases():
    for rule_id, rule in sorted(catalog().rules.items()):
        yield pytest.param(rule_id, rule.doc.fail.facts, rule.doc.fail.gives, 2013, None,
                           id=f"{rule_id}-doc-fail")
        yield pytest.param(rule_id, rule.doc.passes.facts, rule.doc.passes.gives, 2013, None,
                           id=f"{rule_id}-doc-pass")
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            as_of = case.get("as_of")
            yield pytest.param(path.stem, case["facts"], case.get("gives", []),
                               case.get("year", 2013),
                               dt.date.fromisoformat(str(as_of)) if as_of else None,
                               id=f"{path.stem}-{case['name']}")


@pytest.mark.parametrize(("rule_id", "facts", "gives", "year", "as_of"), list(_cases()))
def test_rule_case(rule_id, facts, gives, year, as_of):
    report = run_yaml(facts, year, as_of)
    assert subjects(report, rule_id) == sorted(gives)


def test_every_rule_has_a_failing_and_a_passing_example():
    for rule in catalog().rules.values():
        assert rule.doc.fail.gives, f"{rule.id}: the failing example must name what it gives"
        assert not rule.doc.passes.gives, f"{rule.id}: the passing example gives nothing"


def test_catalog_ids_are_unique_well_formed_and_match_their_file():
    prefixes = {"responsibility": "R1", "inspection": "I2", "accountability": "A3",
                "rectification": "F4", "leadership": "L5"}
    seen = []
    for stem, policy in catalog().mechanisms.items():
        for rule in policy.rules:
            assert rule.id.startswith(prefixes[stem]), (stem, rule.id)
            seen.append(rule.id)
    assert len(seen) == len(set(seen)) == 33
