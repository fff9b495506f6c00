"""`luoshi history` and `luoshi diff`: recorded check runs, and what changed between two.

Times are shown in the machine's local time zone (stored in UTC). `diff` lists what is new,
resolved or changed, each with why: the records changed, a waiver ended or began, or the
policies or parameters changed; findings that stayed the same are only counted, unless `--all`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.history import reasons
from luoshi.facts.problems import InputError, Location, Problem

from .console import err, exit_on_errors, out
from .options import DbOption


def local_time(moment: dt.datetime) -> str:
    """A stored UTC time in local time (SQLite gives it back without its zone)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _zone() -> str:
    offset = dt.datetime.now().astimezone().utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def history(db: DbOption = None) -> None:
    """列出记录过的检查（check --record），最新的在前；时间为本地时间。"""
    from luoshi.facts import history as runs_store

    from .verify import warn_if_broken

    with exit_on_errors():
        runs = runs_store.runs(db)
        runs_store.checked(*runs)
        if runs:
            warn_if_broken(db)
    table = Table(title=f"检查记录（{len(runs)} 次）", title_justify="left")
    for label in ("编号", f"时间（{_zone()}）", "年度", "检查日", "错误", "警告", "触发", "数据", "策略"):
        table.add_column(label)
    for run in runs:
        errors = sum(f["severity"] == "error" for f in run.findings)
        table.add_row(str(run.id), local_time(run.created_at), str(run.year),
                      run.as_of.isoformat(), str(errors), str(len(run.findings) - errors),
                      str(len(run.triggers)), run.inputs_sha256[:10], run.policies_sha256[:10])
    out.print(table)


def diff(
    first: Annotated[int | None, typer.Argument(help="较早的记录编号")] = None,
    second: Annotated[int | None, typer.Argument(help="较新的记录编号")] = None,
    db: DbOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table 或 json")] = "table",
    show_all: Annotated[bool, typer.Option("--all", help="也列出没有变化的问题")] = False,
) -> None:
    """比较两次检查：新出现、已解决、有变化的问题及其原因（默认比较同一年度最新的两次）。"""
    from luoshi.facts import history as runs_store

    from .verify import warn_if_broken

    with exit_on_errors():
        if output_format not in ("table", "json"):
            raise InputError([Problem(Location("--format"), "C001", "应为 table 或 json")])
        if (first is None) != (second is None):
            raise InputError([Problem(Location("diff"), "C001", "要么给出两个记录编号，要么都不给")])
        older, newer = runs_store.pick(runs_store.runs(db), first, second)
        runs_store.checked(older, newer)
        edited = sorted(warn_if_broken(db).runs_changed & {older.id, newer.id})
    if edited:
        err.print(Text(f"警告：比较的检查记录 {'、'.join(map(str, edited))} 在 luoshi 之外被改动，"
                       "以下是改动后的内容，不能作为依据；各条的原因无法判断。", style="bold red"))
    changes = reasons(older, newer, edited)
    if output_format == "json":
        sys.stdout.write(json.dumps(changes, ensure_ascii=False, indent=2) + "\n")
        return
    out.print(Text(f"检查记录 {older.id}（{older.as_of}，{local_time(older.created_at)}）→ "
                   f"{newer.id}（{newer.as_of}，{local_time(newer.created_at)}），{newer.year} 年度"))
    changed_ids = {finding["id"] for finding in changes["changed"]}
    unchanged = [f for f in changes["open"] if f["id"] not in changed_ids]
    sections = [("new", "新出现"), ("resolved", "已解决"), ("changed", "有变化")]
    if show_all:
        changes["unchanged"] = unchanged
        sections.append(("unchanged", "没有变化"))
    for key, label in sections:
        if not changes[key]:
            out.print(Text(f"{label}：无"))
            continue
        table = Table(title=f"{label}（{len(changes[key])}）", title_justify="left")
        columns = ["编号", "规则", "单位", "对象", "问题"] + (["原因"] if key != "unchanged" else [])
        for column in columns:
            table.add_column(column, overflow="fold")
        for finding in changes[key]:
            cells = [finding["id"], finding["rule"], finding.get("unit") or "", finding["subject"],
                     finding["message"]] + ([finding["reason"]] if key != "unchanged" else [])
            table.add_row(*(Text(str(cell)) for cell in cells))  # Text: names are not markup
        out.print(table)
    if not show_all and unchanged:
        out.print(Text(f"另有 {len(unchanged)} 条问题没有变化，未列出（--all 显示）。"))
