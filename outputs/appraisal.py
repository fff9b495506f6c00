"""The appraisal report as files: one self-contained HTML page, and a workbook (docs/report.md).

The HTML page has the ranking with each unit's 等次 (grade bands, configurable), a bar chart
coloured by band with its legend, the problems by clause, the triggers to act on, the problems
no unit can be charged with, and every deduction; a print stylesheet lays it out on A4 with
page numbers. The bar chart is an SVG drawn here, inline: no script, style sheet, font or
image is fetched, so the page works offline and prints as it shows.

The workbook has the sheets 排名, 扣分明细, 按条款, 触发 and 无责任单位, each with widths that
count a CJK character as two, a frozen header row with filters, and an A4 landscape print
setup fitted to the page width with page numbers.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from luoshi.engine.runtime.directory import names_of
from luoshi.engine.runtime.results import Report
from luoshi.engine.settings import DEFAULT_BANDS
from luoshi.outputs import templating
from luoshi.outputs.escape import text as clean
from luoshi.outputs.notices import CLAUSES
from luoshi.outputs.ranking import Score, deduction, grade
from luoshi.outputs.wording import Words

TRIGGERS = {"accountability": "问责", "warning_measure": "预警措施", "re_accountability": "再问责"}
SEVERITY = {"error": "错误", "warning": "警告"}
# A band's colour by its position, best first; the lowest band is always red.
BAND_COLOURS = ["#2e7d32", "#7cb342", "#f9a825", "#ef6c00", "#c62828"]
MAX_COLUMN = 60  # characters: wider text wraps in its cell


def band_colours(bands: dict[str, float]) -> dict[str, str]:
    names = list(bands)
    colours = {name: BAND_COLOURS[min(i, len(BAND_COLOURS) - 2)] for i, name in enumerate(names)}
    colours[names[-1]] = BAND_COLOURS[-1]
    return colours


def bar_chart(scores: list[Score], bands: dict[str, float], width: int = 760) -> str:
    """Horizontal bars of the scores, highest first, coloured by band, as an SVG element."""
    from html import escape

    colours = band_colours(bands)
    row, label_width, top = 26, 190, 10
    height = top * 2 + row * len(scores) + 20
    plot = width - label_width - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="各单位得分">']
    for tick in range(0, 101, 20):
        x = label_width + plot * tick / 100
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 20}" '
                     f'stroke="#ddd"/><text x="{x:.1f}" y="{height - 5}" font-size="11" '
                     f'text-anchor="middle" fill="#666">{tick}</text>')
    for low in bands.values():
        if 0 < low < 100:  # the band limits, dashed
            x = label_width + plot * low / 100
            parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 20}" '
                         f'stroke="#999" stroke-dasharray="3,3"/>')
    for index, score in enumerate(scores):
        y = top + index * row
        length = plot * score.score / 100
        name = escape(clean(score.name))
        colour = colours[grade(score.score, bands)]
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" font-size="13" text-anchor="end">'
                     f'{name}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
                     f'fill="{colour}"><title>{name} {_number(score.score)}</title></rect>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" font-size="12">'
                     f'{_number(score.score)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def html(report: Report, scores: list[Score], weights: dict[str, float], catalog: Any,
         bands: dict[str, float] | None = None) -> str:
    bands = bands or dict(DEFAULT_BANDS)
    clauses = list(CLAUSES)
    matrix = []
    for score in scores:
        cells = []
        for clause in clauses:
            items = [f for f in score.findings if f.clause == clause]
            errors = sum(f.severity == "error" for f in items)
            cells.append({"errors": errors, "warnings": len(items) - errors})
        matrix.append({"score": score, "cells": cells})
    words = Words(names_of(report))
    colours = band_colours(bands)
    limits = list(bands.values())
    legend = [{"name": name, "colour": colours[name], "low": _number(low),
               "high": _number(limits[i - 1]) if i else None}
              for i, (name, low) in enumerate(bands.items())]
    template = resources.files("luoshi.outputs").joinpath("templates", "report.html.j2")
    return templating.environment("html").from_string(template.read_text(encoding="utf-8")).render(
        report=report, scores=scores, chart=bar_chart(scores, bands), clauses=clauses,
        clause_names=CLAUSES, matrix=matrix, weights=weights, number=_number,
        deduction=lambda f: _number(deduction(f, weights)), triggers=TRIGGERS,
        person=lambda person_id: _person(words, person_id), legend=legend,
        grade=lambda s: grade(s, bands), colour=lambda s: colours[grade(s, bands)],
        unassigned=[f for f in report.findings if not f.unit],
        title=lambda rule: _rule_title(catalog, rule), basis=lambda key: words.basis(key))


def _rule_title(catalog: Any, rule: str) -> str:
    found = catalog.rules.get(rule) if catalog is not None else None
    return found.title.zh if found else ""


def _person(words: Words, person_id: str | None) -> str:
    if person_id is None:
        return ""
    row = words.row("persons", person_id)
    return f"{row['name']}（{person_id}）" if row else person_id


# -- the workbook ---------------------------------------------------------------------------

def sheets(report: Report, scores: list[Score], weights: dict[str, float], catalog: Any,
           bands: dict[str, float]) -> dict[str, list[list[Any]]]:
    """Each sheet's rows, the header first."""
    names = report.unit_names
    words = Words(names_of(report))
    ranking: list[list[Any]] = [["排名", "单位编号", "单位", "得分", "等次", "错误", "警告"]]
    ranking += [[s.rank, s.unit, s.name, s.score, grade(s.score, bands), s.errors, s.warnings]
                for s in scores]
    details: list[list[Any]] = [["单位编号", "单位", "规则", "规则名称", "条款", "级别", "扣分", "对象", "问题",
                "结果编号"]]
    for score in scores:
        for f in score.findings:
            details.append([score.unit, score.name, f.rule, _rule_title(catalog, f.rule),
                            f.clause, SEVERITY[f.severity], deduction(f, weights), f.subject,
                            f.message, f.id])
    by_clause: list[list[Any]] = [["单位编号", "单位", *(f"{c} {CLAUSES[c]}" for c in CLAUSES), "合计扣分"]]
    for score in scores:
        row: list[Any] = [score.unit, score.name]
        for clause in CLAUSES:
            row.append(sum(deduction(f, weights) for f in score.findings if f.clause == clause))
        by_clause.append([*row, sum(row[2:])])
    triggers: list[list[Any]] = [["类型", "规则", "依据", "依据说明", "单位编号", "单位", "对象", "期限", "实施机关",
                 "结果编号"]]
    for t in report.triggers:
        triggers.append([TRIGGERS[t.type], t.rule, t.basis, words.basis(t.basis) if words.records
                         else "", t.target_unit or "", names.get(t.target_unit, "") if t.target_unit
                         else "", _person(words, t.target_person), t.due, names.get(t.issuer or "", t.issuer or ""),
                         t.finding])
    unassigned = [["规则", "规则名称", "条款", "级别", "对象", "问题", "结果编号"]]
    unassigned += [[f.rule, _rule_title(catalog, f.rule), f.clause, SEVERITY[f.severity],
                    f.subject, f.message, f.id] for f in report.findings if not f.unit]
    return {"排名": ranking, "扣分明细": details, "按条款": by_clause, "触发": triggers,
            "无责任单位": unassigned}


def xlsx(path: Path, report: Report, scores: list[Score], weights: dict[str, float],
         catalog: Any = None, bands: dict[str, float] | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    bands = bands or dict(DEFAULT_BANDS)
    workbook = Workbook()
    workbook.remove(workbook.active)
    header_fill = PatternFill("solid", fgColor="F0F2F5")
    for title, rows in sheets(report, scores, weights, catalog, bands).items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append([_cell(value) for value in row])
        widths = [0] * len(rows[0])
        for row in rows:
            for index, value in enumerate(row):
                widths[index] = max(widths[index], _display_width(value))
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(width, MAX_COLUMN) + 2
        wrap = Alignment(wrap_text=True, vertical="top")
        for row in sheet.iter_rows(min_row=2):
            for cell, width in zip(row, widths, strict=False):
                if width > MAX_COLUMN:
                    cell.alignment = wrap
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    cell.data_type = "s"  # text that looks like a formula stays text
                if isinstance(cell.value, dt.date):
                    cell.number_format = "yyyy-mm-dd"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(horizontal="center", vertical="center")
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(widths))}{max(len(rows), 1)}"
        sheet.print_title_rows = "1:1"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        sheet.oddHeader.center.text = f"{report.year} 年度惩防体系制度落实考核评估 · {title}"
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    notes = workbook.create_sheet("说明")
    notes.column_dimensions["A"].width = 100
    notes.page_setup.orientation = "landscape"
    notes.page_setup.paperSize = notes.PAPERSIZE_A4
    notes.oddFooter.center.text = "第 &P 页，共 &N 页"
    for line in (f"{report.year} 年度考核评估（截至 {report.as_of.isoformat()}）",
                 f"得分 = max(0, 100 − {_number(weights['error'])}×错误 − "
                 f"{_number(weights['warning'])}×警告)，同分同名次，按单位编号排列。",
                 "等次：" + "，".join(f"{name} ≥ {_number(low)}" if low else name
                                   for name, low in bands.items()),
                 "结果编号可用 luoshi explain 结果编号 追溯到原始记录。"):
        notes.append([line])
    workbook.save(path)


def _cell(value: Any) -> Any:
    return clean(value) if isinstance(value, str) else value


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 10
    return cell_len(clean(str(value)))


def as_json(report: Report, scores: list[Score]) -> dict[str, Any]:
    return {"year": report.year, "as_of": report.as_of.isoformat(),
            "ranking": [score.as_dict() for score in scores]}

