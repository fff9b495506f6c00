"""`luoshi users add|list|disable|token|revoke`: the portal's accounts (docs/web.md).

Every change is written to the audit log, with 命令行 as where it came from."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.problems import InputError, Location, Problem

from .console import err, exit_on_errors, out
from .options import DbOption

app = typer.Typer(help="门户账号：新建、列出、停用，API 令牌的签发与吊销。", no_args_is_help=True,
                  rich_markup_mode=None)
NameArgument = Annotated[str, typer.Argument(help="用户名", show_default=False)]
WHERE = "命令行"


@contextmanager
def _accounts(db: str | None) -> Iterator[Any]:
    """The store's engine, ready to write (`database.writable`), with the errors of a command."""
    from luoshi.facts import store

    with exit_on_errors():
        engine = store.connect(db)
        try:
            store.database.writable(engine)
            yield engine
        except store.SQLAlchemyError as error:
            raise store.StoreError(store.describe_error(error, engine)) from None
        finally:
            engine.dispose()


@app.command("add")
def add(
    name: NameArgument,
    role: Annotated[str, typer.Option("--role", help="office（惩防办）或 unit（报送单位）",
                                      show_default=False)] = ...,  # type: ignore[assignment]
    unit: Annotated[str | None, typer.Option("--unit", help="单位账号所属单位的编号",
                                             show_default=False)] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="从标准输入读取密码（第一行）")] = False,
    db: DbOption = None,
) -> None:
    """新建账号；密码从标准输入读取，只保存其 argon2 散列。"""
    from luoshi.web import accounts, audit

    with _accounts(db) as engine:
        if not password_stdin:
            raise InputError([Problem(Location("--password-stdin"), "C001",
                                      "请用 --password-stdin 从标准输入给出密码（不要写在命令行里）")])
        password = sys.stdin.readline().rstrip("\r\n")
        account = accounts.add_user(engine, name, role, unit, password)
        audit.write(engine, "account", who=None, address=WHERE, unit=unit, change="add",
                    user=name, role=role)
    err.print(Text(f"已新建账号 {account.name}（{_role(account.role, account.unit)}）", style="green"))


def _role(role: str, unit: str | None) -> str:
    return "惩防办" if role == "office" else f"单位 {unit}"


@app.command("list")
def list_users(db: DbOption = None) -> None:
    """列出全部账号。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        found = accounts.users(engine)
        tokens = accounts.tokens_in_force(engine)
    table = Table(title=f"账号（{len(found)} 个）", title_justify="left")
    for label in ("用户名", "角色", "状态", "有效令牌", "建立时间（UTC）"):
        table.add_column(label)
    for user in found:
        table.add_row(*(Text(cell) for cell in (
            user.name, _role(user.role, user.unit), "已停用" if user.disabled else "在用",
            str(tokens.get(user.id, 0)), user.created_at.strftime("%Y-%m-%d %H:%M"))))
    out.print(table)


@app.command("disable")
def disable(name: NameArgument, db: DbOption = None) -> None:
    """停用账号：其登录会话立即结束，API 令牌全部吊销。"""
    from luoshi.web import accounts, audit

    with _accounts(db) as engine:
        accounts.disable(engine, name)
        audit.write(engine, "account", who=None, address=WHERE, change="disable", user=name)
    err.print(Text(f"已停用账号 {name}", style="green"))


@app.command("token")
def token(name: NameArgument, db: DbOption = None) -> None:
    """签发新的 API 令牌并输出到标准输出（只显示这一次；数据库只保存其散列）。"""
    from luoshi.web import accounts, audit

    with _accounts(db) as engine:
        value = accounts.new_token(engine, name)
        audit.write(engine, "account", who=None, address=WHERE, change="token", user=name)
    sys.stdout.write(value + "\n")


@app.command("revoke")
def revoke(name: NameArgument, db: DbOption = None) -> None:
    """吊销该账号的全部 API 令牌。"""
    from luoshi.web import accounts, audit

    with _accounts(db) as engine:
        count = accounts.revoke(engine, name)
        audit.write(engine, "account", who=None, address=WHERE, change="revoke", user=name,
                    tokens=count)
    err.print(Text(f"已吊销 {name} 的 {count} 个令牌", style="green"))
