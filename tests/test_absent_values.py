"""A missing value makes every test false, in durable_rules as in the policy language.

durable_rules 2.0.28 does not agree by itself: the first tests show, on the C core directly,
the two behaviours the backend guards against (engine/runtime/durable.py, `_absent_cases`),
and that the guards it emits avoid them. The last tests run a user policy with every form of
test the compiler emits, over records with every field present or missing, through the real
backend and through the pure-Python evaluator (tests/oracle.py), which must agree.
"""

from __future__ import annotations

import itertools
import json
import textwrap

import pytest

from luoshi.engine.language.policy import load_catalog
from luoshi.engine.plan.compile import compile_catalog
from luoshi.engine.runtime.run import check

from . import oracle
from .checking import comparable, rows_from_yaml

OPS = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
FIRST, GATE, SECOND = "p27", "p4", "p9"  # aliases in durable's frame slots 0, 1, 2


def _matches(rule: list, facts: list[dict]) -> int | str:
    """How many matches durable_rules gives for one rule over facts (gated, drained), or the
    error it raises."""
    import durable_rules_engine as dre

    definition = {"r": {"all": [rule[0], {GATE: {"type": "gate"}}, *rule[1:]], "cap": 100}}
    handle = dre.create_ruleset(f"absent_{id(rule)}_{len(facts)}", json.dumps(definition))
    try:
        for number, fact in enumerate([*facts, {"type": "gate"}]):
            dre.assert_facts(handle, json.dumps([{**fact, "sid": "s", "id": f"f{number}"}]))
    except dre.error as error:
        return str(error)
    found = 0
    pending = dre.start_action(handle)
    while pending:
        following = pending[1]
        while following:
            ((_, frames),) = json.loads(following).items()
            found += len(frames)
            following = dre.complete_and_start_action(handle, pending[2])
        pending = dre.start_action(handle)
    return found


def _compare(op: str, field: str, right: object) -> dict:
    return {field: right} if OPS[op] is None else {OPS[op]: {field: right}}


@pytest.mark.parametrize("op", [op for op in OPS if op != "=="])
@pytest.mark.parametrize("negated", [False, True])
def test_durable_raises_311_when_an_ordered_join_reads_a_field_the_earlier_fact_lacks(op, negated):
    """The reason for `_absent_cases`: the whole batch fails, whatever the rule."""
    later = {"$and": [{"type": "y"}, _compare(op, "b", {FIRST: "a"})]}
    rule = [{FIRST: {"type": "x"}}, {"n0$not" if negated else SECOND: later}]
    assert "311" in str(_matches(rule, [{"type": "x"}, {"type": "y", "b": 5}]))
    # The guard on the positive side: the earlier fact must hold the field.
    guarded = [{FIRST: {"$and": [{"type": "x"}, {"$ex": {"a": 1}}]}}, rule[1]]
    assert _matches(guarded, [{"type": "x"}, {"type": "y", "b": 5}]) == 0


@pytest.mark.parametrize("op", list(OPS))
def test_durable_matches_a_same_fact_comparison_with_a_missing_field_after_another_test(op):
    """The reason for the `$ex` before every `$m`: `closed_on > deadline` matched a
    rectification with no deadline once a test of closed_on came first (F406)."""
    compare = _compare(op, "a", {"$m": "b"})
    after = [{FIRST: {"$and": [{"type": "x"}, {"$gte": {"a": 1}}, compare]}}]
    if op in (">", ">=", "!="):
        assert _matches(after, [{"type": "x", "a": 5}]) == 1  # wrong: b is missing
    guarded = [{FIRST: {"$and": [{"type": "x"}, {"$gte": {"a": 1}}, {"$ex": {"b": 1}}, compare]}}]
    assert _matches(guarded, [{"type": "x", "a": 5}]) == 0
    with_days = [{FIRST: {"$and": [{"type": "x"}, {"$gte": {"a": 1}}, {"$ex": {"b": 1}},
                                   _compare(op, "a", {"$add": {"$l": {"$m": "b"}, "$r": 1}})]}}]
    assert _matches(with_days, [{"type": "x", "a": 5}]) == 0


def test_durable_is_false_on_a_missing_value_where_no_guard_is_emitted():
    """Comparisons with constants, list tests, equality joins, and a later fact lacking its own
    side of a join: false without any guard (positive), true under `$not`."""
    lone: list[dict] = [{"type": "x"}]
    for op in OPS:
        assert _matches([{FIRST: {"$and": [{"type": "x"}, _compare(op, "a", 3)]}}], lone) == 0
    assert _matches([{FIRST: {"$and": [{"type": "x"}, {"$iany": {"l": {"$i": 3}}}]}}], lone) == 0
    lacks = {"$iall": {"l": {"$neq": {"$i": 3}}}}
    assert _matches([{FIRST: {"$and": [{"type": "x"}, lacks]}}], lone) == 0
    pair: list[dict] = [{"type": "x", "a": 5}, {"type": "y"}]
    for op in OPS:
        later = {"$and": [{"type": "y"}, _compare(op, "b", {FIRST: "a"})]}
        assert _matches([{FIRST: {"type": "x"}}, {SECOND: later}], pair) == 0
        assert _matches([{FIRST: {"type": "x"}}, {"n0$not": later}], pair) == 1
    equal = {"$and": [{"type": "y"}, {"b": {FIRST: "a"}}]}
    assert _matches([{FIRST: {"type": "x"}}, {SECOND: equal}], [{"type": "x"}, {"type": "y", "b": 5}]) == 0


# --------------------------------------------------------------------- through the compiler

def _policy(rules: list[tuple[str, dict, list[str]]]) -> str:
    """A user policy file: (id, match, unless) per rule, each charged to unit u-1."""
    entries = []
    for rule_id, match, unless in rules:
        entries.append({
            "id": rule_id, "name": f"case-{rule_id.lower()}", "severity": "warning",
            "clause": "二(一)", "title": {"zh": rule_id, "en": rule_id},
            "match": match, "unless": unless,
            "finding": {"unit": "'u-1'", "subject": f"{next(iter(match))}.id",
                        "message": rule_id},
            "doc": {"checks": "缺失值的测试。", "why": "原文二(一)。", "fail": {"facts": "units: []", "gives": []},
                    "pass": {"facts": "units: []"}}})
    return json.dumps({"mechanism": "absent", "clause": "二(一)",
                       "title": {"zh": "缺失值", "en": "Absent values"}, "rules": entries},
                      ensure_ascii=False)


def _rules() -> list[tuple[str, dict, list[str]]]:
    rules: list[tuple[str, dict, list[str]]] = []
    number = iter(range(900, 1000))
    for op in OPS:
        # a join of tasks (earlier) and persons (later), positive and negated
        rules.append((f"X{next(number)}", {"t": "tasks", "p": f"persons where p.id == t.leader and p.unit {op} t.unit"}, []))
        rules.append((f"X{next(number)}", {"t": "tasks"},
                      [f"persons as p where p.id == t.leader and p.unit {op} t.unit"]))
        # the same record's two fields, plain and in days, and negated
        rules.append((f"X{next(number)}", {"r": f"rectifications where r.closed_on {op} r.deadline"}, []))
        rules.append((f"X{next(number)}",
                      {"r": f"rectifications where r.closed_on {op} r.deadline + 3 days"}, []))
        rules.append((f"X{next(number)}",
                      {"r": f"rectifications where not (r.closed_on {op} r.deadline)"}, []))
        # a constant, and a parameter
        rules.append((f"X{next(number)}", {"r": f"rectifications where r.deadline {op} $year_start + 151 days"}, []))
        rules.append((f"X{next(number)}", {"t": f"tasks where t.unit {op} 'u-1'"}, []))
    rules.append((f"X{next(number)}", {"i": "institutions", "u": "units where i.cooperating_units contains u.id"}, []))
    rules.append((f"X{next(number)}", {"i": "institutions where i.cooperating_units contains 'u-1'"}, []))
    rules.append((f"X{next(number)}", {"i": "institutions where not (i.cooperating_units contains 'u-1')"}, []))
    return rules


def _facts() -> str:
    """Every combination of present and missing for the fields the rules read."""
    units = "units: [{id: u-1, name: 甲局, kind: department}, {id: u-2, name: 乙局, kind: department}]"
    persons = "persons: [{id: p-1, name: 陈明, unit: u-1}, {id: p-2, name: 赵强, unit: u-2}]"
    tasks, rects = [], []
    for number, (unit, leader) in enumerate(itertools.product([None, "u-1", "u-2"],
                                                              [None, "p-1", "p-2"])):
        fields = {"id": f"t-{number}", "institution": "inst-1", "unit": unit, "leader": leader}
        tasks.append({k: v for k, v in fields.items() if v is not None})
    for number, (deadline, closed) in enumerate(itertools.product(
            [None, "2013-06-01", "2013-06-03"], [None, "2013-06-01", "2013-06-04"])):
        fields = {"id": f"r-{number}", "unit": "u-1", "problem": "问题", "deadline": deadline,
                  "closed_on": closed}
        rects.append({k: v for k, v in fields.items() if v is not None})
    institutions = [{"id": "inst-1", "title": "甲", "source": "municipal", "lead_unit": "u-1"},
                    {"id": "inst-2", "title": "乙", "source": "municipal", "lead_unit": "u-1",
                     "cooperating_units": ["u-1", "u-2"]}]
    return "\n".join([units, persons, f"institutions: {json.dumps(institutions)}",
                      f"tasks: {json.dumps(tasks)}", f"rectifications: {json.dumps(rects)}"])


def test_every_form_of_test_agrees_with_the_evaluator_on_missing_values(tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "absent.yaml").write_text(_policy(_rules()), encoding="utf-8")
    program = compile_catalog(load_catalog([str(folder)]), select={r[0] for r in _rules()})
    rows = rows_from_yaml(_facts())
    engine = check(rows, program, 2013)  # raised error 311 before the guards
    python = check(rows, program, 2013, backend=oracle.run)
    assert comparable(engine) == comparable(python)
    fired = {f.rule for f in engine.findings}
    assert len(fired) > len(_rules()) // 2  # the cases are not vacuous


def test_f406_does_not_fire_without_a_deadline():
    """Four records from the issue: a rectification closed in the year with no deadline."""
    report = check(rows_from_yaml(textwrap.dedent("""\
        units: [{id: u-1, name: 市教育局, kind: department}]
        rectifications: [{id: r-1, unit: u-1, problem: 收费不公示, closed_on: 2013-05-01}]
        """)), compile_catalog(load_catalog()), 2013)
    assert [f.subject for f in report.findings if f.rule == "F406"] == []
    assert [f.subject for f in report.findings if f.rule == "F405"] == ["r-1"]


B7 = textwrap.dedent("""\
    import json, sys
    import durable_rules_engine as dre
    joins = json.loads(sys.argv[1])
    rule = {"all": [{"t": {"type": "tasks"}},
                    {"p": {"$and": [{"type": "persons"}, *joins]}}]}
    handle = dre.create_ruleset("b7", json.dumps({"R": rule}))
    dre.assert_facts(handle, json.dumps([{"type": "tasks", "unit": "a", "sid": "s", "id": "1"}]))
    dre.assert_facts(handle, json.dumps([{"type": "persons", "unit": "a", "sid": "s", "id": "2"}]))
    print("ok")
    """)


def test_durable_dies_when_the_last_join_of_a_pattern_is_false():
    """The reason `_pattern` repeats the first join at the end: a false join that is the last
    one makes durable read past the sequence of joins (here it dies; elsewhere matches go
    wrong). In a process of its own: it kills the process."""
    import subprocess
    import sys

    def run(joins: list) -> int:
        return subprocess.run([sys.executable, "-c", B7, json.dumps(joins)],
                              capture_output=True, timeout=60).returncode

    false_join = {"$neq": {"unit": {"t": "unit"}}}
    assert run([false_join]) != 0
    assert run([false_join, false_join]) == 0
