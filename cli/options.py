"""Options several commands share (here, not in a command's module: importing one command's
module for its option would import that command's dependencies too)."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="数据库：SQLAlchemy 地址或 SQLite 文件路径；默认取环境变量 LUOSHI_DB，"
                              "否则为当前目录下的 luoshi.db", show_default=False),
]
