"""The policy language under random input: any expression in a rule either is refused at its
file:line (exit 2, a P-code) or gives a result; never a traceback, an internal error or a hang."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from luoshi.cli.main import app

MINIMAL = Path(__file__).parent / "golden" / "minimal" / "facts.yaml"
RULE = """mechanism: local
clause: 二(一)
title: {{zh: 本地规则, en: Local rules}}
rules:
  - id: X901
    name: local-rule
    severity: warning
    clause: 二(一)
    title: {{zh: 本地规则, en: Local rule}}
    match: {{u: {match}}}
    finding: {{unit: u.id, subject: u.id, message: {message}}}
    doc:
      checks: 检查
      why: 原因
      fail: {{facts: "units: []", gives: [x]}}
      pass: {{facts: "units: []"}}
"""

FIELDS = ["u.id", "u.name", "u.kind", "u.responsible", "u.leader", "u.main_leader", "u.nosuch",
          "u.organ.name", "$year", "$as_of", "$nosuch", "$accountability_days"]
CONSTANTS = ["1", "0", "-3", "2.5", "'county'", "'市纪委'", "true", "null", "[1, 'a']", "[]",
             "99999999999999999999"]
AGGREGATES = ["count(tasks as t where t.unit == u.id)", "exists(units as x where x.id == u.leader)",
              "values(inspections as s where s.organizer == u.id, s.kind)",
              "count(nosuch as n)"]


def expressions() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(FIELDS + CONSTANTS + AGGREGATES)
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["==", "!=", "<", ">=", "+", "-", "and", "or", "in",
                                          "contains"]), inner).map(" ".join),
        inner.map(lambda e: f"not ({e})"),
        inner.map(lambda e: f"({e}) is null"),
        inner.map(lambda e: f"{e} days"),
        st.tuples(st.sampled_from(["len", "coalesce", "missing", "in_year", "between", "latest",
                                   "only", "concat", "if", "nosuch"]),
                  st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
    ), max_leaves=8) | st.text(max_size=30)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\\\", "\\\\\\\\").replace('"', '\\\\"') + '"'


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=expressions(), message=st.sampled_from(["{u.name}", "{u.nosuch}", "{len(u.id, 1)}",
                                                        "{u.name + 1}", "{", "text"]))
def test_any_policy_expression_is_refused_clearly_or_checked(tmp_path, condition, message):
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "local.yaml").write_text(RULE.format(match=_quoted(f"units where {condition}"),
                                                   message=_quoted(message)), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--format", "json",
                                      "--policies", str(folder), "--select", "X9"])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "内部错误" not in result.output, result.output
    if result.exit_code == 2:
        assert "local.yaml:" in result.output and ": P" in result.output, result.output
