"""What a user reads on the command line: explain by id prefix, history in local time, diff
with reasons and without the findings that did not change."""

import datetime as dt
import json
import time

import pytest
from typer.testing import CliRunner

from luoshi.cli.main import app

runner = CliRunner()


def test_explain_takes_an_unambiguous_prefix(minimal_path):
    found = json.loads(runner.invoke(app, ["check", str(minimal_path), "--year", "2013",
                                           "--format", "json"]).stdout)["findings"]
    finding = next(f for f in found if f["rule"] == "F403")
    for prefix in (finding["id"][:8], finding["id"].split("-")[1][:6]):
        result = runner.invoke(app, ["explain", prefix, str(minimal_path), "--year", "2013"])
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(finding["id"])


def _two_runs(minimal_path, tmp_path, second_text):
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    assert runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record"]).exit_code == 1
    changed = tmp_path / "changed.yaml"
    changed.write_text(second_text, encoding="utf-8")
    assert runner.invoke(app, ["load", str(changed), "--db", db]).exit_code == 0
    assert runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record"]).exit_code == 1
    return db


def test_diff_lists_only_what_changed_and_why(minimal_path, tmp_path):
    text = minimal_path.read_text(encoding="utf-8").replace(
        "deadline: 2013-11-30}", "deadline: 2013-11-30, closed_on: 2013-11-25}")
    db = _two_runs(minimal_path, tmp_path, text)
    table = runner.invoke(app, ["diff", "--db", db])
    assert table.exit_code == 0, table.output
    assert "已解决（2）" in table.stdout and "记录有变化" in table.stdout
    assert "另有 44 条问题没有变化，未列出（--all 显示）。" in table.stdout
    assert "没有变化（" not in table.stdout
    everything = runner.invoke(app, ["diff", "--db", db, "--all"])
    assert "没有变化（44）" in everything.stdout
    data = json.loads(runner.invoke(app, ["diff", "--db", db, "--format", "json"]).stdout)
    assert {f["reason"] for f in data["resolved"]} == {"记录有变化"}
    assert data["changed"] == []


def test_diff_says_when_a_policy_change_made_the_difference(minimal_path, tmp_path):
    db = _two_runs(minimal_path, tmp_path, minimal_path.read_text(encoding="utf-8"))
    assert runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record",
                               "--param", "I201.min=5", "--param", "I201.max=6"]).exit_code == 1
    data = json.loads(runner.invoke(app, ["diff", "--db", db, "--format", "json"]).stdout)
    assert data["new"] and {f["reason"] for f in data["new"]} == {"参数已更改"}
    assert {f["rule"] for f in data["new"]} == {"I201"}


def test_history_shows_local_time(minimal_path, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        db = f"sqlite:///{tmp_path / 'runs.db'}"
        assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
        runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record"])
        listing = runner.invoke(app, ["history", "--db", db])
        now = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))
        assert "时间（UTC+08:00）" in listing.stdout
        assert now.strftime("%Y-%m-%d %H:") in listing.stdout
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize("damage", [
    "findings = '{\"x\": 1}'",  # JSON of the wrong shape
    "findings = '[{\"id\": '",  # not JSON at all: JSONDecodeError escaped as an internal error
    "triggers = 'not json'", "params = '[1]'", "findings = '[{\"id\": \"f\"}]'"])
def test_a_damaged_run_record_is_named_not_a_traceback(minimal_path, tmp_path, damage):
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'runs.db'}"
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    for _ in range(2):
        runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record"])
    engine = sa.create_engine(db)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE runs SET {damage} WHERE id = 1"))
    engine.dispose()
    for command in (["history"], ["diff"], ["diff", "1", "2"], ["rerun", "1"],
                    ["notices", "--run", "1", "--out", str(tmp_path / "out")]):
        result = runner.invoke(app, [*command, "--db", db])
        assert result.exit_code == 2, (command, result.output)
        assert "检查记录 1: C003 数据库中的这条记录已损坏" in result.output, (command, result.output)
        assert "luoshi verify" in result.output and "内部错误" not in result.output
    # The other run is still there to use, and verify names the damaged one.
    assert runner.invoke(app, ["rerun", "2", "--db", db]).exit_code == 0
    verified = runner.invoke(app, ["verify", "--db", db])
    assert verified.exit_code == 1 and "检查记录 1：内容在 luoshi 之外被改动" in verified.output


def test_a_damaged_value_in_the_database_is_named_not_an_internal_error(minimal_path, tmp_path):
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'facts.db'}"
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    engine = sa.create_engine(db)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE inspections SET date = 'not a date'"))
    engine.dispose()
    result = runner.invoke(app, ["check", "--year", "2013", "--db", db, "--format", "json"])
    assert result.exit_code == 2, result.output
    assert "C003 数据库中的数据已损坏" in result.output and "内部错误" not in result.output


@pytest.mark.parametrize("damage", ["counts = '{\"units\": '", "files = '{\"x\": 1}'",
                                    "counts = '{\"units\": 3}'"])
def test_a_damaged_load_record_is_named_not_a_traceback(minimal_path, tmp_path, damage):
    """A load's counts edited in SQL into broken JSON: `luoshi submissions` was an internal
    error (AttributeError); the portal's pages that list submissions a generic 500."""
    import sqlalchemy as sa

    db = f"sqlite:///{tmp_path / 'loads.db'}"
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    engine = sa.create_engine(db)
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE loads SET {damage} WHERE id = 1"))
    engine.dispose()
    result = runner.invoke(app, ["submissions", "--db", db])
    assert result.exit_code == 2, result.output
    assert "导入 1: C003 数据库中的这条记录已损坏" in result.output and "luoshi verify" in result.output
    assert runner.invoke(app, ["check", "--db", db, "--year", "2013"]).exit_code == 1  # still checks
    verified = runner.invoke(app, ["verify", "--db", db])
    assert verified.exit_code == 1 and "导入 1：内容在 luoshi 之外被改动" in verified.output
