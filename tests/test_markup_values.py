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
