"""Notices: one per unit with findings, a city-level report of what no unit can be charged with,
one per trigger; numbered by a fixed order; plain words in the body and the codes in the
attached list; addressing that never sends a body its own document; deadlines that can be met;
the GB/T 9704 parts of the DOCX (page-number fields, 版记); a sandbox for templates."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document as Docx
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime.run import check
from luoshi.facts.validate import read_facts
from luoshi.outputs import notices

from .checking import catalog, program

runner = CliRunner()
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RULE_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Z]\d{3}(?![0-9])")


def docx_text(path: Path) -> str:
    return "\n".join(paragraph.text for paragraph in Docx(str(path)).paragraphs)


def _report(path: Path):
    facts, _ = read_facts([str(path)])
    return facts, check(facts, program(), 2013)


def _ids(facts) -> set[str]:
    return {record.fact.id for records in facts.records.values() for record in records
            if getattr(record.fact, "id", None)}


@pytest.fixture(scope="module")
def minimal_notices(tmp_path_factory, minimal_path):
    out = tmp_path_factory.mktemp("notices")
    result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_one_notice_per_unit_a_city_report_and_one_document_per_trigger(minimal_notices,
                                                                          minimal_path):
    files = sorted(path.name for path in minimal_notices.iterdir())
    assert files == [
        "001-整改通知书-市教育局.docx", "002-整改通知书-市纪委.docx", "003-整改通知书-咸安区.docx",
        "004-整改通知书-市委组织部.docx", "005-情况报告-市惩治和预防腐败体系建设领导小组.docx",
        "006-问责建议书-市教育局-mc-1.docx", "007-问责建议书-市教育局-mc-2.docx",
        "008-问责建议书-市教育局-rect-1.docx", "009-再问责建议书-市教育局-mc-1.docx",
        "010-再问责建议书-市教育局-mc-2.docx", "011-再问责建议书-市教育局-rect-1.docx",
        "index.docx"]
    notice = docx_text(minimal_notices / "001-整改通知书-市教育局.docx")
    assert notice.splitlines()[:3] == ["市惩防办", "", "市惩防办〔2013〕1号"]
    assert "关于市教育局惩防体系制度落实问题限期整改的通知" in notice
    assert "2014年1月15日前将整改情况书面报送市惩防办" in notice  # 31 Dec + 15 days
    numbers = [docx_text(minimal_notices / name).splitlines()[2] for name in files[:-1]]
    assert numbers == [f"市惩防办〔2013〕{n}号" for n in range(1, 12)]
    index = docx_text(minimal_notices / "index.docx")
    assert len(re.findall(r"^\d+\. 整改通知书 ", index, re.M)) == 4


def test_every_finding_reaches_the_office_and_the_unit_lists_only_what_it_must_fix(minimal_path):
    facts, report = _report(minimal_path)
    documents = notices.build(report, catalog())
    listed = {item.finding: document for document in documents for item in document.items}
    assert set(listed) == {f.id for f in report.findings}  # R101 and A308 included
    for finding in report.findings:
        document = listed[finding.id]
        if finding.unit is None:  # R101, F402 of an institution without a lead unit
            assert document.kind == "unassigned"
        elif finding.rule == "A308":  # the discipline organ acts on it, not the unit
            assert document.kind == "re_accountability" and document.addressee == "市纪委："
        else:
            assert document.kind in ("rectification_notice", "accountability",
                                     "warning_measure")
    city = next(d for d in documents if d.kind == "unassigned")
    assert city.addressee == "市惩治和预防腐败体系建设领导小组："
    assert "制度《公务接待管理办法》没有牵头单位，主抓责任无人承担。" in city.text()


@pytest.mark.parametrize("which", ["minimal", "chibi"])
def test_the_body_speaks_plainly_and_the_codes_are_in_the_attached_list(which, minimal_path,
                                                                       example_path):
    facts, report = _report(minimal_path if which == "minimal" else example_path)
    ids = _ids(facts)
    for document in notices.build(report, catalog()):
        body = "\n".join([document.title, document.addressee,
                          *(block.text for block in document.blocks), document.closing])
        assert not ISO_DATE.search(body), (document.file_stem, ISO_DATE.search(body))
        assert not RULE_CODE.search(body), (document.file_stem, RULE_CODE.search(body))
        words = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_.\-/]*[A-Za-z0-9]", body))
        assert not words & ids, (document.file_stem, words & ids)
        assert "（原文" not in body and "(" not in body  # no mixed brackets
        assert document.items and all(item.finding and item.rule for item in document.items)


@pytest.mark.parametrize("which", ["minimal", "chibi"])
def test_a_document_carries_only_the_data_of_the_unit_it_is_about(which, minimal_path,
                                                                  example_path):
    facts, report = _report(minimal_path if which == "minimal" else example_path)
    units = {r.fact.id: r.fact for r in facts.records["units"]}
    persons = [r.fact for r in facts.records["persons"]]
    for document in notices.build(report, catalog()):
        text = document.text() + "\n".join(item.text + item.records for item in document.items)
        allowed = {document.organ, document.addressee.rstrip("："), *document.cc}
        for unit_id, unit in units.items():
            if unit_id == document.unit or unit.name in allowed:
                continue
            assert unit_id not in text, (document.file_stem, unit_id)
            rest = text
            for name in allowed:
                rest = rest.replace(name, "")
            assert unit.name not in rest, (document.file_stem, unit.name)
        for person in persons:
            if person.unit != document.unit and document.unit is not None:
                assert person.id not in text and person.name not in text, \
                    (document.file_stem, person.id)


def test_no_body_is_addressed_to_itself_and_the_addressing_is_configurable(minimal_path,
                                                                           tmp_path):
    facts, report = _report(minimal_path)
    config = {"issuer": "u-jw", "机关代字": "咸纪", "first_number": 7,
              "addressing": {"superior": "中共咸宁市委"}, "cc": ["discipline_organ", "市委办公室"]}
    documents = notices.build(report, catalog(), config=config)
    assert all(d.addressee != f"{d.organ}：" for d in documents)
    assert {d.organ for d in documents} == {"市纪委"}
    assert documents[0].number == "咸纪〔2013〕7号"
    own = next(d for d in documents if d.kind == "rectification_notice" and d.unit == "u-jw")
    assert own.addressee == "中共咸宁市委："  # the 纪委's own problems go to its superior
    re_accountability = [d for d in documents if d.kind == "re_accountability"]
    assert re_accountability and all(d.addressee == "中共咸宁市委：" for d in re_accountability)
    edu = next(d for d in documents if d.kind == "rectification_notice" and d.unit == "u-edu")
    assert edu.cc == ["市委办公室"]  # the discipline organ is the issuer: not copied to itself
    toml = tmp_path / "luoshi.toml"
    toml.write_text('[notices]\naddressing = {superior = "u-jw"}\nissuer = "u-jw"\n',
                    encoding="utf-8")
    result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                 str(tmp_path / "out"), "--config", str(toml)])
    assert result.exit_code == 2 and "C001" in result.stderr and "自己" in result.stderr
    assert not (tmp_path / "out").exists()


def test_deadlines_that_can_be_met(minimal_path, tmp_path):
    facts, report = _report(minimal_path)
    documents = notices.build(report, catalog(), reply_days=10, date=dt.date(2014, 1, 6))
    accountability = [d for d in documents if d.kind == "accountability"]
    for document in accountability:
        trigger = next(t for t in report.triggers if t.type == "accountability"
                       and document.file_stem.endswith(t.basis))
        late = (dt.date(2014, 1, 6) - trigger.due).days
        text = document.text()
        assert (f"应于{trigger.due.year}年{trigger.due.month}月{trigger.due.day}日前问责，"
                f"已逾期{late}天") in text
        assert "2014年1月16日前将处理情况书面报送" in text  # the document date + 10 days
        assert "于2013年" not in text.split("已逾期")[1]  # nothing asked by a date past
    toml = tmp_path / "luoshi.toml"
    toml.write_text("[notices]\nreply_days = 20\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out),
                               "--format", "md", "--config", str(toml)]).exit_code == 0
    assert "2014年1月20日前" in (out / "001-整改通知书-市教育局.md").read_text(encoding="utf-8")
    bad = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out),
                              "--reply-days", "-3"])
    assert bad.exit_code == 2


def test_the_same_run_gives_the_same_numbers(minimal_path, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                   str(out), "--format", "md"]).exit_code == 0
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()


def _xml(path: Path, member: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(member).decode("utf-8")


def test_docx_has_the_parts_of_gb_t_9704(minimal_notices):
    path = minimal_notices / "001-整改通知书-市教育局.docx"
    document = Docx(str(path))
    settings = _xml(path, "word/settings.xml")
    assert "<w:evenAndOddHeaders" in settings  # odd pages right, even pages left
    section = document.sections[0]
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    assert odd.alignment == 2 and even.alignment == 0  # RIGHT, LEFT
    for footer in (odd, even):
        assert "PAGE" in footer._p.xml and footer.text.startswith("— ") and footer.text.endswith(" —")
    texts = [p.text for p in document.paragraphs]
    assert "附件：问题清单" in texts and "问题清单" in texts
    signature = texts.index("市惩防办", 3)
    assert texts[signature + 1] == "2013年12月31日"
    ending = document.paragraphs[texts.index("特此通知。"):signature + 1]  # from the closing words
    assert all(p.paragraph_format.keep_with_next for p in ending)  # 署名 and 成文日期 together
    assert texts[-2:] == ["抄送：市纪委。", "市惩防办\t2013年12月31日印发"]  # 版记 at the end
    assert '<w:top w:val="single" w:sz="8"' in document.paragraphs[-2]._p.xml
    assert '<w:bottom w:val="single" w:sz="8"' in document.paragraphs[-1]._p.xml
    table = document.tables[0]
    assert [cell.text for cell in table.rows[0].cells] == [
        "序号", "问题", "类别", "规则", "问题编号", "涉及记录", "数据来源"]
    assert len(table.rows) - 1 == sum(1 for t in texts if re.match(r"^\d+．", t))
    assert all(re.match(r"^[A-Z]\d{3}-[0-9a-f]{12}$", row.cells[4].text) for row in table.rows[1:])
    body = "\n".join(texts[:texts.index("附件：问题清单")])
    assert not RULE_CODE.search(body) and not ISO_DATE.search(body)


def test_html_escapes_and_markdown_renders(minimal_path, tmp_path):
    for fmt in ("html", "md"):
        out = tmp_path / fmt
        assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                   str(out), "--format", fmt]).exit_code == 0
        assert (out / f"index.{fmt}").exists() and len(list(out.iterdir())) == 12
    page = (tmp_path / "html" / "001-整改通知书-市教育局.html").read_text(encoding="utf-8")
    assert '<div class="organ">市惩防办</div>' in page and "http" not in page.replace(
        'charset="utf-8"', "")
    assert 'counter(page)' in page and "抄送：市纪委。" in page


def test_waived_findings_leave_the_notices(minimal_path, tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("- {rule: F403, unit: u-edu, subject: rect-1, reason: 延期, "
                       "approved_by: 市纪委, expires: 2014-03-31}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out", str(out),
                               "--waivers", str(waivers), "--format", "md"]).exit_code == 0
    names = [path.name for path in out.iterdir()]
    assert not any("rect-1" in name for name in names)
    assert "F403" not in (out / "001-整改通知书-市教育局.md").read_text(encoding="utf-8")


def test_file_names_are_safe_whatever_a_units_name_contains(tmp_path):
    hostile = tmp_path / "facts.yaml"
    hostile.write_text(
        'units: [{id: u-1, name: "../../etc/passwd:*?<>|单位", kind: county}]\n'
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


def test_an_unwritable_out_is_bad_input(minimal_path, tmp_path):
    taken = tmp_path / "file"
    taken.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                 str(taken), "--format", "md"])
    assert result.exit_code == 2 and ("无法写入输出文件夹" in result.stderr or "C002" in result.stderr)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_docx_converts_to_pdf_with_page_numbers(minimal_notices, tmp_path):
    source = minimal_notices / "001-整改通知书-市教育局.docx"
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(source)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "001-整改通知书-市教育局.pdf"
    assert pdf.exists() and pdf.stat().st_size > 5000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        pages = text.split("\f")
        assert "限期整改的通知" in re.sub(r"\s", "", text) and "市教育局" in text
        for number, page in enumerate((p for p in pages if p.strip()), start=1):
            assert re.search(rf"—\s*{number}\s*—", page)  # the PAGE field, on every page


def test_the_settings_shown_in_the_docs_work(minimal_path, tmp_path):
    """docs/notices.md's luoshi.toml, as written there, loads and addresses no body to itself."""
    from luoshi.engine.settings import load_settings

    doc = (Path(__file__).parent.parent / "docs" / "notices.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(\[notices\].*?)```", doc, re.S)[1]
    config = tmp_path / "luoshi.toml"
    config.write_text(block, encoding="utf-8")
    settings = load_settings(str(config))
    assert settings.notices["机关代字"] == "赤惩防办" and settings.notices["reply_days"] == 15
    _, report = _report(minimal_path)
    documents = notices.build(report, catalog(), config=settings.notices)
    assert documents[0].number == "赤惩防办〔2013〕1号"
    assert all(d.addressee != f"{d.organ}：" for d in documents)
    for bad in ('[notices]\nreply_days = "十五"\n', "[notices]\nfirst_number = 0\n",
                '[notices]\naddressing = {nobody = "unit"}\n', "[notices]\nunknown = 1\n"):
        config.write_text(bad, encoding="utf-8")
        result = runner.invoke(app, ["notices", str(minimal_path), "--year", "2013", "--out",
                                     str(tmp_path / "out"), "--config", str(config)])
        assert result.exit_code == 2 and "C001" in result.stderr, bad


def test_a_warning_measure_notice(tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text(
        "units: [{id: u-jw, name: 咸宁市纪委, kind: discipline},"
        " {id: u-1, name: 咸宁市教育局, kind: department, party_secretary: p-2}]\n"
        "persons: [{id: p-1, name: 吴静, unit: u-1, post: 财务科科长}, {id: p-2, name: 孙伟, unit: u-1}]\n"
        "institutions: [{id: inst-1, title: 报告制度, source: provincial, lead_unit: u-1,"
        " important_measure: true}]\n"
        "misconduct: [{id: mc-1, unit: u-1, person: p-1, date: 2013-09-01, kind: refusal,"
        " institution: inst-1}]\n", encoding="utf-8")
    out = tmp_path / "out"
    assert runner.invoke(app, ["notices", str(facts), "--year", "2013", "--out", str(out),
                               "--format", "md"]).exit_code == 0
    [warning] = out.glob("*-预警通知-*.md")
    text = warning.read_text(encoding="utf-8")
    assert "关于对咸宁市教育局财务科科长吴静采取预警措施的通知" in text
    assert "责令说明原因、谈话提醒等预警措施，并于2014年1月15日前" in text
    assert "咸宁市惩防办" in text and "咸惩防办〔2013〕" in text


def test_notices_of_a_recorded_run_keep_their_numbers_whatever_is_loaded_later(minimal_path,
                                                                               tmp_path):
    db = f"sqlite:///{tmp_path / 'luoshi.db'}"
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db]).exit_code == 0
    assert runner.invoke(app, ["check", "--year", "2013", "--db", db, "--record",
                               "--format", "json"]).exit_code == 1
    first = runner.invoke(app, ["notices", "--run", "1", "--db", db, "--out",
                                str(tmp_path / "a"), "--format", "md"])
    assert first.exit_code == 0 and "有变化" not in first.output
    extra = tmp_path / "extra.yaml"  # a unit whose id sorts first, with problems of its own
    extra.write_text("units: [{id: u-aaa, name: 市审计局, kind: department}]\n"
                     "institutions: [{id: inst-9, title: 审计整改制度, source: municipal,"
                     " lead_unit: u-aaa}]\n", encoding="utf-8")
    assert runner.invoke(app, ["load", str(extra), "--db", db]).exit_code == 0
    again = runner.invoke(app, ["notices", "--run", "1", "--db", db, "--out",
                                str(tmp_path / "b"), "--format", "md"])
    assert again.exit_code == 0 and "有变化" in again.output
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()
    now = runner.invoke(app, ["notices", "--year", "2013", "--db", db, "--out",
                              str(tmp_path / "c"), "--format", "md"])
    assert now.exit_code == 0 and (tmp_path / "c" / "001-整改通知书-市审计局.md").exists()
    for bad in (["--run", "9"], ["--run", "1", "--year", "2012"], ["--run", "1", str(extra)]):
        result = runner.invoke(app, ["notices", *bad, "--db", db, "--out", str(tmp_path / "d")])
        assert result.exit_code == 2 and "C001" in result.stderr, bad
