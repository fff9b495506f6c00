"""`--format markdown`: a summary and a findings table, for reports and merge requests.

Every value enters through `escape.markdown`: a unit name with `|`, `#`, `<tag>`, `[link](…)`
or a line break cannot add a cell, a row, a heading or markup."""

from __future__ import annotations

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.escape import markdown as md
from luoshi.outputs.formats.json_format import summary

TRIGGER = {"accountability": "问责", "warning_measure": "预警措施", "re_accountability": "再问责"}


def _row(*cells: object) -> str:
    return "| " + " | ".join(md(cell) for cell in cells) + " |"


def render(report: Report, catalog: Catalog) -> str:
    counts = summary(report)
    lines = [f"# 落实检查 {report.year} 年度（截至 {report.as_of.isoformat()}）", "",
             f"错误 {counts['errors']} 个，警告 {counts['warnings']} 个，"
             f"检查责任单位 {counts['units']} 个，问责触发 {counts['triggers']} 项。", ""]
    if report.findings:
        lines += ["| 单位 | 规则 | 级别 | 对象 | 问题 | 编号 |", "|---|---|---|---|---|---|"]
        for f in sorted(report.findings, key=lambda f: (f.unit or "", f.rule, f.subject)):
            severity = "错误" if f.severity == "error" else "警告"
            lines.append(_row(f.unit or "（无法确定责任单位）", f.rule, severity, f.subject,
                              f.message, f.id))
        lines.append("")
    if report.triggers:
        lines += ["## 问责触发", "", "| 类型 | 规则 | 依据 | 单位 | 对象 | 期限 | 实施机关 |",
                  "|---|---|---|---|---|---|---|"]
        for t in report.triggers:
            lines.append(_row(TRIGGER.get(t.type, t.type), t.rule, t.basis,
                              t.target_unit, t.target_person,
                              t.due.isoformat() if t.due else "", t.issuer))
        lines.append("")
    return "\n".join(lines)
