"""`luoshi template --out FILE.xlsx [--from PATH... | --db URL]`: the workbook a unit fills in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from luoshi.facts.factset import rows_of
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.facts.template import write_template
from luoshi.facts.validate import read_facts

from .console import err, exit_on_errors, output_file, said
from .options import DbOption


def template(
    out: Annotated[Path, typer.Option("--out", help="要生成的 XLSX 文件", show_default=False)] = ...,  # type: ignore[assignment]
    source: Annotated[list[str] | None, typer.Option(
        "--from", help="用这些事实数据预先填好（如去年的报送），并提供单位、人员等编号的下拉列表")] = None,
    db: DbOption = None,
) -> None:
    """生成报送数据的 Excel 模板：每类数据一个工作表，中文表头，下拉选项，示例行，说明页。"""
    with exit_on_errors():
        output_file(out, "--out", (".xlsx",))
        if source and db:
            raise InputError([Problem(Location("--db"), "C001", "--from 与 --db 只能给出一个")])
        if source:
            rows = rows_of(read_facts(source)[0])
        elif db:
            from luoshi.facts import store

            rows = store.read_rows(db)
        else:
            rows = None
        write_template(out, rows)
    err.print(said("已生成模板", "green", f" {out}"))
