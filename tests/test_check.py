"""The engine end to end: golden outputs, the compiled form, order independence, the
durable_rules backend against the pure-Python evaluator, and the `check` command."""

from __future__ import annotations

import json
import random
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime.run import RunOptions, check
from luoshi.facts.factset import FactSet
from luoshi.facts.validate import read_facts

from . import oracle
from .checking import comparable, program, run_yaml

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).parent.parent
runner = CliRunner()


def _expected_sets(path: Path):
    expected = json.loads(path.read_text(encoding="utf-8"))
    findings = {(f["rule"], f["severity"], f["unit"], f["subject"]) for f in expected["findings"]}
    triggers = {tuple(t[k] for k in ("type", "rule", "basis", "target_unit", "target_person",
                                     "due", "issuer")) for t in expected["triggers"]}
    return expected["year"], findings, triggers


def _actual_sets(report):
    findings = {(f.rule, f.severity, f.unit, f.subject) for f in report.findings}
    triggers = {tuple(t.as_dict()[k] for k in ("type", "rule", "basis", "target_unit",
                                               "target_person", "due", "issuer"))
                for t in report.triggers}
    return findings, triggers


@pytest.mark.parametrize("backend", ["durable", "python"])
@pytest.mark.parametrize("example", ["minimal", "chibi"])
def test_examples_give_exactly_their_expected_findings(example, backend, minimal_path,
                                                       example_path):
    facts_path = minimal_path if example == "minimal" else example_path
    year, findings, triggers = _expected_sets(facts_path.parent / "expected.json")
    facts, _ = read_facts([str(facts_path)])
    report = check(facts, program(), year, backend=oracle.run if backend == "python" else None)
    assert _actual_sets(report) == (findings, triggers)


def test_accountability_chain_carries_due_dates_and_issuer():
    report = run_yaml("""
units:
  - {id: u-1, name: 市教育局, kind: department}
  - {id: u-2, name: 县纪委, kind: discipline}
  - {id: u-3, name: 市纪委, kind: discipline}
persons: [{id: p-1, name: 吴静, unit: u-1}]
rectifications: [{id: rect-1, unit: u-1, person: p-1, problem: 问题, deadline: 2013-10-31}]
""".replace("kind: department}", "kind: department, discipline_organ: u-3}"))
    assert [t.as_dict() | {"finding": None} for t in report.triggers] == [
        {"type": "accountability", "rule": "F403", "basis": "rect-1", "target_unit": "u-1",
         "target_person": "p-1", "due": "2013-11-30", "issuer": None, "finding": None},
        {"type": "re_accountability", "rule": "A308", "basis": "rect-1", "target_unit": "u-1",
         "target_person": None, "due": None, "issuer": "u-3", "finding": None},
    ]
    a308 = next(f for f in report.findings if f.rule == "A308")
    assert [(e.kind, e.id) for e in a308.evidence] == [("rectifications", "rect-1")]


def _shuffled(facts: FactSet, seed: int, keep: float = 1.0) -> FactSet:
    rng = random.Random(seed)
    result = FactSet()
    for kind, records in facts.records.items():
        chosen = [record for record in records if rng.random() < keep]
        rng.shuffle(chosen)
        result.records[kind] = chosen
    return result


@pytest.fixture(scope="module")
def both_examples(minimal_path, example_path):
    facts, _ = read_facts([str(minimal_path), str(example_path)])
    return facts


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_fact_order(both_examples, seed):
    reference = comparable(check(both_examples, program(), 2013))
    assert comparable(check(_shuffled(both_examples, seed), program(), 2013)) == reference


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), keep=st.floats(0.3, 0.95))
def test_durable_backend_agrees_with_the_python_evaluator(both_examples, seed, keep):
    """Random subsets (references may dangle: that is part of the test) in random order."""
    facts = _shuffled(both_examples, seed, keep)
    assert comparable(check(facts, program(), 2013)) == \
        comparable(check(facts, program(), 2013, backend=oracle.run))


def _generated_city(seed: int, tmp_path: Path) -> FactSet:
    from luoshi.facts.demo import generate

    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(generate(60, seed), allow_unicode=True), encoding="utf-8")
    complete, _ = read_facts([str(path)])
    facts = _shuffled(complete, seed, keep=0.85)  # break some of everything, so rules fire
    facts.records["units"] = complete.records["units"]
    return facts


@pytest.mark.parametrize("seed", [1, 2])
def test_backends_agree_on_a_generated_city_with_many_sessions(seed, tmp_path):
    facts = _generated_city(seed, tmp_path)
    durable = check(facts, program(), 2013)
    assert len(durable.findings) > 50
    assert comparable(durable) == \
        comparable(check(facts, program(), 2013, backend=oracle.run))


def test_rule_groups_in_parallel_workers_give_what_one_process_gives(tmp_path, both_examples,
                                                                     monkeypatch):
    from luoshi.engine.runtime import run

    facts = _generated_city(5, tmp_path)
    alone = comparable(check(facts, program(), 2013))
    groups = []
    parallel = RunOptions(workers=2, parallel_min_rows=0)  # however many cores and facts
    original = run._rule_groups
    monkeypatch.setattr(run, "_rule_groups", lambda *args: groups.append(original(*args))
                        or groups[-1])
    assert comparable(check(facts, program(), 2013, options=parallel)) == alone
    assert len(groups[0]) == 2 and {q.rule for q in groups[0][0]}.isdisjoint(
        {q.rule for q in groups[0][1]})
    assert comparable(check(both_examples, program(), 2013)) == \
        comparable(check(both_examples, program(), 2013, backend=oracle.run))


def test_many_small_engine_batches_give_what_one_batch_gives(tmp_path, monkeypatch):
    from luoshi.engine.runtime import durable

    facts = _generated_city(7, tmp_path)
    whole = comparable(check(facts, program(), 2013))
    batches = []
    original = durable._batches
    monkeypatch.setattr(durable, "_batches", lambda plan: batches.append(list(original(plan)))
                        or iter(batches[-1]))
    monkeypatch.setattr(durable, "FACTS_PER_SESSION", 150)
    monkeypatch.setattr(durable, "MIN_FACTS_PER_BATCH", 400)
    monkeypatch.setattr(durable, "FACTS_PER_PARENT_MB", 0)
    assert comparable(check(facts, program(), 2013)) == whole
    assert max(map(len, batches)) > 3  # the facts really were split, in forked workers


def test_engine_batches_grow_with_the_forking_process():
    from luoshi.engine.runtime.durable import MIN_FACTS_PER_BATCH, facts_per_batch

    assert facts_per_batch(0) == facts_per_batch(300) == MIN_FACTS_PER_BATCH
    assert facts_per_batch(2000) > facts_per_batch(1000) > MIN_FACTS_PER_BATCH


def test_an_error_in_a_parallel_worker_is_raised_in_the_caller(both_examples, monkeypatch):
    from luoshi.engine.errors import EngineError

    def failing(stratum):
        raise EngineError("规则引擎拒绝了重复的事实（测试）")

    with pytest.raises(EngineError, match="测试"):
        check(both_examples, program(), 2013, backend=failing,
              options=RunOptions(workers=2, parallel_min_rows=0))


# ------------------------------------------------------------------------------- the command

def test_check_json_matches_the_shared_golden_file(minimal_path):
    result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", "json"])
    assert result.exit_code == 1  # errors were found
    data = json.loads(result.stdout)
    assert data["tool"] == "luoshi" and data["as_of"] == "2013-12-31"
    assert data["summary"] == {"errors": 27, "warnings": 19, "units": 4, "triggers": 6}
    _, findings, triggers = _expected_sets(minimal_path.parent / "expected.json")
    assert {(f["rule"], f["severity"], f["unit"], f["subject"]) for f in data["findings"]} \
        == findings
    assert [f["rule"] for f in data["findings"]] == sorted(f["rule"] for f in data["findings"])
    first = data["findings"][0]
    assert set(first) == {"id", "rule", "severity", "clause", "unit", "subject", "message",
                          "evidence"}
    assert first["evidence"][0]["source"].startswith(str(minimal_path))


def test_finding_ids_are_stable_across_runs_and_inputs(minimal_path, tmp_path):
    first = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", "json"])
    copy = tmp_path / "copy.yaml"
    copy.write_text(minimal_path.read_text(encoding="utf-8"), encoding="utf-8")
    second = runner.invoke(app, ["check", str(copy), "--year", "2013", "--format", "json"])
    ids = [[f["id"] for f in json.loads(r.stdout)["findings"]] for r in (first, second)]
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0])


@pytest.mark.parametrize(("args", "code"), [
    (["--fail-on", "never"], 0),
    (["--select", "A302"], 0),  # warnings only, fail on errors
    (["--select", "A302", "--fail-on", "warning"], 1),
    (["--select", "L5"], 1),
    (["--ignore", "A,F,I,L,R"], 0),
    (["--unit", "u-jw", "--select", "I207"], 0),
    (["--param", "I201.mn=3"], 2),
    (["--param", "I201.min=three"], 2),
    (["--format", "yaml"], 2),
    (["--fail-on", "sometimes"], 2),
    (["--as-of", "2013-02-30"], 2),
    (["--policies", "/nonexistent/policies"], 2),
])
def test_check_exit_codes(minimal_path, args, code):
    result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", "json",
                                 *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_parameters_change_results(minimal_path, tmp_path):
    def i201(*args):
        result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format",
                                     "json", "--select", "I201", *args])
        return sorted(f["unit"] for f in json.loads(result.stdout)["findings"])

    assert i201() == ["u-edu", "u-xa"]
    assert i201("--param", "I201.min=3") == ["u-edu", "u-jw", "u-xa", "u-zzb"]
    (tmp_path / "luoshi.toml").write_text('[params]\n"I201.min" = 1\n', encoding="utf-8")
    assert i201("--config", str(tmp_path / "luoshi.toml")) == ["u-xa"]


def test_check_from_the_database_equals_check_from_files(minimal_path, tmp_path):
    db = str(tmp_path / "x.db")
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    from_db = runner.invoke(app, ["check", "--year", "2013", "--db", db, "--format", "json"])
    from_files = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format",
                                     "json"])
    strip = lambda r: [(f["id"], f["message"], f["evidence"]) for f in json.loads(r.stdout)["findings"]]  # noqa: E731
    assert strip(from_db) == strip(from_files)
    empty = runner.invoke(app, ["check", "--year", "2013", "--db", str(tmp_path / "none.db")])
    assert empty.exit_code == 2 and "luoshi load" in empty.stderr


def test_other_formats(minimal_path):
    def run(fmt):
        return runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", fmt])

    suite = ElementTree.fromstring(run("junit").stdout.encode())
    assert int(suite.get("tests")) == 33 * 5 and int(suite.get("failures")) == 46
    annotations = run("github").stdout.splitlines()
    assert len(annotations) == 46
    assert any(line.startswith("::error file=") and ",line=" in line for line in annotations)
    markdown = run("markdown").stdout
    assert markdown.startswith("# 落实检查 2013 年度") and markdown.count("\n| u-") == 44
    table = run("table").stdout
    assert "市教育局（u-edu）" in table and "共 27 个错误、19 个警告" in table
    assert table.index("共 27 个错误") < table.index("市教育局（u-edu）")  # the summary first


def test_rules_commands_and_explain(minimal_path):
    listing = runner.invoke(app, ["rules"])
    assert listing.exit_code == 0 and "F403" in listing.stdout and "I201.min=2" in listing.stdout
    shown = runner.invoke(app, ["rules", "show", "F403"])
    assert "整改事项逾期未销号" in shown.stdout and "实行“销号”管理" in shown.stdout
    data = json.loads(runner.invoke(app, ["check", str(minimal_path), "--year", "2013",
                                          "--format", "json", "--select", "F404"]).stdout)
    finding = data["findings"][0]
    explained = runner.invoke(app, ["explain", finding["id"], str(minimal_path), "--year", "2013"])
    assert explained.exit_code == 0
    assert "inspection_results ins-5/inst-3" in explained.stdout
    assert f"{minimal_path}:" in explained.stdout
    missing = runner.invoke(app, ["explain", "F404-000000000000", str(minimal_path), "--year", "2013"])
    assert missing.exit_code == 2


def test_negative_control_without_the_phase_gate_results_go_wrong(both_examples, monkeypatch):
    """The comparisons above can fail: the same engine without the gate, facts in one order,
    disagrees with the pure-Python evaluator (durable_rules bugs B1/B2)."""
    disagreements = 0
    for seed in range(6):
        facts = _shuffled(both_examples, seed)
        if comparable(check(facts, program(), 2013, options=RunOptions(gated=False))) != \
                comparable(check(facts, program(), 2013, backend=oracle.run)):
            disagreements += 1
    assert disagreements > 0


def test_a_worker_that_dies_is_an_error_not_missing_results(minimal_path, monkeypatch):
    import os as os_module

    from luoshi.engine.runtime import durable

    monkeypatch.setattr(durable, "_evaluate_batch", lambda *args: os_module._exit(3))
    result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", "json"])
    assert result.exit_code == 2
    assert "工作进程异常退出（退出码 3）" in result.stderr and result.stdout == ""
