"""`luoshi history` and `luoshi diff`: recorded check runs, and what changed between two."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from luoshi.facts.problems import InputError, Location, Problem

from .console import exit_on_errors, out
from .load import DbOption


def history(db: DbOption = None) -> None:
    """列出记录过的检查（check --record），最新的在前。"""
    from luoshi.facts import history as runs_store

    with exit_on_errors():
        runs = runs_store.runs(db)
    table = Table(title=f"检查记录（{len(runs)} 次）", title_justify="left")
    for label in ("编号", "时间（UTC）", "年度", "检查日", "错误", "警告", "触发", "数据", "策略"):
        table.add_column(label)
    for run in runs:
        errors = sum(f["severity"] == "error" for f in run.findings)
        table.add_row(str(run.id), run.created_at.strftime("%Y-%m-%d %H:%M"), str(run.year),
                      run.as_of.isoformat(), str(errors), str(len(run.findings) - errors),
                      str(len(run.triggers)), run.inputs_sha256[:10], run.policies_sha256[:10])
    out.print(table)


def diff(
    first: Annotated[int | None, typer.Argument(help="较早的记录编号")] = None,
    second: Annotated[int | None, typer.Argument(help="较新的记录编号")] = None,
    db: DbOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table 或 json")] = "table",
) -> None:
    """比较两次检查：新出现、已解决、仍存在的问题（默认比较同一年度最新的两次）。"""
    from luoshi.facts import history as runs_store

    with exit_on_errors():
        if output_format not in ("table", "json"):
            raise InputError([Problem(Location("--format"), "C001", "应为 table 或 json")])
        if (first is None) != (second is None):
            raise InputError([Problem(Location("diff"), "C001", "要么给出两个记录编号，要么都不给")])
        older, newer = runs_store.pick(runs_store.runs(db), first, second)
    changes = runs_store.compare(older, newer)
    if output_format == "json":
        sys.stdout.write(json.dumps(changes, ensure_ascii=False, indent=2) + "\n")
        return
    out.print(f"检查记录 {older.id}（{older.as_of}）→ {newer.id}（{newer.as_of}），{newer.year} 年度")
    for key, label in (("new", "新出现"), ("resolved", "已解决"), ("open", "仍存在")):
        table = Table(title=f"{label}（{len(changes[key])}）", title_justify="left")
        for column in ("规则", "单位", "对象", "问题"):
            table.add_column(column)
        for finding in changes[key]:
            table.add_row(finding["rule"], finding["unit"] or "", finding["subject"],
                          finding["message"])
        out.print(table)
