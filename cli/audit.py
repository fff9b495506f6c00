"""`luoshi audit [--user] [--unit] [--action] [--since] [--until] [--format table|csv|json]`:
the portal's audit log, every entry that matches (newest first, none left out), for the auditor
at the server or a script that files it elsewhere (docs/web.md)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.problems import InputError, Location, Problem

from .console import err, exit_on_errors, out
from .options import DbOption

FORMATS = ("table", "csv", "json")


def _day(text: str | None, option: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError([Problem(Location(option), "C001",
                                  f"应为日期，如 2026-12-01，而不是 {text!r}")]) from None


def audit(
    user: Annotated[str | None, typer.Option("--user", help="只看这个账号的记录", show_default=False)] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只看涉及这个单位的记录", show_default=False)] = None,
    action: Annotated[str | None, typer.Option(
        "--action", help="只看这种操作：login、login_failed、logout、submission、check、download、"
                         "account、password、totp、audit、prune", show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", help="起始日期（含），如 2026-12-01",
                                              show_default=False)] = None,
    until: Annotated[str | None, typer.Option("--until", help="截止日期（含）", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", help="table、csv 或 json")] = "table",
    db: DbOption = None,
) -> None:
    """列出门户的审计日志（最新的在前，符合条件的全部列出）；CSV 与 JSON 用于归档或导入其他系统。
    每次查阅本身也记入审计日志。"""
    from luoshi.facts import store
    from luoshi.web import audit as log

    with exit_on_errors():
        if output_format not in FORMATS:
            raise InputError([Problem(Location("--format"), "C001", "应为 table、csv 或 json")])
        if action is not None and action not in log.ACTIONS:
            raise InputError([Problem(Location("--action"), "C001",
                                      f"未知的操作 {action!r}，可用：{'、'.join(log.ACTIONS)}")])
        chosen = log.Filter(user, unit, action, _day(since, "--since"), _day(until, "--until"))
        engine = store.connect(db)
        try:
            store.migrate(engine)
            found = log.entries(engine, chosen)
            try:
                os_user = getpass.getuser()
            except (KeyError, OSError):
                os_user = None
            try:
                log.write(engine, "audit", who=None, address="命令行", filters=chosen.described(),
                          format=output_format, rows=len(found), os_user=os_user)
            except store.SQLAlchemyError as error:  # a backup on a read-only mount: still shown
                err.print(Text(f"警告：本次查阅未能记入审计日志（{store.describe_error(error, engine)}）",
                               style="bold red"))
        except store.SQLAlchemyError as error:
            raise store.StoreError(store.describe_error(error, engine)) from None
        finally:
            engine.dispose()
    if output_format == "csv":
        sys.stdout.write(log.csv_text(found).lstrip("\ufeff"))
        return
    if output_format == "json":
        sys.stdout.write(json.dumps([log.plain(entry) for entry in found], ensure_ascii=False,
                                    indent=1) + "\n")
        return
    table = Table(title=f"审计日志（{len(found)} 条）", title_justify="left")
    for label in ("时间", "用户", "操作", "结果", "单位", "来源地址", "详情"):
        table.add_column(label)
    for entry in found:
        table.add_row(*(Text(cell) for cell in (
            log.local_time(entry.at), entry.user_name or "—", log.ACTIONS.get(entry.action, entry.action),
            log.OUTCOMES.get(entry.outcome, entry.outcome), entry.unit or "", entry.address or "",
            log.detail_text(entry.detail))))
    out.print(table)
