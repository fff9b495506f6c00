"""The appraisal report as files: one self-contained HTML page, and the ranking as XLSX.

The bar chart is an SVG drawn here, inline in the page: no script, style sheet, font or image
is fetched, so the page works offline, prints as it shows, and needs no charting library.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from luoshi.outputs import templating
from luoshi.outputs.notices import CLAUSES
from luoshi.outputs.ranking import Score, deduction
from luoshi.engine.runtime.results import Report

TRIGGERS = {"accountability": "问责", "warning_measure": "预警措施", "re_accountability": "再问责"}


def bar_chart(scores: list[Score], width: int = 760) -> str:
    """Horizontal bars of the scores, highest first, as an SVG element."""
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
    for index, score in enumerate(scores):
        y = top + index * row
        length = plot * score.score / 100
        colour = "#2e7d32" if score.score >= 90 else "#f9a825" if score.score >= 60 else "#c62828"
        parts.append(f'<text x="{label_width - 8}" y="{y + 17}" font-size="13" text-anchor="end">'
                     f'{escape(score.name)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
                     f'fill="{colour}"><title>{escape(score.name)} {_number(score.score)}</title></rect>')
        parts.append(f'<text x="{label_width + length + 6:.1f}" y="{y + 17}" font-size="12">'
                     f'{_number(score.score)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def html(report: Report, scores: list[Score], weights: dict[str, float]) -> str:
    clauses = list(CLAUSES)
    matrix = []
    for score in scores:
        cells = []
        for clause in clauses:
            items = [f for f in score.findings if f.clause == clause]
            errors = sum(f.severity == "error" for f in items)
            cells.append({"errors": errors, "warnings": len(items) - errors})
        matrix.append({"score": score, "cells": cells})
    template = resources.files("luoshi.outputs").joinpath("templates", "report.html.j2")
    return templating.environment("html").from_string(template.read_text(encoding="utf-8")).render(
        report=report, scores=scores, chart=bar_chart(scores), clauses=clauses,
        clause_names=CLAUSES, matrix=matrix, weights=weights, number=_number,
        deduction=lambda f: _number(deduction(f, weights)), triggers=TRIGGERS,
        person=lambda person_id: _person(report, person_id))


def _person(report: Report, person_id: str | None) -> str:
    if person_id is None:
        return ""
    row = report.view.by_id["persons"].get(person_id) if report.view else None
    return f"{row['name']}（{person_id}）" if row else person_id


def xlsx(path: Path, report: Report, scores: list[Score], weights: dict[str, float]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    ranking = workbook.active
    ranking.title = "排名"
    ranking.append(["排名", "单位编号", "单位", "得分", "错误", "警告"])
    for score in scores:
        ranking.append([score.rank, score.unit, score.name, score.score, score.errors,
                        score.warnings])
    details = workbook.create_sheet("扣分明细")
    details.append(["单位编号", "单位", "规则", "级别", "扣分", "对象", "问题", "结果编号"])
    for score in scores:
        for finding in score.findings:
            details.append([score.unit, score.name, finding.rule,
                            "错误" if finding.severity == "error" else "警告",
                            deduction(finding, weights), finding.subject, finding.message,
                            finding.id])
    notes = workbook.create_sheet("说明")
    notes.append([f"{report.year} 年度考核评估（截至 {report.as_of.isoformat()}）：得分 = max(0, 100 − "
                  f"{_number(weights['error'])}×错误 − {_number(weights['warning'])}×警告)，"
                  "同分同名次，按单位编号排列。"])
    for sheet in (ranking, details):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    cell.data_type = "s"  # text that looks like a formula stays text
    workbook.save(path)


def as_json(report: Report, scores: list[Score]) -> dict[str, Any]:
    return {"year": report.year, "as_of": report.as_of.isoformat(),
            "ranking": [score.as_dict() for score in scores]}
