"""`luoshi upcoming`: what check as of D+N gives and check as of D does not, with due dates."""

import datetime as dt
import json

import pytest
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.language.policy import load_catalog
from luoshi.engine.plan.compile import compile_catalog
from luoshi.engine.runtime.upcoming import upcoming
from luoshi.facts.factset import rows_of
from luoshi.facts.validate import read_facts

runner = CliRunner()

# One rectification whose deadline is three days after the reminder's day.
DEADLINE_IN_THREE_DAYS = """\
units:
  - {id: u-1, name: 市教育局, kind: department}
persons:
  - {id: p-1, name: 吴静, unit: u-1}
rectifications:
  - {id: rect-1, unit: u-1, person: p-1, problem: 收费公示栏未设置, deadline: 2013-06-13}
"""


@pytest.fixture
def deadline_facts(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text(DEADLINE_IN_THREE_DAYS, encoding="utf-8")
    return path


def reminder(*args):
    result = runner.invoke(app, ["upcoming", *map(str, args), "--format", "json"])
    assert result.exit_code == 0, result.output  # a reminder is not a finding: never 1
    return json.loads(result.stdout)


def checked(path, as_of):
    result = runner.invoke(app, ["check", str(path), "--year", "2013", "--as-of", as_of,
                                 "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_deadline_three_days_ahead_is_in_a_week_and_not_in_two_days(deadline_facts):
    data = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-10",
                            "--days", "7")
    assert (data["as_of"], data["until"]) == ("2013-06-10", "2013-06-17")
    [finding] = data["upcoming"]
    assert (finding["rule"], finding["subject"], finding["due_on"]) == (
        "F403", "rect-1", "2013-06-13")
    assert finding["unit"] == "u-1" and finding["evidence"][0]["id"] == "rect-1"
    [trigger] = data["triggers"]
    assert (trigger["type"], trigger["basis"], trigger["due"]) == (
        "accountability", "rect-1", "2013-07-13")
    data = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-10",
                            "--days", "2")
    assert data["upcoming"] == [] and data["triggers"] == []


def test_the_window_counts_today_so_a_deadline_on_its_last_day_is_not_yet_due(deadline_facts):
    # On its deadline a rectification is still in time: check reports it the day after.
    for days, expected in ((3, []), (4, ["rect-1"])):
        data = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-10",
                           "--days", str(days))
        assert [f["subject"] for f in data["upcoming"]] == expected
    today = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-13", "--days", "1")
    assert [f["due_on"] for f in today["upcoming"]] == ["2013-06-13"]


def test_upcoming_is_the_difference_of_two_checks(example_path):
    """On the bundled example: exactly what check as of D+N adds to check as of D."""
    data = reminder(example_path, "--year", "2013", "--as-of", "2013-09-25", "--days", "40")
    now, later = checked(example_path, "2013-09-25"), checked(example_path, "2013-11-04")
    before = {f["id"] for f in now["findings"]}
    assert sorted(f["id"] for f in data["upcoming"]) == sorted(
        f["id"] for f in later["findings"] if f["id"] not in before)
    raised = {(t["type"], t["rule"], t["basis"], t["target_unit"]) for t in now["triggers"]}
    assert data["triggers"] == [t for t in later["triggers"]
                                if (t["type"], t["rule"], t["basis"], t["target_unit"]) not in raised]
    assert len(data["upcoming"]) == 8 and len(data["triggers"]) == 5
    # Each finding carries what check will say of it, plus the day it falls due.
    by_id = {f["id"]: f for f in later["findings"]}
    for finding in data["upcoming"]:
        assert {k: v for k, v in finding.items() if k != "due_on"} == by_id[finding["id"]]
    deadlines = {r["id"]: str(r.get("deadline")) for r in yaml.safe_load(
        example_path.read_text(encoding="utf-8"))["rectifications"]}
    due = {(f["rule"], f["subject"]): f["due_on"] for f in data["upcoming"]}
    assert due[("F403", "cb-rect03")] == deadlines["cb-rect03"] == "2013-09-30"
    assert due[("F403", "cb-rect02")] == deadlines["cb-rect02"] == "2013-10-31"
    # A308 is decided by its accountability's due date (the F403 trigger of cb-rect03).
    assert due[("A308", "cb-rect03")] == "2013-10-30"
    # Published 30 days after the inspection at the latest (I208: $as_of > s.date + 30 days).
    assert due[("I208", "cb-ins04")] == "2013-10-16"
    # Raised by a record dated in the window, not by a deadline: no due date.
    assert due[("A305", "cb-mc03")] is None
    # Dated findings first, by date.
    dates = [f["due_on"] for f in data["upcoming"] if f["due_on"]]
    assert dates == sorted(dates) and data["upcoming"][-1]["due_on"] is None


def test_across_the_year_end_and_the_year_end_appraisal(minimal_path):
    data = reminder(minimal_path, "--year", "2013", "--as-of", "2013-12-25")
    assert data["until"] == "2014-01-01"  # seven days by default
    due = {(f["rule"], f["subject"]): f["due_on"] for f in data["upcoming"]}
    assert due[("A308", "rect-1")] == "2013-12-30"  # F403's accountability due 30 days on
    assert due[("A301", "u-xa")] is None  # due at the year's end: not a record's date
    assert [t["type"] for t in data["triggers"]] == ["re_accountability"]


def test_a_waiver_running_out_is_a_reminder_due_on_its_expiry(minimal_path, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("- {rule: F403, unit: u-edu, subject: rect-1, reason: 机构调整,"
                       " approved_by: 市纪委常委会, expires: 2013-12-03}\n", encoding="utf-8")
    data = reminder(minimal_path, "--year", "2013", "--as-of", "2013-12-01",
                       "--waivers", waivers)
    due = {(f["rule"], f["subject"]): f["due_on"] for f in data["upcoming"]}
    assert due == {("F403", "rect-1"): "2013-12-03"}
    without = reminder(minimal_path, "--year", "2013", "--as-of", "2013-12-01")
    assert without["upcoming"] == []  # reported already on 1 December


def test_unit_keeps_one_units_reminders(example_path):
    data = reminder(example_path, "--year", "2013", "--as-of", "2013-09-25", "--days", "40",
                       "--unit", "cb-kfq")
    assert {f["unit"] for f in data["upcoming"]} == {"cb-kfq"}
    assert {t["target_unit"] for t in data["triggers"]} == {"cb-kfq"}
    result = runner.invoke(app, ["upcoming", str(example_path), "--year", "2013", "--as-of",
                                 "2013-09-25", "--unit", "cb-nope"])
    assert result.exit_code == 2 and "cb-nope" in result.stderr


def test_from_the_database_as_from_the_files(example_path, tmp_path):
    db = str(tmp_path / "x.db")
    assert runner.invoke(app, ["load", str(example_path), "--db", db]).exit_code == 0
    args = ["--year", "2013", "--as-of", "2013-09-25", "--days", "40"]
    assert reminder("--db", db, *args) == reminder(example_path, *args)


def test_days_from_the_settings_file(deadline_facts, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "luoshi.toml").write_text("[upcoming]\ndays = 2\n", encoding="utf-8")
    data = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-10")
    assert data["until"] == "2013-06-12" and data["upcoming"] == []
    data = reminder(deadline_facts, "--year", "2013", "--as-of", "2013-06-10", "--days", "7")
    assert data["until"] == "2013-06-17"  # the command line wins
    (tmp_path / "luoshi.toml").write_text("[upcoming]\ndays = 0\n", encoding="utf-8")
    result = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", "2013", "--as-of",
                                 "2013-06-10"])
    assert result.exit_code == 2
    assert "luoshi.toml:2: C001 [upcoming] days 应为 1 到 366 之间的整数" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--as-of", "2013-06-10", "--days", "0"], "--days: C001 天数应为正整数"),
    (["--as-of", "2012-12-30"], "--as-of: C001 检查日 2012-12-30 早于 2013 年 1 月 1 日"),
    (["--as-of", "2013-06-10", "--format", "xml"], "--format: C001 未知的输出格式 xml"),
])
def test_bad_input_exits_2_with_a_chinese_message(deadline_facts, args, message):
    result = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", "2013", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message) and "Traceback" not in result.output


def test_without_as_of_it_starts_today(deadline_facts):
    today = dt.date.today()
    result = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", str(today.year),
                                 "--format", "json"])
    assert json.loads(result.stdout)["as_of"] == today.isoformat()
    ahead = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", str(today.year + 1)])
    assert ahead.exit_code == 2 and "请用 --as-of 给出提醒的起算日" in ahead.stderr
    # A year is checked again years later too (rules.md): today is then the start.
    later = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", "2013", "--format", "json"])
    assert later.exit_code == 0 and json.loads(later.stdout)["as_of"] == today.isoformat()


def test_the_table_in_chinese(deadline_facts):
    result = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", "2013", "--as-of",
                                 "2013-06-10", "--format", "table"])
    assert result.exit_code == 0
    text = result.stdout
    assert "临近提醒 2013 年度：2013-06-10 之后 7 天内（至 2013-06-17）到期的事项" in text
    assert "将到期的问题" in text and "2013-06-13" in text and "市教育局（u-1）" in text
    assert "将产生的问责触发" in text and "2013-07-13" in text and "吴静" in text
    quiet = runner.invoke(app, ["upcoming", str(deadline_facts), "--year", "2013", "--as-of",
                                "2013-06-10", "--days", "2", "--format", "table"])
    assert quiet.exit_code == 0 and "2 天内没有新到期的问题或问责触发" in quiet.stdout


def test_the_function_the_portal_calls(deadline_facts):
    rows = rows_of(read_facts([str(deadline_facts)])[0])
    program = compile_catalog(load_catalog())
    data = upcoming(rows, program, 2013, dt.date(2013, 6, 10), 7)
    assert set(data) == {"as_of", "until", "upcoming", "triggers"}
    assert [f["due_on"] for f in data["upcoming"]] == ["2013-06-13"]
    assert upcoming(rows, program, 2013, dt.date(2013, 6, 10), 7, units=["u-2"])["upcoming"] == []
    json.dumps(data)  # plain JSON values only


def test_a_units_reminders_check_only_that_unit(deadline_facts, monkeypatch):
    """A unit's reminders (its 首页 in the portal) spare the other units' work in every check
    they run, the bisection's included: at a few hundred units checking the whole city for one
    unit's page made its p99 several seconds under load (docs/performance.md)."""
    from luoshi.engine.runtime import run

    rows = rows_of(read_facts([str(deadline_facts)])[0])
    program = compile_catalog(load_catalog())
    whole = upcoming(rows, program, 2013, dt.date(2013, 6, 10), 7)
    asked: list[object] = []
    real_check = run.check

    def check(*args, **kwargs):
        asked.append(kwargs.get("units"))
        return real_check(*args, **kwargs)

    monkeypatch.setattr(run, "check", check)
    mine = upcoming(rows, program, 2013, dt.date(2013, 6, 10), 7, units=["u-1"])
    assert len(asked) >= 3 and all(units == ["u-1"] for units in asked)  # now, later, bisection
    assert mine["upcoming"] == [f for f in whole["upcoming"] if f["unit"] == "u-1"] != []
