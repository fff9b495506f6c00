"""check --record, history and diff: a closed rectification's findings show as resolved."""

import json

from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts import history

runner = CliRunner()


def test_closing_a_rectification_resolves_its_f403_and_a308(minimal_path, tmp_path, db_url):
    # Received before the close-out date, as it happened (a load received later that still
    # had it open would make the close-out backdated: F407)
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db_url,
                               "--received", "2013-11-01"]).exit_code == 0
    first = runner.invoke(app, ["check", "--year", "2013", "--db", db_url, "--record",
                                "--format", "json"])
    assert first.exit_code == 1, first.output
    closed = tmp_path / "closed.yaml"
    closed.write_text(minimal_path.read_text(encoding="utf-8").replace(
        "deadline: 2013-11-30}", "deadline: 2013-11-30, closed_on: 2013-11-25}"), encoding="utf-8")
    assert runner.invoke(app, ["load", str(closed), "--db", db_url,
                               "--received", "2013-11-26"]).exit_code == 0
    assert runner.invoke(app, ["check", "--year", "2013", "--db", db_url, "--record",
                               "--format", "json"]).exit_code == 1
    listing = runner.invoke(app, ["history", "--db", db_url])
    assert listing.exit_code == 0 and "检查记录（2 次）" in listing.stdout
    result = runner.invoke(app, ["diff", "--db", db_url, "--format", "json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)
    assert sorted((f["rule"], f["subject"]) for f in changes["resolved"]) == [
        ("A308", "rect-1"), ("F403", "rect-1")]
    assert changes["new"] == [] and len(changes["open"]) == 44
    explicit = json.loads(runner.invoke(app, ["diff", "2", "1", "--db", db_url, "--format",
                                              "json"]).stdout)
    assert sorted(f["rule"] for f in explicit["new"]) == ["A308", "F403"]
    # Each run keeps the load it read: --known-at 1 reads the state the first run read.
    assert [run.load_id for run in history.runs(db_url)] == [2, 1]
    again = runner.invoke(app, ["check", "--year", "2013", "--db", db_url, "--known-at", "1",
                                "--record", "--format", "json"])
    assert json.loads(again.stdout)["findings"] == json.loads(first.stdout)["findings"]
    assert history.runs(db_url)[0].load_id == 1


def test_record_needs_the_database_and_diff_needs_two_runs(minimal_path, tmp_path):
    result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--record"])
    assert result.exit_code == 2 and "--record" in result.stderr
    db = str(tmp_path / "x.db")
    runner.invoke(app, ["load", str(minimal_path), "--db", db])
    runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record", "--format", "json"])
    lonely = runner.invoke(app, ["diff", "--db", db])
    assert lonely.exit_code == 2 and "只有一次" in lonely.stderr
    assert runner.invoke(app, ["diff", "1", "9", "--db", db]).exit_code == 2
