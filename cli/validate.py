"""`luoshi validate PATH...`: check facts files against the input contract; store nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.facts.validate import read_facts

from .console import counts_table, err, exit_on_errors, out, progress_bars, said, total_size

PathsArgument = Annotated[
    list[str],
    typer.Argument(help="事实数据文件或文件夹（YAML、JSON、CSV、XLSX）", show_default=False),
]


def validate(paths: PathsArgument) -> None:
    """校验事实数据：语法、字段、类型、枚举、编号唯一、引用存在。不写入数据库。"""
    with exit_on_errors(storing=True), progress_bars(total_size(paths)) as progress:
        facts, inputs = read_facts(paths, progress)
    counts = {kind: {"records": number} for kind, number in facts.counts().items()}
    out.print(counts_table("记录数", counts, {"records": "记录数"}))
    err.print(said("校验通过", "green", f"：{len(inputs)} 个文件，{len(facts)} 条记录。"))
