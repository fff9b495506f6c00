"""The audit log (留痕): every login, failed login, submission, check, download, account
change and reading of the log itself, with who, when and from where. The auditor (审计员) reads
it, paged and filtered, in the portal (审计日志) and with `luoshi audit`; no other role can.

Each entry is a link of the log's own hash chain (facts/chain.py), written in the same
transaction as the entry, one writer at a time: `luoshi verify` finds an entry changed, removed
or inserted outside luoshi. Entries older than the retention ([audit] retention_days, at least
180) are pruned, oldest first, and the pruning is itself an entry naming the last link it
removed, so the chain still verifies."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from luoshi.facts import chain
from luoshi.facts.tables import AUDIT_LOG, LOGIN_REFUSALS

from .accounts import Account, now

ACTIONS = {"login": "登录", "login_failed": "登录失败", "logout": "退出", "submission": "报送",
           "check": "检查", "download": "下载", "account": "账号变更", "password": "修改密码",
           "totp": "双因素验证", "audit": "查阅审计日志", chain.PRUNED: "清理审计日志"}
OUTCOMES = {"ok": "成功", "refused": "拒绝", "failed": "失败"}
# How an entry's details read: key -> its Chinese name, and values named too.
DETAIL_NAMES = {"year": "年度", "as_of": "检查日", "run": "检查编号", "files": "文件", "load": "导入编号",
                "scope": "范围", "problems": "问题数", "what": "内容", "change": "变更", "user": "账号",
                "role": "角色", "unit": "单位", "tokens": "令牌数", "reason": "原因", "error": "错误",
                "count": "次数", "first": "第一次", "last": "最后一次", "names": "所用账号",
                "addresses": "来源地址", "reference": "参考编号（服务器日志）", "os_user": "系统用户",
                "temporary": "须在下次登录时修改", "filters": "条件", "format": "格式",
                "rows": "条数", "through": "清理至链上第几环", "through_hash": "该环哈希",
                "before": "早于", "days": "保存天数"}
DETAIL_VALUES = {"unit": "单位报送", "replace": "替换全部", "merge": "新增或修改",
                 "template": "报送模板", "original": "报送的原始文件", "notice": "整改通知书",
                 "report.html": "考核报告（网页）",
                 "report.xlsx": "考核报告（Excel）", "add": "新建", "disable": "停用",
                 "enable": "启用", "reset": "重置密码", "token": "新令牌", "revoke": "吊销令牌",
                 "after_restore": "从备份恢复后结束全部会话、吊销全部令牌",
                 "totp_off": "解除双因素", "enrol": "绑定", "throttled": "尝试过多，暂时锁定",
                 "throttled_window": "锁定时段内被拒绝的尝试（合计）", "password": "密码错误",
                 "code": "验证码错误", "admin": "系统管理员",
                 "auditor": "审计员", "office": "惩防办", "page": "页面", "csv": "CSV",
                 "json": "JSON"}
# Any constant: writers of the audit log take turns on this lock (PostgreSQL; SQLite's
# transactions that write are one at a time already).
AUDIT_LOCK = 7_236_185_034
NAMES_KEPT = 10  # names or addresses a throttled window lists (a script may try thousands)


def write(engine: sa.Engine, action: str, outcome: str = "ok", *, who: Account | str | None,
          address: str | None, unit: str | None = None, **detail: Any) -> None:
    assert action in ACTIONS and outcome in OUTCOMES
    name = who.name if isinstance(who, Account) else who
    with engine.begin() as connection:
        _lock(connection)
        _close_windows(connection)
        _append(connection, user_name=name, unit=unit, action=action, outcome=outcome,
                address=address, detail=detail)


def _lock(connection: sa.Connection) -> None:
    """Writers of the log take turns, from the start of their transaction to its end (taken
    first, before any other row is touched: no two writers wait for each other)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK})


def _append(connection: sa.Connection, **entry: Any) -> None:
    """Write one entry as the next link of the chain (in a transaction that took `_lock`)."""
    head = connection.execute(sa.select(AUDIT_LOG.c.chain_seq, AUDIT_LOG.c.chain_hash)
                              .where(AUDIT_LOG.c.chain_seq.is_not(None))
                              .order_by(AUDIT_LOG.c.chain_seq.desc()).limit(1)).first()
    seq, previous = (head[0] + 1, head[1]) if head else (1, chain.GENESIS)
    entry = {"at": now(), **entry}
    connection.execute(sa.insert(AUDIT_LOG).values(**entry, chain_seq=seq,
                                                   chain_hash=chain.audit_link(seq, previous, entry)))


# -- logins refused while throttled ------------------------------------------------------

def throttled(engine: sa.Engine, key: str, name: str, address: str | None,
              window: float) -> None:
    """A login refused while `key` (a name or an address) is throttled. The first of a window
    writes an entry at once; the later ones are counted (`login_refusals`), and when the window
    is over one entry gives their count, the last time and the names and addresses tried — two
    entries per window however many attempts a script makes."""
    moment = now()
    with engine.begin() as connection:
        _lock(connection)
        _close_windows(connection)
        found = connection.execute(sa.select(LOGIN_REFUSALS).where(LOGIN_REFUSALS.c.key == key)).first()
        if found is None:
            connection.execute(sa.insert(LOGIN_REFUSALS).values(
                key=key, started_at=moment, ends_at=moment + dt.timedelta(seconds=window), attempts=1,
                last_at=moment, names=[name], addresses=[address] if address else []))
            _append(connection, user_name=name, unit=None, action="login_failed",
                    outcome="refused", address=address, detail={"reason": "throttled"})
            return
        names, addresses = list(found.names), list(found.addresses)
        for seen, value in ((names, name), (addresses, address)):
            if value is not None and value not in seen and len(seen) < NAMES_KEPT:
                seen.append(value)
        connection.execute(sa.update(LOGIN_REFUSALS).where(LOGIN_REFUSALS.c.key == key).values(
            attempts=found.attempts + 1, last_at=moment, names=names, addresses=addresses))


def _close_windows(connection: sa.Connection) -> None:
    """Windows of refusals that are over: an entry for those after the first, then forgotten."""
    over = list(connection.execute(sa.select(LOGIN_REFUSALS).where(LOGIN_REFUSALS.c.ends_at <= now())))
    for window in over:
        if window.attempts > 1:
            _append(connection, user_name=window.names[0] if window.names else None, unit=None,
                    action="login_failed", outcome="refused",
                    address=window.addresses[0] if window.addresses else None,
                    detail={"reason": "throttled_window", "count": window.attempts,
                            "first": _iso(window.started_at), "last": _iso(window.last_at),
                            "names": window.names, "addresses": window.addresses})
        connection.execute(sa.delete(LOGIN_REFUSALS).where(LOGIN_REFUSALS.c.key == window.key))


def _iso(moment: dt.datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


# -- reading -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    """Which entries: by account name, unit, action and days (in the server's local time,
    both days included); None: any."""

    user: str | None = None
    unit: str | None = None
    action: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        conditions = []
        if self.user:
            conditions.append(AUDIT_LOG.c.user_name == self.user)
        if self.unit:
            conditions.append(AUDIT_LOG.c.unit == self.unit)
        if self.action:
            conditions.append(AUDIT_LOG.c.action == self.action)
        if self.since:
            conditions.append(AUDIT_LOG.c.at >= _day_start(self.since))
        if self.until:
            conditions.append(AUDIT_LOG.c.at < _day_start(self.until + dt.timedelta(days=1)))
        return conditions

    def described(self) -> dict[str, str]:
        """The filter as an entry's detail keeps it (only what was given)."""
        return {key: str(value) for key, value in vars(self).items() if value}


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of `day` in the server's local time, in UTC."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.UTC)


def count(engine: sa.Engine, chosen: Filter = Filter()) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(AUDIT_LOG)
                                 .where(*chosen.where())) or 0


def entries(engine: sa.Engine, chosen: Filter = Filter(), offset: int = 0,
            limit: int | None = None) -> list[sa.Row[Any]]:
    """The entries `chosen`, newest first, from `offset` (at most `limit`; None: all)."""
    statement = sa.select(AUDIT_LOG).where(*chosen.where()).order_by(AUDIT_LOG.c.id.desc())
    if offset:
        statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(statement))


def prune(engine: sa.Engine, days: int) -> int:
    """Delete the entries older than `days` days (the oldest links of the chain, up to the
    newest of them) and write an entry saying so; how many were deleted."""
    cutoff = now() - dt.timedelta(days=days)
    with engine.begin() as connection:
        _lock(connection)
        through = connection.scalar(sa.select(sa.func.max(AUDIT_LOG.c.chain_seq))
                                    .where(AUDIT_LOG.c.at < cutoff))
        if through is None:
            return 0
        through_hash = connection.scalar(sa.select(AUDIT_LOG.c.chain_hash)
                                         .where(AUDIT_LOG.c.chain_seq == through))
        deleted = connection.execute(sa.delete(AUDIT_LOG).where(
            AUDIT_LOG.c.chain_seq <= through)).rowcount
        _append(connection, user_name=None, unit=None, action=chain.PRUNED, outcome="ok",
                address=None, detail={"through": through, "through_hash": through_hash,
                                      "rows": deleted, "before": cutoff.isoformat(), "days": days})
    return deleted


def submission_states(engine: sa.Engine, unit: str | None = None) -> dict[str, tuple[str, Any]]:
    """Per unit, the outcome (`ok` or `refused`) and time of its latest submission through
    the portal; with `unit`, that unit's only (in the query)."""
    statement = sa.select(AUDIT_LOG.c.unit, AUDIT_LOG.c.outcome, AUDIT_LOG.c.at).where(
        AUDIT_LOG.c.action == "submission", AUDIT_LOG.c.unit.is_not(None),
        AUDIT_LOG.c.outcome.in_(("ok", "refused"))).order_by(AUDIT_LOG.c.id)
    if unit is not None:
        statement = statement.where(AUDIT_LOG.c.unit == unit)
    with engine.connect() as connection:
        return {row.unit: (row.outcome, row.at) for row in connection.execute(statement)}


# -- as people and programs read it --------------------------------------------------------

def local_time(moment: dt.datetime | str | None) -> str:
    """A stored UTC time (or its ISO text, as an entry's detail keeps it) in the server's local
    time."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def detail_text(detail: Any) -> str:
    """An entry's detail in Chinese, as the page and the CSV show it."""
    if not isinstance(detail, dict):
        return str(detail)
    parts = []
    for key, value in detail.items():
        if key in ("first", "last"):
            shown = local_time(value) if isinstance(value, str) else str(value)
        elif isinstance(value, bool):
            shown = "是" if value else "否"
        elif isinstance(value, str):
            shown = DETAIL_VALUES.get(value, value)
        elif isinstance(value, dict):
            shown = "，".join(f"{DETAIL_NAMES.get(k, k)} {v}" for k, v in sorted(value.items()))
        elif isinstance(value, list):
            shown = "、".join(str(item) for item in value)
        else:
            shown = str(value)
        parts.append(f"{DETAIL_NAMES.get(key, key)}：{shown}")
    return "；".join(parts)


def plain(entry: sa.Row[Any]) -> dict[str, Any]:
    """An entry as `--format json` gives it."""
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)
    return {"id": entry.id, "at": at.isoformat(), "user": entry.user_name, "unit": entry.unit,
            "action": entry.action, "outcome": entry.outcome, "address": entry.address,
            "detail": entry.detail, "chain_seq": entry.chain_seq, "chain_hash": entry.chain_hash}


CSV_HEADER = ("编号", "时间", "用户", "操作", "结果", "单位", "来源地址", "详情", "链上序号", "链上哈希")


def csv_text(found: list[sa.Row[Any]]) -> str:
    """The entries as CSV (UTF-8 with a BOM, so that Excel and WPS read the Chinese), each
    value that a spreadsheet would take for a formula kept as text."""
    import csv
    import io

    from luoshi.facts.export import defuse

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for entry in found:
        writer.writerow([defuse(value) for value in (
            entry.id, local_time(entry.at), entry.user_name or "", ACTIONS.get(entry.action, entry.action),
            OUTCOMES.get(entry.outcome, entry.outcome), entry.unit or "", entry.address or "",
            detail_text(entry.detail), entry.chain_seq, entry.chain_hash)])
    return "\ufeff" + buffer.getvalue()
