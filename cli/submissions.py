"""`luoshi submissions` and `luoshi changes`: the loads a store received, and what they changed."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.kinds import KINDS
from luoshi.facts.problems import InputError, Location, Problem

from .console import exit_on_errors, out
from .options import DbOption

FormatOption = Annotated[str, typer.Option("--format", help="table 或 json")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="只看这个单位的", show_default=False)]
SCOPE_ZH = {"merge": "新增或修改", "unit": "单位报送", "replace": "替换全部"}
COUNTS_ZH = {"added": "新增", "changed": "修改", "removed": "撤回", "unchanged": "未变"}


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise InputError([Problem(Location("--format"), "C001", "应为 table 或 json")])


def submissions(db: DbOption = None, unit: UnitOption = None,
                output_format: FormatOption = "table") -> None:
    """列出每一次导入（最新的在前）：收到时间、报送人、范围、文件及其 sha256、新增 / 修改 / 撤回 / 未变条数。"""
    from luoshi.facts import store

    with exit_on_errors():
        _check_format(output_format)
        loads = store.submissions(db, unit)
    data = [store.describe_load(load) for load in loads]
    if output_format == "json":
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"导入记录（{len(data)} 次）", title_justify="left")
    for label in ("编号", "收到时间（UTC）", "报送人", "范围", "文件（sha256）", *COUNTS_ZH.values(),
                  "备注"):
        table.add_column(label)
    for item in data:
        scope = SCOPE_ZH[item["scope"]] + (f" {item['unit']}" if item["unit"] else "")
        files = "\n".join(f"{f['path']}（{f['sha256'][:12]}…，{f['size']} 字节）"
                          for f in item["files"])
        _add_row(table, str(item["id"]), item["received"][:16].replace("T", " "), item["by"] or "",
                      scope, files, *(str(item["totals"][key]) for key in COUNTS_ZH),
                      item["note"] or "")
    out.print(table)


def changes(
    first: Annotated[int | None, typer.Argument(help="较早的导入编号（默认：最新导入之前）",
                                                show_default=False)] = None,
    second: Annotated[int | None, typer.Argument(help="较晚的导入编号（默认：最新导入）",
                                                 show_default=False)] = None,
    db: DbOption = None, unit: UnitOption = None, output_format: FormatOption = "table",
) -> None:
    """两次导入之后的数据有何不同：新增、撤回的记录，以及修改的记录逐字段的旧值 → 新值。"""
    from luoshi.facts import changes as compare
    from luoshi.facts import store

    with exit_on_errors():
        _check_format(output_format)
        a, b, before, after = store.states(db, first, second)
        result = compare.compare(before, after, unit)
    if output_format == "json":
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        return
    title = "导入之前" if a == 0 else f"第 {a} 次导入之后"
    out.print(f"{title} → 第 {b} 次导入之后" + (f"，单位 {unit}" if unit else "") + "：新增 "
              f"{len(result['added'])}、撤回 {len(result['removed'])}、修改 {len(result['changed'])}",
              markup=False)
    for key, label in (("added", "新增"), ("removed", "撤回")):
        if result[key]:
            table = Table(title=f"{label}（{len(result[key])}）", title_justify="left")
            for column in ("类别", "编号或键", "内容"):
                table.add_column(column)
            for item in result[key]:
                shown = "，".join(f"{k}={v}" for k, v in item["record"].items()
                                 if v not in (None, [], False))
                _add_row(table, f"{item['kind']} {KINDS[item['kind']].ZH}", item["id"], shown)
            out.print(table)
    if result["changed"]:
        table = Table(title=f"修改（{len(result['changed'])}）", title_justify="left")
        for column in ("类别", "编号或键", "字段", "旧值", "新值"):
            table.add_column(column)
        for item in result["changed"]:
            for name, (old, new) in item["fields"].items():
                _add_row(table, f"{item['kind']} {KINDS[item['kind']].ZH}", item["id"], name,
                              _shown(old), _shown(new))
        out.print(table)


def _shown(value: Any) -> str:
    return "（空）" if value is None else str(value)


def _add_row(table: Table, *cells: str) -> None:
    """Cells as plain text: a value such as `[/]` in a unit's name is not Rich markup."""
    table.add_row(*(Text(cell) for cell in cells))
