"""Waivers: applied, expired, stale; nothing chains from a waived finding; bad files refused."""

import json

from typer.testing import CliRunner

from luoshi.cli.main import app

from .checking import problem_lines

runner = CliRunner()
WAIVERS = """\
- {rule: F403, unit: u-edu, subject: rect-1, reason: 已报批延期, approved_by: 市纪委常委会, expires: 2014-03-31}
- {rule: R105, unit: u-edu, subject: u-edu, reason: 机构改革, approved_by: 市纪委, expires: 2013-06-30}
- {rule: L502, unit: u-jw, subject: u-jw, reason: 无此问题, approved_by: 市纪委, expires: 2014-12-31}
"""


def _check(minimal_path, waivers_path, *args):
    result = runner.invoke(app, ["check", str(minimal_path), "--year", "2013", "--format", "json",
                                 "--waivers", str(waivers_path), *args])
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else None


def test_waived_finding_raises_no_trigger_and_nothing_chains(minimal_path, tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS, encoding="utf-8")
    _, data = _check(minimal_path, path)
    subjects = {(f["rule"], f["subject"]) for f in data["findings"]}
    assert ("F403", "rect-1") not in subjects and ("A308", "rect-1") not in subjects
    assert ("A308", "mc-1") in subjects  # other chains are untouched
    assert all(t["basis"] != "rect-1" for t in data["triggers"])
    assert data["waived"] == [{"rule": "F403", "unit": "u-edu", "subject": "rect-1",
                               "id": data["waived"][0]["id"],
                               "waiver": {"reason": "已报批延期", "approved_by": "市纪委常委会",
                                          "expires": "2014-03-31"}}]
    assert data["waivers"] == {
        "applied": 1,
        "expired": [{"rule": "R105", "unit": "u-edu", "subject": "u-edu", "expires": "2013-06-30"}],
        "stale": [{"rule": "L502", "unit": "u-jw", "subject": "u-jw"}],
    }
    assert ("R105", "u-edu") in subjects  # an expired waiver's finding counts again


def test_waiver_applies_up_to_and_including_its_expiry(minimal_path, tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS.replace("2013-06-30", "2013-12-31"), encoding="utf-8")
    _, data = _check(minimal_path, path)
    assert ("R105", "u-edu") not in {(f["rule"], f["subject"]) for f in data["findings"]}
    assert data["waivers"]["expired"] == []


def test_malformed_waivers_are_refused_at_their_line(minimal_path, tmp_path):
    path = tmp_path / "waivers.yaml"
    path.write_text("- {rule: F403, unit: u-edu, subject: rect-1, expires: 2014-13-01}\n"
                    "- {rule: f403, subject: x, reason: r, approved_by: a, expires: 2014-01-01}\n",
                    encoding="utf-8")
    result, _ = _check(minimal_path, path)
    assert result.exit_code == 2
    lines = problem_lines(result)
    assert any(f"{path}:1:" in line and "reason：必填" in line for line in lines)
    assert any(f"{path}:1:" in line and "approved_by：必填" in line for line in lines)
    assert any(f"{path}:1:" in line and "expires" in line and "不存在" in line for line in lines)
    assert any(f"{path}:2:" in line and "rule" in line for line in lines)
    assert all(" W101 " in line for line in lines)
    path.write_text("rule: F403\n", encoding="utf-8")
    assert _check(minimal_path, path)[0].exit_code == 2
