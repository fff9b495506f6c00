"""`luoshi load PATH... [--db URL]`: validate, then store the whole set in one transaction."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.facts.validate import read_facts

from .console import counts_table, err, exit_on_errors, out, progress_bars, total_size
from .validate import PathsArgument

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="数据库：SQLAlchemy 地址或 SQLite 文件路径；默认取环境变量 LUOSHI_DB，"
                              "否则为当前目录下的 luoshi.db", show_default=False),
]


def load(paths: PathsArgument, db: DbOption = None) -> None:
    """校验并导入事实数据：整批写入一个事务，要么全部存入，要么什么都不存。"""
    from luoshi.facts import store  # SQLAlchemy is imported only by commands that use it

    with exit_on_errors(storing=True), progress_bars(total_size(paths)) as progress:
        facts, inputs = read_facts(paths, progress)
        result = store.load(facts, inputs, db, progress, waiting=lambda text: err.print(text))
    out.print(counts_table("导入结果", result.counts,
                           {"records": "记录数", "inserted": "新增", "updated": "更新"}))
    err.print(f"[green]已导入[/] {store.database_url(db)}（第 {result.load_id} 次导入，"
              f"{len(inputs)} 个文件，{len(facts)} 条记录）。")
