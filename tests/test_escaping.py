"""Every hostile value of tests/bad_outputs.yaml, in every output format: no forged structure,
no escape sequence, no markup read, no crash; and every hostile template refused (T101)."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree
from xml.sax.saxutils import quoteattr

import pytest
import yaml
from docx import Document as Docx
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime.results import Evidence, Finding, Report, Trigger
from luoshi.outputs import appraisal, documents, ranking
from luoshi.outputs.formats import github, junit, markdown, table
from luoshi.outputs.notices import Block, Document, Item

CASES = yaml.safe_load((Path(__file__).parent / "bad_outputs.yaml").read_text(encoding="utf-8"))
VALUES = {**CASES["values"], "lone-surrogate": "前\ud800后\udfff"}
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
runner = CliRunner()


def _report(value: str) -> tuple[Report, SimpleNamespace]:
    evidence = [Evidence("units", value, f"{value}.yaml:3:5")]
    findings = [Finding("R105-000000000001", "R105", "error", "二(一)", value, value, value, evidence),
                Finding("I204-000000000002", "I204", "warning", "二(二)", value, value,
                        f"{value} 缺少 {value}", evidence)]
    triggers = [Trigger("accountability", "R105", value, value, value, dt.date(2013, 10, 1),
                        value, findings[0].id)]
    report = Report(2013, dt.date(2013, 12, 31), findings, triggers, [value], {},
                    {value: value})
    rule = SimpleNamespace(title=SimpleNamespace(zh=value))
    return report, SimpleNamespace(rules={"R105": rule, "I204": rule}, overrides={})


@pytest.mark.parametrize("name", list(VALUES))
def test_markdown_keeps_its_rows_and_cells(name):
    report, catalog = _report(VALUES[name])
    text = markdown.render(report, catalog)
    lines = text.splitlines()
    assert sum(line.startswith("#") for line in lines) == 2  # the title and 问责触发
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == 2 + 2 + 2 + 1  # two headers, two separators, two findings, one trigger
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)
        assert len(cells) in (8, 9), row  # 6 or 7 cells between the pipes
    assert not re.search(r"(?<!\\)[<>\[\]`*]", text.replace("（", "")), text
    assert not CONTROL.search(text) and "\r" not in text


@pytest.mark.parametrize("name", list(VALUES))
def test_github_annotations_stay_one_per_finding(name):
    report, catalog = _report(VALUES[name])
    lines = github.render(report, catalog).split("\n")[:-1]
    assert len(lines) == 2
    for line in lines:
        match = re.match(r"^::(error|warning) ([^:]*)::(.*)$", line)
        assert match, line
        properties = dict(part.split("=", 1) for part in match[2].split(","))
        assert set(properties) <= {"file", "line", "col", "title"}, properties
        assert "\r" not in line and not CONTROL.search(line)


@pytest.mark.parametrize("name", list(VALUES))
def test_junit_is_well_formed(name):
    report, catalog = _report(VALUES[name])
    suite = ElementTree.fromstring(junit.render(report, catalog).encode("utf-8"))
    assert suite.get("failures") == "2" and len(suite.findall(".//failure")) == 2


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001 (HTMLParser's signature)
        self.tags.append(tag)


@pytest.mark.parametrize("name", list(VALUES))
def test_html_report_adds_no_tag(name):
    report, catalog = _report(VALUES[name])
    page = appraisal.html(report, ranking.rank(report), ranking.DEFAULT_WEIGHTS, catalog)
    clean, _ = _report("单位")
    baseline = appraisal.html(clean, ranking.rank(clean), ranking.DEFAULT_WEIGHTS, _report("单位")[1])
    tags, expected = _Tags(), _Tags()
    tags.feed(page)
    expected.feed(baseline)
    assert tags.tags == expected.tags
    assert not CONTROL.search(page)


@pytest.mark.parametrize("name", list(VALUES))
@pytest.mark.parametrize("colour", [False, True])
def test_terminal_table_prints_values_as_they_are(name, colour):
    report, catalog = _report(VALUES[name])
    text = table.render(report, catalog, width=100, colour=colour)
    ours = re.sub(r"\x1b\[[0-9;]*m", "", text) if colour else text
    assert "\x1b" not in ours and not CONTROL.search(ours.replace("\n", ""))
    if name == "rich-close":
        assert "[/]" in text  # shown, not read as markup
    if name == "rich-markup":
        assert "[bold red]加粗[/bold" in ours  # shown, not read as markup


def _document(value: str) -> Document:
    return Document(
        "rectification_notice", "整改通知书", "001-x", value, f"{value}〔2013〕1号", value,
        f"{value}：", value, [Block(1, value), Block(0, value)], value, value,
        [Item(1, value, "问题", value, "二(一)", value, value, value)], value, value, [value],
        value, value)


@pytest.mark.parametrize("name", list(VALUES))
@pytest.mark.parametrize("fmt", documents.FORMATS)
def test_notices_keep_their_structure(name, fmt, tmp_path):
    value = VALUES[name]
    written = documents.write([_document(value)], tmp_path, fmt, value)
    path = written[0]
    if fmt == "docx":
        text = "\n".join(p.text for p in Docx(str(path)).paragraphs)
        assert not CONTROL.search(text)
        assert len(Docx(str(path)).tables[0].rows) == 2  # the header and one item
        return
    text = path.read_text(encoding="utf-8")
    assert not CONTROL.search(text) and "\r" not in text
    if fmt == "md":
        lines = text.splitlines()
        assert sum(line.startswith("#") for line in lines) == 2  # the title, the attachment
        assert sum(line.startswith("|") for line in lines) == 3
    else:
        tags = _Tags()
        tags.feed(text)
        assert "script" not in tags.tags and "img" not in tags.tags and "b" not in tags.tags


def test_hostile_names_end_to_end(tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        'units: [{id: u-1, name: "[/]<b>单位</b> | # x", kind: county}]\n'
        'institutions: [{id: i-1, title: "[bold]制度[/bold] `x` *y*", source: municipal, '
        "lead_unit: u-1}]\n", encoding="utf-8")
    for fmt in ("table", "markdown", "github", "junit", "json"):
        result = runner.invoke(app, ["check", str(facts), "--year", "2013", "--format", fmt])
        assert result.exit_code == 1, (fmt, result.output)
    assert "[/]<b>单位</b>" in runner.invoke(app, ["check", str(facts), "--year", "2013",
                                                  "--format", "table"]).stdout
    for fmt in documents.FORMATS:
        result = runner.invoke(app, ["notices", str(facts), "--year", "2013", "--out",
                                     str(tmp_path / fmt), "--format", fmt])
        assert result.exit_code == 0, (fmt, result.output)


@pytest.mark.parametrize("name", list(CASES["templates"]))
@pytest.mark.parametrize("fmt", ["md", "html", "docx"])
def test_a_template_cannot_reach_python(name, fmt, minimal_path, tmp_path):
    source = CASES["templates"][name]
    folder = tmp_path / "templates"
    folder.mkdir()
    if fmt == "docx":
        word = Docx()
        word.add_paragraph(source)
        word.save(str(folder / "document.docx"))
    else:
        (folder / f"document.{fmt}.j2").write_text(source, encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                 str(out), "--format", fmt, "--templates", str(folder)])
    assert result.exit_code == 2, result.output
    assert "T101" in result.stderr and "Traceback" not in result.output
    assert str(folder / f"document.{'docx' if fmt == 'docx' else fmt + '.j2'}") in result.stderr
    assert not out.exists()  # nothing written


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaping_holds_for_any_text(value):
    from luoshi.outputs import escape

    cell = escape.markdown(value)
    assert "\n" not in cell and "\r" not in cell and not re.search(r"(?<!\\)[|<>\[\]`*_]", cell)
    assert not re.match(r"\s*(#|[-+=>]|\d+[.)])", cell)  # it cannot start a block
    for annotation in (escape.annotation_message(value), escape.annotation_property(value)):
        assert "\n" not in annotation and "\r" not in annotation
    assert ":" not in escape.annotation_property(value) and "," not in escape.annotation_property(value)
    plain = escape.terminal(value).plain
    assert not CONTROL.search(plain) and "\n" not in plain
    ElementTree.fromstring(f"<a b={quoteattr(escape.xml(value))}>x</a>".encode())
