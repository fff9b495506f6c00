"""`--format table` (the default on a terminal): findings grouped by unit, in Chinese."""

from __future__ import annotations

import io
import shutil
from itertools import groupby

from rich.console import Console
from rich.table import Table

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Report
from luoshi.outputs.formats.json_format import summary

SEVERITY = {"error": "[red]错误[/]", "warning": "[yellow]警告[/]"}
TRIGGER = {"accountability": "问责", "warning_measure": "预警措施", "re_accountability": "再问责"}
NO_UNIT = "（无法确定责任单位）"


def render(report: Report, catalog: Catalog, width: int | None = None) -> str:
    """As wide as the terminal it will be shown on (120 columns when not shown on one)."""
    width = width or shutil.get_terminal_size((120, 40)).columns
    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=False, highlight=False,
                      soft_wrap=False)
    console.print(f"[bold]落实检查 {report.year} 年度[/]（截至 {report.as_of.isoformat()}）")
    by_unit = groupby(sorted(report.findings, key=lambda f: (f.unit or "", f.rule, f.subject)),
                      key=lambda f: f.unit)
    for unit, findings in by_unit:
        title = f"{unit} {report.unit_names.get(unit, '')}" if unit else NO_UNIT
        table = Table(title=title, title_justify="left", show_lines=False,
                      expand=True)
        table.add_column("规则", no_wrap=True)
        table.add_column("级别", no_wrap=True)
        table.add_column("条款", no_wrap=True)
        table.add_column("对象", no_wrap=True)
        table.add_column("问题", ratio=1, overflow="fold")
        for finding in findings:
            table.add_row(finding.rule, SEVERITY[finding.severity], finding.clause,
                          finding.subject, finding.message)
        console.print(table)
    if report.triggers:
        table = Table(title="需处置的问责触发", title_justify="left", expand=True)
        for label in ("类型", "规则", "依据", "单位", "对象", "期限", "实施机关"):
            table.add_column(label)
        for trigger in report.triggers:
            table.add_row(TRIGGER[trigger.type], trigger.rule, trigger.basis,
                          trigger.target_unit or "", trigger.target_person or "",
                          trigger.due.isoformat() if trigger.due else "", trigger.issuer or "")
        console.print(table)
    counts = summary(report)
    flagged = len({f.unit for f in report.findings if f.unit})
    console.print(f"共 [red]{counts['errors']}[/] 个错误、[yellow]{counts['warnings']}[/] 个警告，"
                  f"涉及 {flagged} 个单位（共检查 {counts['units']} 个责任单位），"
                  f"{counts['triggers']} 项问责触发。")
    return stream.getvalue()
