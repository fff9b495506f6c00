"""`--format markdown`: a summary and a findings table, for reports and merge requests."""

from __future__ import annotations

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.formats.json_format import summary


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def render(report: Report, catalog: Catalog) -> str:
    counts = summary(report)
    lines = [f"# 落实检查 {report.year} 年度（截至 {report.as_of.isoformat()}）", "",
             f"错误 {counts['errors']} 个，警告 {counts['warnings']} 个，"
             f"检查责任单位 {counts['units']} 个，问责触发 {counts['triggers']} 项。", ""]
    if report.findings:
        lines += ["| 单位 | 规则 | 级别 | 对象 | 问题 |", "|---|---|---|---|---|"]
        for f in sorted(report.findings, key=lambda f: (f.unit or "", f.rule, f.subject)):
            severity = "错误" if f.severity == "error" else "警告"
            lines.append(f"| {_cell(f.unit)} | {f.rule} | {severity} | {_cell(f.subject)} | "
                         f"{_cell(f.message)} |")
        lines.append("")
    if report.triggers:
        lines += ["## 问责触发", "", "| 类型 | 规则 | 依据 | 单位 | 对象 | 期限 | 实施机关 |",
                  "|---|---|---|---|---|---|---|"]
        for t in report.triggers:
            lines.append(f"| {t.type} | {t.rule} | {t.basis} | {_cell(t.target_unit)} | "
                         f"{_cell(t.target_person)} | {t.due or ''} | {_cell(t.issuer)} |")
        lines.append("")
    return "\n".join(lines)
