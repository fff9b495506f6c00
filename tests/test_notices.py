"""Notices: one per unit with findings and one per trigger, read back from the DOCX; nothing of
another unit in any of them; safe file names; a real conversion where LibreOffice exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document as Docx
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.outputs import notices
from luoshi.facts.validate import read_facts

from .checking import catalog, program

runner = CliRunner()


def docx_text(path: Path) -> str:
    return "\n".join(paragraph.text for paragraph in Docx(str(path)).paragraphs)


@pytest.fixture(scope="module")
def minimal_notices(tmp_path_factory, minimal_path):
    out = tmp_path_factory.mktemp("notices")
    result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_one_notice_per_unit_with_findings_and_one_document_per_trigger(minimal_notices,
                                                                         minimal_path):
    files = sorted(path.name for path in minimal_notices.iterdir())
    assert files == [
        "001-整改通知书-市教育局.docx", "002-整改通知书-市纪委.docx", "003-整改通知书-咸安区.docx",
        "004-整改通知书-市委组织部.docx", "005-问责建议书-市教育局-mc-1.docx",
        "006-问责建议书-市教育局-mc-2.docx", "007-问责建议书-市教育局-rect-1.docx",
        "008-再问责建议书-市教育局-mc-1.docx", "009-再问责建议书-市教育局-mc-2.docx",
        "010-再问责建议书-市教育局-rect-1.docx", "index.docx"]
    notice = docx_text(minimal_notices / "001-整改通知书-市教育局.docx")
    assert notice.splitlines()[:3] == ["市纪委", "市纪委整改〔2013〕1号", ""]
    assert "关于市教育局惩防体系制度落实问题限期整改的通知" in notice
    assert "2014年1月30日前将整改情况书面报送市纪委" in notice
    facts, _ = read_facts([str(minimal_path)])
    from luoshi.engine.runtime.run import check

    report = check(facts, program(), 2013)
    expected = sorted(f.rule for f in report.findings if f.unit == "u-edu")
    assert sorted(re.findall(r"规则 ([A-Z]\d{3})：", notice)) == expected
    assert "一、责任体系方面的问题（原文二(一)）" in notice
    re_accountability = docx_text(minimal_notices / "010-再问责建议书-市教育局-rect-1.docx")
    assert "关于对市教育局进行再问责的建议" in re_accountability
    assert "整改事项 rect-1（收费公示栏未设置，整改时限 2013-11-30）" in re_accountability
    index = docx_text(minimal_notices / "index.docx")
    assert len(re.findall(r"^\d+\. 整改通知书 ", index, re.M)) == 4
    assert len(re.findall(r"^\d+\. (问责建议书|预警通知|再问责建议书) ", index, re.M)) == 6


@pytest.mark.parametrize("which", ["minimal", "chibi"])
def test_a_document_carries_only_its_addressees_data(which, minimal_path, example_path,
                                                     tmp_path):
    path = minimal_path if which == "minimal" else example_path
    facts, _ = read_facts([str(path)])
    from luoshi.engine.runtime.run import check

    report = check(facts, program(), 2013)
    units = {r.fact.id: r.fact for r in facts.records["units"]}
    persons = [r.fact for r in facts.records["persons"]]
    for document in notices.build(report, catalog()):
        text = document.text()
        organ_names = {document.organ, document.signature}
        for unit_id, unit in units.items():
            if unit_id == document.unit or unit.name in organ_names:
                continue
            assert unit_id not in text, (document.file_stem, unit_id)
            assert unit.name not in text.replace(document.organ, ""), (document.file_stem, unit.name)
        for person in persons:
            if person.unit != document.unit:
                assert person.id not in text and person.name not in text, \
                    (document.file_stem, person.id)


def test_file_names_are_safe_whatever_a_units_name_contains(tmp_path):
    hostile = tmp_path / "facts.yaml"
    hostile.write_text(
        'units: [{id: u-1, name: "../../etc/passwd:*?<>|\\t单位", kind: county}]\n'
        "institutions: [{id: i-1, title: 制度, source: municipal, lead_unit: u-1}]\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["notices", str(hostile), "--year", "2013", "--out", str(out),
                                 "--format", "md"])
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in out.iterdir())
    assert all(path.parent == out for path in out.iterdir())
    assert names[0].startswith("001-整改通知书-") and "/" not in names[0] and ":" not in names[0]
    assert notices.safe_name('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"


def test_html_escapes_and_markdown_renders(minimal_path, tmp_path):
    for fmt in ("html", "md"):
        out = tmp_path / fmt
        assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                   str(out), "--format", fmt]).exit_code == 0
        assert (out / f"index.{fmt}").exists() and len(list(out.iterdir())) == 11
    page = (tmp_path / "html" / "001-整改通知书-市教育局.html").read_text(encoding="utf-8")
    assert '<div class="organ">市纪委</div>' in page and "http" not in page.replace(
        'charset="utf-8"', "")


def test_waived_findings_leave_the_notices(minimal_path, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- {rule: F403, unit: u-edu, subject: rect-1, reason: 延期, "
                       "approved_by: 市纪委, expires: 2014-03-31}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out),
                               "--waivers", str(waivers), "--format", "md"]).exit_code == 0
    names = [path.name for path in out.iterdir()]
    assert not any("rect-1" in name for name in names)
    assert "规则 F403" not in (out / "001-整改通知书-市教育局.md").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_docx_converts_to_pdf_with_the_chinese_text(minimal_notices, tmp_path):
    source = minimal_notices / "001-整改通知书-市教育局.docx"
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(source)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "001-整改通知书-市教育局.pdf"
    assert pdf.exists() and pdf.stat().st_size > 5000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "限期整改的通知" in text.replace("\n", "") and "市教育局" in text
