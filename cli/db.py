"""`luoshi db upgrade`: the database's schema brought to this luoshi's; `luoshi db after-restore`:
what a restored backup brings back that must not come back (docs/deploy.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from luoshi.facts.problems import InputError, Location, Problem

from .console import err, exit_on_errors
from .options import DbOption

app = typer.Typer(help="数据库的维护：升级结构；从备份恢复之后结束会话、吊销令牌。", no_args_is_help=True,
                  rich_markup_mode=None)
WHERE = "命令行"  # where the audit log says an action came from


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


@app.command("after-restore")
def after_restore(
    db: DbOption = None,
    before: Annotated[str | None, typer.Option(
        "--before", help="被替换的原数据库（恢复时改名留下的；SQLAlchemy 地址或 SQLite 文件路径）："
                         "在其中停用的账号、备份之后改过口令的账号，在恢复的数据库中停用",
        show_default=False)] = None,
) -> None:
    """从备份恢复数据库之后、启动门户之前运行：结束全部登录会话，吊销全部 API 令牌；给出 --before 时，
    原数据库中已停用的账号、备份之后改过口令的账号在恢复的数据库中停用。"""
    from luoshi.facts import store
    from luoshi.facts.restore import after_restore as restored
    from luoshi.web import audit

    with exit_on_errors():
        if before is not None and store.database_url(before) == store.database_url(db):
            raise InputError([Problem(Location("--before"), "C001",
                                      "--before 应是被替换的原数据库，不是恢复的这一个")])
        engine = store.connect(db)
        replaced = store.connect(before) if before is not None else None
        try:
            done = restored(engine, replaced)
            audit.write(engine, "account", who=None, address=WHERE, change="after_restore",
                        sessions=done.sessions, tokens=sum(done.tokens.values()),
                        disabled=sorted(done.disabled + done.passwords))
        except store.SQLAlchemyError as error:
            raise store.StoreError(store.describe_error(error, engine)) from None
        finally:
            engine.dispose()
            if replaced is not None:
                replaced.dispose()
    lines = [f"已结束 {done.sessions} 个登录会话，吊销 {sum(done.tokens.values())} 个 API 令牌"
             + ("（" + "、".join(f"{name} {count} 个" for name, count in sorted(done.tokens.items()))
                + "；用 luoshi users token 重新签发）" if done.tokens else "") + "。"]
    if before is None:
        lines.append("没有给出 --before：备份之后停用的账号、改过的口令无从得知，已恢复为备份时的状态；"
                     "请按工作记录核对账号（luoshi users list）。")
    else:
        if done.disabled:
            lines.append(f"原数据库中已停用、在此重新停用的账号：{'、'.join(done.disabled)}。")
        if done.passwords:
            lines.append(f"备份之后改过口令、已停用的账号（重置口令后再启用）：{'、'.join(done.passwords)}。")
        if done.missing:
            lines.append(f"备份之后新建、恢复的数据库中没有的账号（需要时重新建立）：{'、'.join(done.missing)}。")
    for line in lines:
        err.print(Text(line))
