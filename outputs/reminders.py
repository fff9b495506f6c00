"""`luoshi upcoming --format table`: the reminder (临近提醒) in Chinese, as `check`'s table is.

What falls due first comes first; each finding shows the date it falls due (到期日: the last
day it is still in time), the unit, and the check's own message, so that a clerk can forward
a line as it is. Findings that no record's date decides (due at the year's end, or a record
dated in the window) follow, with 到期日 "—".
"""

from __future__ import annotations

from rich.text import Text

from luoshi.engine.runtime.upcoming import Upcoming
from luoshi.outputs import escape
from luoshi.outputs.formats.table import SEVERITY, grid, short_ids, text_console, triggers_grid


def render(result: Upcoming, width: int | None = None, colour: bool | None = None) -> str:
    console, stream = text_console(width, colour)
    width = console.width
    days = (result.until - result.as_of).days
    console.print(Text(f"临近提醒 {result.report.year} 年度：{result.as_of.isoformat()} 之后 {days} 天内"
                       f"（至 {result.until.isoformat()}）到期的事项", style="bold"))
    if not result.findings and not result.triggers:
        console.print(f"{days} 天内没有新到期的问题或问责触发。")
        return stream.getvalue()
    units = len({f.unit for f in result.findings if f.unit})
    console.print(f"共 {len(result.findings)} 个问题将到期，涉及 {units} 个单位；"
                  f"{len(result.triggers)} 项问责触发将产生。")
    names = result.report.unit_names
    short = short_ids(result.report.findings)
    rows, styles = [], []
    for finding in result.findings:
        due = result.due_on[finding.id]
        unit = f"{names.get(finding.unit, finding.unit)}（{finding.unit}）" if finding.unit else ""
        rows.append([due.isoformat() if due else "—", SEVERITY[finding.severity][0],
                     escape.one_line(short[finding.id]), escape.one_line(unit),
                     escape.one_line(finding.message)])
        styles.append(SEVERITY[finding.severity][1])
    if rows:
        console.print(grid("将到期的问题", ["到期日", "级别", "编号", "单位", "问题"], rows, styles,
                           width, fixed={0, 1, 2}))
    if result.triggers:
        console.print(triggers_grid("将产生的问责触发", result.report, result.triggers, short,
                                    width))
    console.print("到期日是最后一个仍不报的日子，过了这一天 luoshi check 即报出该问题；"
                  "“—”表示不由某条记录的期限决定（如年底考核、窗口内发生的事）。")
    return stream.getvalue()
