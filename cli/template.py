"""`luoshi template --out FILE.xlsx [--from PATH...]`: the workbook a unit fills in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from luoshi.facts.template import write_template
from luoshi.facts.validate import read_facts

from .console import err, exit_on_errors, output_file


def template(
    out: Annotated[Path, typer.Option("--out", help="要生成的 XLSX 文件", show_default=False)] = ...,
    source: Annotated[list[str] | None, typer.Option(
        "--from", help="用这些事实数据预先填好（如去年的报送）")] = None,
) -> None:
    """生成报送数据的 Excel 模板：每类数据一个工作表，中文表头，下拉选项，说明页。"""
    with exit_on_errors():
        output_file(out, "--out", (".xlsx",))
        facts = read_facts(source)[0] if source else None
        write_template(out, facts)
    err.print(f"[green]已生成模板[/] {out}")
