"""`--format table` (the default on a terminal): the summary first, then findings by unit, then
the triggers to act on, in Chinese.

- Each finding shows a short id (the shortest prefix of its id, at least 6 hex digits, that no
  other finding of the run shares), which `luoshi explain` accepts.
- Colour by severity, on a terminal only (never in a pipe or a file, nor with `NO_COLOR`).
- Triggers name the unit, person, issuer and what they answer, not their codes.
- Widths count CJK characters as two columns, and text is wrapped at a space or between CJK
  characters, never inside an id, a date or a number; no line starts with a closing mark.
- Every value enters the table as `escape.terminal` text: no Rich markup (`[/]`, `[bold]`)
  and no escape sequence from the data is ever interpreted.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from itertools import groupby

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime.results import Finding, Report, Trigger
from luoshi.outputs import escape
from luoshi.outputs.formats.json_format import summary

SEVERITY = {"error": ("错误", "red"), "warning": ("警告", "yellow")}
TRIGGER = {"accountability": "问责", "warning_measure": "预警措施", "re_accountability": "再问责"}
NO_UNIT = "无法确定责任单位的问题"
SHORT_ID = 6
# A run of these is one unbreakable word: ids, dates, numbers, paths.
_WORD = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日|[A-Za-z0-9_\-./:%+#@]+|\s+|.", re.S)
_CLOSING = set("，。、；：？！）》」』”’）】〕,.;:?!)]}%")


def short_ids(findings: list[Finding]) -> dict[str, str]:
    """Each finding's shortest unambiguous id: `RULE-` and at least SHORT_ID hex digits."""
    ids = sorted({finding.id for finding in findings})
    short = {}
    for index, full in enumerate(ids):
        length = len(full.split("-", 1)[0]) + 1 + SHORT_ID
        for neighbour in ids[max(0, index - 1): index + 2]:
            if neighbour != full:
                common = len(_common_prefix(full, neighbour))
                length = max(length, common + 1)
        short[full] = full[:length]
    return short


def _common_prefix(first: str, second: str) -> str:
    size = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        size += 1
    return first[:size]


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` columns (CJK counts two), broken at spaces or between CJK
    characters; an id, date or number is never split unless it alone is wider than a line,
    and a closing mark (，。）》…) never starts a line: it takes the character before it along."""
    lines: list[list[str]] = []
    line: list[str] = []
    for token in _WORD.findall(text):
        if token.isspace():
            if line and _width(line) + 1 <= width:
                line.append(" ")
            continue
        if line and _width(line) + cell_len(token) > width:
            carried = []
            if token in _CLOSING and len(line) > 1:
                carried = [line.pop()]
            lines.append(line)
            line = carried
        while cell_len(token) > width - _width(line):  # one word wider than a line: fold it
            cut = _fit(token, width - _width(line))
            lines.append(line + [token[:cut]])
            token, line = token[cut:], []
        line.append(token)
    lines.append(line)
    return ["".join(parts).rstrip() for parts in lines if "".join(parts).strip()] or [""]


def _width(parts: list[str]) -> int:
    return sum(cell_len(part) for part in parts)


def _fit(token: str, room: int) -> int:
    cut, used = 0, 0
    for char in token:
        if used + cell_len(char) > max(room, 1):
            break
        cut, used = cut + 1, used + cell_len(char)
    return max(cut, 1)


def colour_wanted() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def text_console(width: int | None, colour: bool | None) -> tuple[Console, io.StringIO]:
    """A console writing into a string, as wide as the terminal the text will be shown on
    (120 columns when not shown on one), coloured only for a terminal that wants it; values
    are never read as markup."""
    width = width or shutil.get_terminal_size((120, 40)).columns
    colour = colour_wanted() if colour is None else colour
    stream = io.StringIO()
    console = Console(file=stream, width=width, force_terminal=colour, no_color=not colour,
                      highlight=False, soft_wrap=False, emoji=False, markup=False,
                      color_system="standard" if colour else None)
    return console, stream


def render(report: Report, catalog: Catalog, width: int | None = None,
           colour: bool | None = None) -> str:
    """As wide as the terminal it will be shown on (120 columns when not shown on one)."""
    console, stream = text_console(width, colour)
    width = console.width
    counts = summary(report)
    flagged = len({f.unit for f in report.findings if f.unit})
    heading = Text(f"落实检查 {report.year} 年度（截至 {report.as_of.isoformat()}）", style="bold")
    console.print(heading)
    line = Text("共 ")
    line.append(str(counts["errors"]), style="red")
    line.append(" 个错误、")
    line.append(str(counts["warnings"]), style="yellow")
    line.append(f" 个警告，涉及 {flagged} 个单位（共检查 {counts['units']} 个责任单位），"
                f"{counts['triggers']} 项问责触发。")
    console.print(line)
    if catalog.overrides:
        console.print(Text("注意：本次检查改变了自带的术语或参数：" + "、".join(
            f"{name}（{where}）" for name, where in sorted(catalog.overrides.items())),
            style="yellow"))
    short = short_ids(report.findings)
    by_unit = groupby(sorted(report.findings, key=lambda f: (f.unit is None, f.unit or "",
                                                              f.rule, f.subject)),
                      key=lambda f: f.unit)
    for unit, group in by_unit:
        findings = list(group)
        title = f"{report.unit_names.get(unit, unit)}（{unit}）" if unit else NO_UNIT
        rows = [[escape.one_line(short[f.id]), *SEVERITY[f.severity][:1], f.clause,
                 escape.one_line(f.subject), escape.one_line(f.message)] for f in findings]
        styles = [SEVERITY[f.severity][1] for f in findings]
        console.print(grid(title, ["编号", "级别", "条款", "对象", "问题"], rows, styles, width,
                             fixed={0, 1, 2, 3}))
    if report.triggers:
        console.print(triggers_grid("需处置的问责触发", report, report.triggers, short, width))
    return stream.getvalue()


def triggers_grid(title: str, report: Report, triggers: list[Trigger], short: dict[str, str],
                  width: int) -> Table:
    """The triggers to act on, with names instead of codes (`short`: findings' short ids)."""
    names = Names(report)
    rows = [[TRIGGER[t.type], escape.one_line(short.get(t.finding, t.finding)),
             t.due.isoformat() if t.due else "",
             " ".join(part for part in (names.unit(t.target_unit),
                                        names.person(t.target_person)) if part),
             names.basis(t.basis) + (f"；由{names.unit(t.issuer)}实施" if t.issuer else "")]
            for t in triggers]
    return grid(title, ["类型", "问题编号", "期限", "单位、对象", "依据"], rows,
                [""] * len(rows), width, fixed={0, 1, 2})


def grid(title: str, headers: list[str], rows: list[list[str]], styles: list[str],
         width: int, fixed: set[int]) -> Table:
    """Columns `fixed` (ids, codes, dates) are as wide as their widest value and never wrap;
    the others share what is left, the last (the long text) taking the most, and are wrapped
    here, CJK-aware."""
    table = Table(title=escape.terminal(title, "bold"), title_justify="left", expand=False,
                  show_lines=False, pad_edge=False)
    natural = [max([cell_len(h)] + [cell_len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    overhead = 3 * len(headers) + 1  # borders and padding
    fixed = set(fixed)
    while True:  # a long value in a fixed column (a hostile subject) must not crowd out the rest
        room = width - overhead - sum(natural[i] for i in fixed)
        wide = [i for i in fixed if natural[i] > 16]
        if room >= 10 + 6 * (len(headers) - len(fixed) - 1) or not wide:
            break
        fixed.discard(max(wide, key=lambda i: natural[i]))
    flexible = [i for i in range(len(headers)) if i not in fixed]
    widths = list(natural)
    if sum(natural[i] for i in flexible) > room:
        last = flexible[-1]
        for i in flexible[:-1]:
            widths[i] = min(natural[i], max(6, room // (len(flexible) + 1)))
        widths[last] = max(10, room - sum(widths[i] for i in flexible[:-1]))
    for header, size in zip(headers, widths, strict=True):
        table.add_column(escape.terminal(header), width=size, no_wrap=True, overflow="ignore")
    for row, style in zip(rows, styles, strict=True):
        cells = []
        for index, (value, size) in enumerate(zip(row, widths, strict=True)):
            text = Text("\n".join(wrap(value, size)))
            if index == 1 and style:  # the severity column
                text.stylize(style)
            cells.append(text)
        table.add_row(*cells)
    return table


class Names:
    """Names instead of codes for the triggers table."""

    def __init__(self, report: Report) -> None:
        from luoshi.engine.runtime.directory import names_of
        from luoshi.outputs.wording import Words

        self.words = Words(names_of(report))
        self.report = report

    def unit(self, key: str | None) -> str:
        return escape.one_line(self.report.unit_names.get(key, key) if key else "")

    def person(self, key: str | None) -> str:
        return escape.one_line(self.words.person(key) if key else "")

    def basis(self, key: str) -> str:
        if not self.words.records:  # a report without names (the portal's kept results)
            return escape.one_line(key)
        return escape.one_line(self.words.basis(key))
