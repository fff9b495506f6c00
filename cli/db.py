"""`luoshi db upgrade`: the database's schema brought to this luoshi's (docs/deploy.md)."""

from __future__ import annotations

import typer
from rich.text import Text

from .console import err, exit_on_errors
from .options import DbOption

app = typer.Typer(help="数据库的维护：升级结构。", no_args_is_help=True, rich_markup_mode=None)


@app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """把数据库的结构升级到这个 luoshi 的版本（在一个事务中；先备份）；空数据库在其中建立 luoshi 的结构。
    别的应用的数据库、更新版本的 luoshi 建立的数据库不会被改动。luoshi serve 启动时也做这一步。"""
    from luoshi.facts import store

    with exit_on_errors():
        engine = store.connect(db)
        try:
            before, after = store.migrate(engine)
        except store.SQLAlchemyError as error:
            raise store.StoreError(store.describe_error(error, engine)) from None
        finally:
            engine.dispose()
    where = store.database_url(db)
    if before == after:
        message = f"数据库 {where} 的结构已是最新（版本 {after}），没有改动。"
    elif before is None:
        message = f"已在空数据库 {where} 中建立 luoshi 的结构（版本 {after}）。"
    else:
        message = f"已把数据库 {where} 的结构从版本 {before} 升级到 {after}。"
    err.print(Text(message, style="green"))
