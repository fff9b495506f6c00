"""durable_rules does the deciding: the compiled form of every rule, facts it rejects, and what
the engine layer guards against (see engine/runtime/durable.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime import durable, enrich
from luoshi.engine.runtime.run import check, check_context
from luoshi.facts.validate import read_facts

from .checking import catalog, program, run_yaml

GOLDEN = Path(__file__).parent / "golden" / "compiled.json"
runner = CliRunner()


def _compiled_catalog() -> dict:
    context = check_context(program(), 2013, dt.date(2013, 12, 31))
    return {rule: durable.compiled(program(), rule, context)[0] for rule in sorted(catalog().rules)}


def test_compiled_form_of_every_rule_is_as_reviewed():
    """The durable_rules rulesets of every rule for 2013 with the default parameters. Set
    LUOSHI_UPDATE_GOLDEN=1 to rewrite tests/golden/compiled.json after a policy change."""
    text = json.dumps(_compiled_catalog(), ensure_ascii=False, indent=1) + "\n"
    if os.environ.get("LUOSHI_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_every_condition_of_the_yaml_is_a_test_of_the_engine():
    """No pattern reaches the engine as a bare type test when its YAML has a condition."""
    compiled = _compiled_catalog()
    for rule_id, rule in catalog().rules.items():
        patterns = [pattern for rules in compiled[rule_id].values() for r in rules.values()
                    for condition in r["all"] for alias, pattern in condition.items()
                    if alias != durable.ALIASES[1]]
        conditions = [*rule.match.values(), *rule.unless,
                      *(t for a in rule.alternatives for t in [*a.match.values(), *a.unless])]
        wanted = sum(" where " in text for text in conditions)
        tested = sum(len(pattern["$and"]) > 1 for pattern in patterns)
        assert tested >= wanted, rule_id


def test_rules_show_compiled_prints_the_ruleset(minimal_path):
    result = runner.invoke(app, ["rules", "show", "F403", "--compiled", "--year", "2013"])
    assert result.exit_code == 0, result.output
    definition = json.loads(result.stdout)
    assert definition == _compiled_catalog()["F403"]
    f403 = definition["luoshi_stratum1"]["F403"]["all"][0]["p27"]["$and"]
    assert {"$lt": {"deadline": dt.date(2013, 12, 31).toordinal()}} in f403
    assert {"$nex": {"closed_on": 1}} in f403
    raised = runner.invoke(app, ["rules", "show", "I201", "--compiled", "--year", "2013",
                                 "--param", "I201.min=3"])
    assert {"$lt": {"I201_0": 3}} in json.loads(raised.stdout)["luoshi_stratum1"]["I201"][
        "all"][0]["p27"]["$and"][2]["$or"]


def test_durable_rules_rejects_what_the_rules_reject(tmp_path, monkeypatch):
    """On a generated city, every query whose first pattern has a condition in its YAML gets
    facts from enrichment that durable_rules does not match: the filtering is the engine's."""
    from luoshi.facts.demo import generate

    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(generate(40, 7), allow_unicode=True), encoding="utf-8")
    facts, _ = read_facts([str(path)])
    plans, runs = [], []
    build, run = enrich.build, durable.run
    monkeypatch.setattr(enrich, "build", lambda *a, **k: plans.append(build(*a, **k)) or plans[-1])
    monkeypatch.setattr(durable, "run", lambda plan, *a, **k: runs.append(
        (plan, run(plan, *a, **k))) or runs[-1][1])
    rejected: set[str] = set()  # queries for which the engine matched fewer facts than it got
    for as_of in (dt.date(2013, 12, 31), dt.date(2013, 7, 15)):  # A308: triggers not yet due
        runs.clear()
        check(facts, program(), 2013, as_of)
        for plan, matches in runs:
            for query in plan.queries:
                token = query.patterns[0].token
                asserted = {fact["ref"] for facts_ in plan.sessions.values() for fact in facts_
                            if fact["type"] == token}
                asserted |= {ref for ref, row in enumerate(plan.rows) if row["__kind__"] == token}
                matched = {refs[query.patterns[0].alias] for query_id, refs in matches
                           if query_id == query.id}
                if len(matched) < len(asserted):
                    rejected.add(query.id)
    for query in program().queries:
        rule = catalog().rules[query.rule]
        first = rule.match.get(query.patterns[0].alias) or next(
            (a.match[query.patterns[0].alias] for a in rule.alternatives
             if query.patterns[0].alias in a.match), "")
        if " where " in first:
            assert query.id in rejected, query.id


def test_chinese_constants_match_in_the_engine():
    """durable compares the raw text of strings: facts are sent as UTF-8 like the rules."""
    from luoshi.engine.language.policy import Catalog, Terms
    from luoshi.engine.plan.compile import compile_catalog

    base = catalog()
    rule = base.rules["R105"].model_copy(update={
        "match": {"u": "units where u.name == '市教育局' and u.responsible_body is null"}})
    one = Catalog({"R105": rule}, base.where, base.mechanisms, base.terms, base.terms_where,
                  base.documents)
    assert isinstance(one.terms, Terms)
    report = run_yaml("""
units: [{id: u-1, name: 市教育局, kind: department}, {id: u-2, name: 市委组织部, kind: department}]
institutions: [{id: i-1, title: 办法, source: municipal, lead_unit: u-1, cooperating_units: [u-2]}]
""", program_=compile_catalog(one))
    assert [f.subject for f in report.findings] == ["u-1"]


# ------------------------------------------------------------------------------- defects

def test_a_subject_that_is_null_is_no_crash():
    from luoshi.engine.language.policy import Catalog
    from luoshi.engine.plan.compile import compile_catalog

    base = catalog()
    rule = base.rules["F405"].model_copy(update={
        "finding": base.rules["F405"].finding.model_copy(update={"subject": "r.person"})})
    one = Catalog({"F405": rule}, base.where, base.mechanisms, base.terms, base.terms_where,
                  base.documents)
    report = run_yaml("""
units: [{id: u-1, name: 市教育局, kind: department}]
persons: [{id: p-1, name: 吴静, unit: u-1}]
rectifications:
  - {id: rect-1, unit: u-1, problem: 问题, deadline: 2014-01-31}
  - {id: rect-2, unit: u-1, person: p-1, problem: 问题}
""", program_=compile_catalog(one))
    assert [(f.rule, f.subject) for f in report.findings] == [("F405", ""), ("F405", "p-1")]


def test_checking_the_same_rows_twice_gives_what_two_runs_give(minimal_path):
    from luoshi.facts.factset import rows_of

    from .checking import comparable

    facts, _ = read_facts([str(minimal_path)])
    rows = rows_of(facts)
    early, late = dt.date(2013, 6, 30), dt.date(2013, 12, 31)
    first = comparable(check(rows, program(), 2013, early))
    second = comparable(check(rows, program(), 2013, late))
    assert first == comparable(check(rows_of(facts), program(), 2013, early))
    assert second == comparable(check(rows_of(facts), program(), 2013, late))
    assert first != second


def test_rules_listing_names_the_params_section_and_show_lists_every_condition(minimal_path):
    listing = runner.invoke(app, ["rules"])
    assert "luoshi.toml 的 [params] 修改" in listing.stdout
    f403 = runner.invoke(app, ["rules", "show", "F403"]).stdout
    assert "除非 accountability as a where a.basis == r.id" in f403
    a308 = runner.invoke(app, ["rules", "show", "A308"]).stdout
    assert "证据 signals as s where s.about == t.basis or s.unit == t.target_unit" in a308
    data = json.loads(runner.invoke(app, ["check", str(minimal_path), "--year", "2013",
                                          "--format", "json", "--select", "F403"]).stdout)
    explained = runner.invoke(app, ["explain", data["findings"][0]["id"], str(minimal_path),
                                    "--year", "2013"]).stdout
    assert "除非 accountability as a where a.basis == r.id" in explained


def _or_rules(branches: int, rules: int) -> dict:
    """`rules` rules over one type, each an `$or` of `branches` tests a fact can all pass,
    then a test of its own: each branch's end leads on to every rule's next test."""
    return {f"r{j}": {"all": [{"p27": {"$and": [
        {"type": "x"}, {"$or": [{"$gt": {"a": i}} for i in range(branches)]},
        {"$gt": {"b": j}}]}}], "cap": 10} for j in range(rules)}


def test_the_alpha_stack_bound_is_what_durable_rules_counts():
    """error 303 comes exactly past the bound `alpha_stack` computes, `$or` branches included
    (counting patterns per type, as before, allowed 26 rules here and the check failed)."""
    import durable_rules_engine as dre

    from luoshi.engine.runtime.alpha_stack import STACK_LIMIT, Network

    fact = json.dumps([{"type": "x", "a": 1000, "b": 1000, "sid": "s", "id": "f"}])
    for branches, rules in [(40, 25), (40, 26), (60, 5), (60, 6), (1, 64), (1, 65), (2, 63)]:
        definition = _or_rules(branches, rules)
        bound = Network.of(definition).deepest()["x"]
        assert bound == branches - 1 + rules or branches == 1 and bound == rules
        handle = dre.create_ruleset(f"stack_{branches}_{rules}", json.dumps(definition))
        try:
            dre.assert_facts(handle, fact)
        except dre.error as error:
            assert "303" in str(error) and bound > STACK_LIMIT
        else:
            assert bound <= STACK_LIMIT


def _score_policy(rules: int, branches: int) -> str:
    entries = [{
        "id": f"X{900 + j}", "name": f"score-{j}", "severity": "warning", "clause": "二(三)",
        "title": {"zh": f"分数{j}", "en": f"Score {j}"},
        "match": {"a": "appraisals where (" + " or ".join(
            f"a.score > {i}" for i in range(branches)) + f") and a.rank > {j}"},
        "finding": {"unit": "a.unit", "subject": "a.unit", "message": "分数"},
        "doc": {"checks": "测试。", "why": "原文二(三)。", "fail": {"facts": "units: []", "gives": []},
                "pass": {"facts": "units: []"}}} for j in range(rules)]
    return json.dumps({"mechanism": "score", "clause": "二(三)", "title": {"zh": "分数", "en": "Score"},
                       "rules": entries}, ensure_ascii=False)


def test_rules_too_many_for_one_ruleset_are_split_not_error_303(tmp_path):
    from luoshi.engine.language.policy import load_catalog
    from luoshi.engine.plan.compile import compile_catalog

    from . import oracle
    from .checking import comparable, rows_from_yaml

    (tmp_path / "score.yaml").write_text(_score_policy(rules=30, branches=40), encoding="utf-8")
    program_ = compile_catalog(load_catalog([str(tmp_path)]),
                               select={f"X{900 + j}" for j in range(30)})
    rows = rows_from_yaml("units: [{id: u-1, name: 甲局, kind: department}]\n"
                          "appraisals: [{unit: u-1, year: 2013, date: 2013-12-01, score: 95, rank: 20}]")
    report = check(rows, program_, 2013)
    assert len(report.findings) == 20
    assert comparable(report) == comparable(check(rows, program_, 2013, backend=oracle.run))


def test_a_rule_no_ruleset_can_hold_is_a_clear_error_not_error_303(tmp_path):
    from luoshi.engine.errors import EngineError
    from luoshi.engine.language.policy import load_catalog
    from luoshi.engine.plan.compile import compile_catalog

    from .checking import rows_from_yaml

    (tmp_path / "score.yaml").write_text(_score_policy(rules=1, branches=70), encoding="utf-8")
    program_ = compile_catalog(load_catalog([str(tmp_path)]), select={"X900"})
    rows = rows_from_yaml("units: [{id: u-1, name: 甲局, kind: department}]\n"
                          "appraisals: [{unit: u-1, year: 2013, date: 2013-12-01, score: 95, rank: 20}]")
    try:
        check(rows, program_, 2013)
    except EngineError as error:
        assert "X900" in str(error) and "appraisals" in str(error) and "70" in str(error)
    else:
        raise AssertionError("no error")
