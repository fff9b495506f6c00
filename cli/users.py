"""`luoshi users add|list|passwd|disable|enable|totp|token|revoke`: the portal's accounts
(docs/web.md), as the person at the server manages them.

Every change is written to the audit log, with 命令行 as where it came from and the system user
who ran the command. Password rules come from [accounts] of luoshi.toml (or --config)."""

from __future__ import annotations

import getpass
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
from .policies import ConfigOption

app = typer.Typer(help="门户账号：新建、列出、改密码、停用与启用、双因素验证，API 令牌的签发与吊销。",
                  no_args_is_help=True, rich_markup_mode=None)
NameArgument = Annotated[str, typer.Argument(help="用户名", show_default=False)]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码（第一行）")]
Temporary = Annotated[bool, typer.Option(
    "--temporary", help="临时密码：本人首次登录时须修改（为别人设密码时应加上）")]
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


def _audit(engine: Any, change: str, name: str, **detail: Any) -> None:
    from luoshi.web import audit

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        os_user = None
    audit.write(engine, "account", who=None, address=WHERE, change=change, user=name,
                os_user=os_user, **detail)


def _password(given: bool) -> str:
    if not given:
        raise InputError([Problem(Location("--password-stdin"), "C001",
                                  "请用 --password-stdin 从标准输入给出密码（不要写在命令行里）")])
    return sys.stdin.readline().rstrip("\r\n")


def _rules(config: str | None) -> Any:
    from luoshi.engine.settings import load_settings

    return load_settings(config).accounts


@app.command("add")
def add(
    name: NameArgument,
    role: Annotated[str, typer.Option("--role", help="admin（系统管理员，只管账号）、auditor（审计员，"
                                                     "只看审计日志）、office（惩防办）或 unit（报送单位）",
                                      show_default=False)] = ...,  # type: ignore[assignment]
    unit: Annotated[str | None, typer.Option("--unit", help="单位账号所属单位的编号",
                                             show_default=False)] = None,
    password_stdin: PasswordStdin = False,
    temporary: Temporary = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """新建账号；密码从标准输入读取，只保存其 argon2 散列。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        password = _password(password_stdin)
        account = accounts.add_user(engine, name, role, unit, password, _rules(config),
                                    temporary=temporary)
        _audit(engine, "add", name, unit=unit, role=role, temporary=temporary)
    err.print(Text(f"已新建账号 {account.name}（{account.title}）", style="green"))


@app.command("list")
def list_users(db: DbOption = None) -> None:
    """列出全部账号。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        found = accounts.users(engine)
        tokens = accounts.tokens_in_force(engine)
    table = Table(title=f"账号（{len(found)} 个）", title_justify="left")
    for label in ("用户名", "角色", "状态", "双因素", "有效令牌", "建立时间（UTC）"):
        table.add_column(label)
    for user in found:
        role = accounts.ROLE_NAMES.get(user.role, user.role) + (f" {user.unit}" if user.unit else "")
        state = "已停用" if user.disabled else "在用（须改密码）" if user.must_change_password else "在用"
        table.add_row(*(Text(cell) for cell in (
            user.name, role, state, "已绑定" if user.totp_secret else "—",
            str(tokens.get(user.id, 0)), user.created_at.strftime("%Y-%m-%d %H:%M"))))
    out.print(table)


@app.command("passwd")
def passwd(name: NameArgument, password_stdin: PasswordStdin = False, temporary: Temporary = False,
           db: DbOption = None, config: ConfigOption = None) -> None:
    """设置（重置）账号的密码，从标准输入读取；该账号的登录会话全部结束，API 令牌不变。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        password = _password(password_stdin)
        accounts.reset_password(engine, name, password, _rules(config), temporary=temporary)
        _audit(engine, "reset", name, temporary=temporary)
    err.print(Text(f"已设置 {name} 的密码，其登录会话已全部结束"
                   + ("；首次登录时须修改" if temporary else ""), style="green"))


@app.command("disable")
def disable(name: NameArgument, db: DbOption = None) -> None:
    """停用账号：其登录会话立即结束，API 令牌全部吊销。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        accounts.disable(engine, name)
        _audit(engine, "disable", name)
    err.print(Text(f"已停用账号 {name}", style="green"))


@app.command("enable")
def enable(name: NameArgument, db: DbOption = None) -> None:
    """重新启用停用的账号（已吊销的令牌仍然无效）。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        accounts.enable(engine, name)
        _audit(engine, "enable", name)
    err.print(Text(f"已启用账号 {name}", style="green"))


@app.command("totp")
def totp_command(name: NameArgument,
                 off: Annotated[bool, typer.Option("--off", help="解除该账号的双因素验证（手机丢失时）")] = False,
                 db: DbOption = None, config: ConfigOption = None) -> None:
    """为账号绑定双因素验证（TOTP）：标准输出给出 otpauth:// 地址与密钥，把它交给账号本人加入验证器，
    再从标准输入读入验证器显示的 6 位验证码确认；--off 解除。"""
    from luoshi.web import accounts, totp

    with _accounts(db) as engine:
        rules = _rules(config)
        if off:
            accounts.remove_totp(engine, name)
            _audit(engine, "totp_off", name)
            err.print(Text(f"已解除 {name} 的双因素验证，其登录会话已全部结束", style="green"))
            return
        row = accounts.user_row(engine, name)
        if row.totp_secret:
            raise accounts.problem(f"用户 {name} 已绑定双因素验证；重新绑定请先用 --off 解除", "NAME")
        secret = totp.new_secret()
        sys.stdout.write(f"{totp.uri(secret, name)}\n密钥：{totp.grouped(secret)}\n")
        sys.stdout.flush()
        err.print("请在验证器中加入上面的地址或密钥，再输入它显示的 6 位验证码：", markup=False)
        accounts.enrol_totp(engine, name, secret, sys.stdin.readline(), rules)
        _audit(engine, "enrol", name)
    err.print(Text(f"已为 {name} 绑定双因素验证", style="green"))


@app.command("token")
def token(name: NameArgument, db: DbOption = None) -> None:
    """签发新的 API 令牌并输出到标准输出（只显示这一次；数据库只保存其散列）。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        value = accounts.new_token(engine, name)
        _audit(engine, "token", name)
    sys.stdout.write(value + "\n")


@app.command("revoke")
def revoke(name: NameArgument, db: DbOption = None) -> None:
    """吊销该账号的全部 API 令牌。"""
    from luoshi.web import accounts

    with _accounts(db) as engine:
        count = accounts.revoke(engine, name)
        _audit(engine, "revoke", name, tokens=count)
    err.print(Text(f"已吊销 {name} 的 {count} 个令牌", style="green"))
