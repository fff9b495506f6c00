"""Values that look like Rich markup (`[/]`, `[bold]`) are shown as they are by every command
that prints a table or a line: never taken for markup, never a crash (issue 13)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from luoshi.cli.main import app

FACTS = """units:
  - {id: u-1, name: "[bold]市教育局[/]", kind: department}
  - {id: u-2, name: "[/]纪委", kind: discipline}
institutions: [{id: i-1, title: "[red]办法[/red]", source: municipal, lead_unit: u-1}]
"""


def test_markup_in_values_is_text_everywhere(tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text(FACTS, encoding="utf-8")
    db = str(tmp_path / "h.db")
    runner = CliRunner()
    finding = json.loads(runner.invoke(app, ["check", str(facts), "--year", "2013", "--format",
                                             "json"]).stdout)["findings"][0]["id"]
    for args in (["validate", str(facts)], ["load", str(facts), "--db", db],
                 ["check", str(facts), "--year", "2013", "--format", "table"],
                 ["check", "--db", db, "--year", "2013", "--record", "--format", "json"],
                 ["check", "--db", db, "--year", "2013", "--record", "--format", "json"],
                 ["history", "--db", db], ["diff", "--db", db, "--all"],
                 ["submissions", "--db", db], ["changes", "--db", db],
                 ["explain", finding, str(facts), "--year", "2013"], ["rules"]):
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert "内部错误" not in result.output and "Traceback" not in result.output, args
    shown = runner.invoke(app, ["check", str(facts), "--year", "2013", "--format", "table"]).stdout
    assert "[bold]市教育局[/]" in shown
    assert "[/]纪委" in runner.invoke(app, ["changes", "--db", db]).stdout


POLICY = """mechanism: local
clause: 二(一)
title: {zh: "本地[/]规则", en: Local rules}
rules:
  - id: X901
    name: local-rule
    severity: warning
    clause: 二(一)
    title: {zh: "[bold]本地规则[/] :warning:", en: "Local [/] rule"}
    match: {u: "units where u.kind == 'county'"}
    finding: {unit: u.id, subject: u.id, message: "{u.name}"}
    doc:
      checks: "检查 [red]"
      why: 原因
      fail: {facts: "units: []", gives: [x]}
      pass: {facts: "units: []"}
"""


def test_markup_in_a_policy_title_or_a_path_is_shown_as_written(tmp_path, minimal_path):
    """Issue 21: a policy title with `[/]` ended `rules` in MarkupError, as did a `--db` path
    with `[/]` in `load` (after storing); `:warning:` became an emoji."""
    folder = tmp_path / "库[/]:warning:"
    (folder / "策略").mkdir(parents=True)
    (folder / "策略" / "local.yaml").write_text(POLICY, encoding="utf-8")
    db, policies = str(folder / "l.db"), str(folder / "策略")
    runner = CliRunner()
    expected = {
        ("rules", "--policies", policies): "[bold]本地规则[/] :warning:",
        ("rules", "--policies", policies, "show", "X901"): "[bold]本地规则[/] :warning:",
        ("load", str(minimal_path), "--db", db): f"已导入 sqlite:///{db}",
        ("validate", str(minimal_path)): "校验通过",
        ("template", "--out", str(folder / "t.xlsx")): f"已生成模板 {folder / 't.xlsx'}",
        ("demo", "--units", "2", "--out", str(folder / "demo")): f"已生成 {folder / 'demo'}",
        ("check", str(minimal_path), "--year", "2013", "--policies", policies, "--select",
         "X9", "--config", str(folder / "none.toml")): f"{folder / 'none.toml'}: C001",
    }
    for args, words in expected.items():
        result = runner.invoke(app, list(args))
        assert result.exit_code in (0, 2), (args, result.output)
        assert "内部错误" not in result.output and words in result.output, (args, result.output)
