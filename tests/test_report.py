"""The appraisal report: the scoring rule, ties, a self-contained page, a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime.results import Report
from luoshi.outputs.ranking import rank

runner = CliRunner()


def test_minimal_example_is_ranked_as_the_scoring_rule_gives(minimal_path):
    expected = json.loads((minimal_path.parent / "expected.json").read_text(encoding="utf-8"))
    counts: dict[str, list[int]] = {}
    for finding in expected["findings"]:
        if finding["unit"]:
            counts.setdefault(finding["unit"], [0, 0])[finding["severity"] == "warning"] += 1
    scores = {unit: max(0, 100 - 5 * e - w) for unit, (e, w) in counts.items()}
    result = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--format", "json"])
    assert result.exit_code == 0, result.output
    ranking = json.loads(result.stdout)["ranking"]
    assert [(r["unit"], r["score"]) for r in ranking] == sorted(
        scores.items(), key=lambda item: (-item[1], item[0]))
    assert [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert ranking[0] == {"unit": "u-jw", "name": "市纪委", "score": 92, "rank": 1, "errors": 1,
                          "warnings": 3}


def test_ties_share_a_rank_and_are_listed_by_unit_id():
    from luoshi.engine.runtime.results import Finding

    def finding(unit, severity):
        return Finding("x", "R101", severity, "二(一)", unit, unit, "")

    report = Report(2013, None, [finding("b", "error"), finding("c", "error"),
                                 finding("a", "warning"), finding("d", "error"),
                                 finding("d", "error")], [], ["d", "c", "b", "a", "e"], {})
    scores = rank(report)
    assert [(s.unit, s.score, s.rank) for s in scores] == [
        ("e", 100, 1), ("a", 99, 2), ("b", 95, 3), ("c", 95, 3), ("d", 90, 5)]
    weighted = rank(report, {"error": 60})
    assert [(s.unit, s.score) for s in weighted][-1] == ("d", 0)  # never below zero


def test_html_is_self_contained_and_xlsx_has_the_same_ranking(minimal_path, tmp_path):
    page, book = tmp_path / "report.html", tmp_path / "report.xlsx"
    result = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out", str(page),
                                 "--xlsx", str(book)])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<script" not in html and "@import" not in html and "url(" not in html
    assert "<svg" in html and "2013 年度惩防体系制度落实考核评估" in html
    assert "I205-" in html  # every deduction names its finding
    workbook = load_workbook(book)
    sheet = workbook["排名"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        (1, "u-jw", 92, "好"), (2, "u-zzb", 76, "一般"), (3, "u-xa", 60, "一般"), (4, "u-edu", 28, "差")]
    assert workbook.sheetnames == ["排名", "扣分明细", "按条款", "触发", "无责任单位", "说明"]
    for name in workbook.sheetnames[:-1]:
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert "&P" in sheet.oddFooter.center.text and sheet.print_title_rows == "$1:$1"
    ranking = workbook["排名"]
    # CJK counts twice: "赤壁…" style names are never cut ("市教育局" is 8 columns wide).
    assert ranking.column_dimensions["C"].width >= 2 * len("市委组织部") + 2
    assert [c.value for c in workbook["无责任单位"]["A"]][1:] == ["F402", "R101"]
    clauses = workbook["按条款"]
    assert [c.value for c in clauses[1]][-1] == "合计扣分"
    assert [row[-1].value for row in clauses.iter_rows(min_row=2)] == [8, 24, 40, 72]
    assert "等次" in html and "好：90 分及以上" in html and "@media print" in html
    assert "无法确定责任单位的问题（2）" in html and "R101-" in html


def test_weights_are_configurable(minimal_path, tmp_path):
    config = tmp_path / "luoshi.toml"
    config.write_text("[report]\nerror_weight = 2\nwarning_weight = 0.5\n", encoding="utf-8")
    result = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--format", "json",
                                 "--config", str(config)])
    assert json.loads(result.stdout)["ranking"][0]["score"] == 96.5  # 100 - 2·1 - 0.5·3


def test_report_needs_somewhere_to_write(minimal_path, tmp_path):
    assert runner.invoke(app, ["report", str(minimal_path), "--year", "2013"]).exit_code == 2
    wrong = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out",
                                str(tmp_path / "r.pdf")])
    assert wrong.exit_code == 2 and ".html" in wrong.stderr and not (tmp_path / "r.pdf").exists()
    missing = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out",
                                  str(tmp_path / "no" / "such" / "r.html")])
    assert missing.exit_code == 2 and "无法写入" in missing.stderr


def test_grade_bands_are_configurable(minimal_path, tmp_path):
    config = tmp_path / "luoshi.toml"
    config.write_text('[report.bands]\n"优秀" = 95\n"合格" = 50\n"不合格" = 0\n', encoding="utf-8")
    page = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out", str(page),
                                 "--config", str(config)])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "优秀：95 分及以上" in html and "不合格：50 分以下" in html and ">合格</span>" in html
    config.write_text('[report.bands]\n"好" = 90\n', encoding="utf-8")  # no band from 0
    bad = runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out", str(page),
                              "--config", str(config)])
    assert bad.exit_code == 2 and "C001" in bad.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium not installed")
def test_report_renders_in_headless_chromium(minimal_path, tmp_path):
    page, shot = tmp_path / "report.html", tmp_path / "report.png"
    runner.invoke(app, ["report", str(minimal_path), "--year", "2013", "--out", str(page)])
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,1400",
                    f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # a page, not a blank
    pdf = tmp_path / "report.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], check=True, capture_output=True,
                   timeout=120)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "第 1 页" in text and "等次" in text  # the print stylesheet's page numbers


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdfinfo") is None,
                    reason="LibreOffice or poppler not installed")
def test_workbook_prints_a4_landscape_with_page_numbers(example_path, tmp_path):
    book = tmp_path / "report.xlsx"
    assert runner.invoke(app, ["report", str(example_path), "--year", "2013", "--xlsx",
                               str(book)]).exit_code == 0
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(book)], check=True, capture_output=True, timeout=180)
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", str(tmp_path / "report.pdf")],
                          capture_output=True, text=True, check=True).stdout
    sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert sizes and all(float(w) > float(h) and round(float(w)) == 842 for w, h in sizes)
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "第 1 页" in text and "赤壁市人民政府办公室" in text  # no name cut short
