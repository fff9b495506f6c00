"""A YAML mistake reads in Chinese, at its file:line, in facts, policy and waiver files alike,
with libyaml's parser and with PyYAML's own (the fallback where libyaml is not installed)."""

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app

from .checking import problem_lines

MINIMAL = Path(__file__).parent / "golden" / "minimal" / "facts.yaml"

# Each mistake a clerk can make in a YAML file, and the line (1-based) the message must name.
MISTAKES = {
    "a value with a colon": ("units:\n  - id: u1\n    name: 市纪委: 办公室\n", 3),
    "a tab in the indentation": ("units:\n  - id: u1\n\tname: 市纪委\n", 3),
    "a key out of line": ("units:\n  - id: u1\n    name: 甲\n   kind: x\n", 4),
    "a list item out of line": ("units:\n  - id: u1\n  x: 1\n", 3),
    "an unclosed quote": ('units:\n  - id: u1\n    name: "市纪委\n', 4),
    "an unclosed brace": ("units:\n  - {id: u1, name: 甲\n  - {id: u2}\n", 3),
    "an unclosed bracket": ("units: [a, b\n", 2),
    "a key without colon": ("units:\n  - id: u1\n    name\n    kind: x\n", 4),
    "an @ at the start": ("units:\n  - id: u1\n    name: @市纪委\n", 3),
    "a backquote at the start": ("units:\n  - id: u1\n    name: `x`\n", 3),
    "a bad escape": ('units:\n  - id: u1\n    name: "C:\\data"\n', 3),
    "a percent line": ("%YAML 9.9\n---\nunits: []\n", 1),
    "a tag handle": ("units:\n  - id: !x!y u1\n", 2),
    "an empty anchor": ("units:\n  - id: &\n", 2),
    "a block scalar header": ("units:\n  - name: |0\n     甲\n", 2),
    "text after a quoted value": ('units:\n  - name: "甲" 乙\n', 2),
    "a document separator in a quote": ('units:\n  - name: "甲\n---\n"\n', 3),
    "a control character": ("units:\n  - id: u1\n    name: 市纪委\x07\n", 3),
    "a non-character": ("units:\n  - id: u1\n    name: 市纪委\ufffe\n", 3),
}

# Words a Chinese message may carry as they are: names of things, not English prose.
_NAMES = re.compile(r"YAML|Tab|UTF-8|Excel|WPS|xlsx|U\+[0-9A-F]{4}")


def _english(line):
    return re.findall(r"[A-Za-z]{3,}", _NAMES.sub("", line.split(" ", 2)[-1]))


@pytest.fixture(params=["libyaml", "pyyaml"])
def parser(request, monkeypatch):
    if request.param == "pyyaml":
        monkeypatch.setattr("luoshi.facts.yaml_reader._Parser", yaml.SafeLoader)
    return request.param


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_facts_file_mistake_is_chinese_at_its_line(mistake, parser, tmp_path):
    text, line = MISTAKES[mistake]
    path = tmp_path / "facts.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (first, *_) = problem_lines(result)
    assert first.startswith(f"{path}:{line}:") and (" E101 " in first or " E106 " in first), first
    assert _english(first) == [], first


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_a_policy_or_waiver_file_mistake_is_chinese_at_its_line(mistake, parser, tmp_path):
    text, line = MISTAKES[mistake]
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "local.yaml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013",
                                      "--policies", str(tmp_path / "policies")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (first, *_) = problem_lines(result)
    assert f"local.yaml:{line}:" in first and " P101 " in first and _english(first) == [], first
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013",
                                      "--waivers", str(waivers)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (first, *_) = problem_lines(result)
    assert first.startswith(f"{waivers}:{line}:") and " W101 " in first, first
    assert _english(first) == [], first


def test_a_message_the_table_does_not_know_is_still_chinese_first():
    from luoshi.facts.yaml_errors import describe

    error = yaml.MarkedYAMLError(problem="some future libyaml words",
                                 problem_mark=yaml.Mark("x", 12, 1, 2, None, None))
    line, column, message = describe(error, "a: 1\nb: 2\n")
    assert (line, column) == (2, 3)
    assert message == "YAML 语法有误（some future libyaml words）"


def test_an_unreadable_file_names_its_reason_in_chinese(tmp_path):
    """The operating system's reason was its English ("Is a directory") alone."""
    waivers = tmp_path / "waivers.yaml"
    waivers.mkdir()
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013",
                                      "--waivers", str(waivers)])
    assert result.exit_code == 2
    assert "W101 豁免文件无法读取：这是一个文件夹，不是文件（Is a directory）" in result.stderr

