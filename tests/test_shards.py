"""check --shard K/N: the shards' outputs, put together, are exactly the unsharded run."""

import json

import pytest
from typer.testing import CliRunner

from luoshi.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("shards", [2, 3])
def test_union_of_shards_equals_the_whole_run(minimal_path, example_path, db_url, shards):
    assert runner.invoke(app, ["load", str(minimal_path), str(example_path),
                               "--db", db_url]).exit_code == 0

    def run(*args):
        result = runner.invoke(app, ["check", "--year", "2013", "--db", db_url, "--format", "json",
                                     "--fail-on", "never", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    whole = run()
    parts = [run("--shard", f"{k}/{shards}") for k in range(1, shards + 1)]
    findings = [f for part in parts for f in part["findings"]]
    triggers = [t for part in parts for t in part["triggers"]]
    assert sorted(f["id"] for f in findings) == sorted(f["id"] for f in whole["findings"])
    assert sorted(map(json.dumps, triggers)) == sorted(map(json.dumps, whole["triggers"]))
    assert all(part["findings"] for part in parts)  # the work is really spread
    assert sum(p["summary"]["units"] for p in parts) == whole["summary"]["units"]


def test_shard_needs_the_database_and_a_valid_spec(minimal_path):
    assert runner.invoke(app, ["check", str(minimal_path), "--year", "2013",
                               "--shard", "1/2"]).exit_code == 2
    assert runner.invoke(app, ["check", "--year", "2013", "--shard", "3/2"]).exit_code == 2


@pytest.mark.parametrize("shards", [2, 5])
def test_split_evaluation_on_a_generated_city(tmp_path, shards):
    """Many units, many rules firing: the shards together give exactly the whole run."""
    import yaml

    from luoshi.engine.run import check, narrow
    from luoshi.facts.demo import generate
    from luoshi.facts.validate import read_facts

    from .checking import comparable, program

    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(generate(60, seed=shards), allow_unicode=True), encoding="utf-8")
    facts, _ = read_facts([str(path)])
    whole = comparable(check(facts, program(), 2013))
    report = check(facts, program(), 2013)
    parts = [comparable(narrow(report, shard=(k, shards))) for k in range(1, shards + 1)]
    assert sorted(f for part in parts for f in part["findings"]) == whole["findings"]
    assert sorted(t for part in parts for t in part["triggers"]) == whole["triggers"]
