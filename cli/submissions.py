"""`luoshi submissions` and `luoshi changes`: the loads a store received, and what they changed."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path, PurePath
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.kinds import KINDS
from luoshi.facts.problems import InputError, Location, Problem, StoreError

from .console import err, exit_on_errors, out
from .options import DbOption

FormatOption = Annotated[str, typer.Option("--format", help="table 或 json")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="只看这个单位的", show_default=False)]
SCOPE_ZH = {"merge": "新增或修改", "unit": "单位报送", "replace": "替换全部"}
COUNTS_ZH = {"added": "新增", "changed": "修改", "removed": "撤回", "unchanged": "未变"}


def _check_format(output_format: str) -> None:
    if output_format not in ("table", "json"):
        raise InputError([Problem(Location("--format"), "C001", "应为 table 或 json")])


def submissions(db: DbOption = None, unit: UnitOption = None,
                output_format: FormatOption = "table",
                files: Annotated[int | None, typer.Option(
                    "--files", help="取回第 N 次导入所报送的原始文件（逐字节相同，与 --out 同用）",
                    show_default=False)] = None,
                out_dir: Annotated[Path | None, typer.Option(
                    "--out", help="--files 取回的文件写入这个文件夹", show_default=False)] = None,
                ) -> None:
    """列出每一次导入（最新的在前）：收到时间、报送人、范围、文件及其 sha256、新增 / 修改 / 撤回 / 未变条数；
    --files N --out DIR 取回第 N 次导入所报送的原始文件。"""
    from luoshi.facts import store

    if files is not None or out_dir is not None:
        _write_files(db, files, out_dir)
        return
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
        listed = "\n".join(f"{f['path']}（{f['sha256'][:12]}…，{f['size']} 字节）"
                           for f in item["files"])
        _add_row(table, str(item["id"]), item["received"][:16].replace("T", " "), item["by"] or "",
                      scope, listed, *(str(item["totals"][key]) for key in COUNTS_ZH),
                      item["note"] or "")
    out.print(table)


def _write_files(db: str | None, load_id: int | None, folder: Path | None) -> None:
    """Each kept file under `folder` at its path as submitted (made relative: no root, no
    `..`), read back and checked against the sha256 the load recorded."""
    from luoshi.facts import store

    with exit_on_errors():
        if load_id is None or folder is None:
            raise InputError([Problem(Location("--files"), "C001", "--files 与 --out 须同时给出")])
        kept = store.submission_files(db, load_id)
        written = []
        for item in kept:
            parts = [part for part in PurePath(item.path.replace("\\", "/")).parts
                     if part not in ("/", "..", ".") and not part.endswith(":")]
            target = folder.joinpath(*parts) if parts else folder / "file"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(item.data)
            actual = hashlib.sha256(target.read_bytes()).hexdigest()
            if actual != item.sha256:
                raise StoreError(f"第 {load_id} 次导入的文件 {item.path} 取回后 sha256 为 {actual}，"
                                 f"与导入时记录的 {item.sha256} 不符：数据库中的内容已被改动"
                                 "（luoshi verify 查看）")
            written.append((item.path, target, actual))
    for path, target, digest in written:
        out.print(Text(f"{target}（原为 {path}，sha256 {digest}，与导入时一致）"))
    err.print(f"已取回第 {load_id} 次导入的 {len(written)} 个文件。")


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
