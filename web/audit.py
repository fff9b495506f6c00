"""The audit log (留痕): every login, failed login, submission, check, download and account
change, with who, when and from where; the office reads it in the portal (审计日志)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from luoshi.facts.tables import AUDIT_LOG

from .accounts import Account, now
from .security import Refusals

ACTIONS = {"login": "登录", "login_failed": "登录失败", "logout": "退出", "submission": "报送",
           "check": "检查", "download": "下载", "account": "账号变更"}
OUTCOMES = {"ok": "成功", "refused": "拒绝", "failed": "失败"}
# How an entry's details read in the portal: key -> its Chinese name, and values named too.
DETAIL_NAMES = {"year": "年度", "as_of": "检查日", "run": "检查编号", "files": "文件", "load": "导入编号",
                "scope": "范围", "problems": "问题数", "what": "内容", "change": "变更", "user": "账号",
                "role": "角色", "unit": "单位", "tokens": "令牌数", "reason": "原因", "error": "错误",
                "count": "次数", "last": "最后一次", "names": "所用账号", "addresses": "来源地址",
                "reference": "参考编号（服务器日志）", "sessions": "会话数", "disabled": "停用的账号"}
DETAIL_VALUES = {"unit": "单位报送", "replace": "替换全部", "merge": "新增或修改",
                 "template": "报送模板", "original": "报送的原始文件", "notice": "整改通知书",
                 "report.html": "考核报告（网页）",
                 "report.xlsx": "考核报告（Excel）", "add": "新建", "disable": "停用",
                 "token": "新令牌", "revoke": "吊销令牌",
                 "after_restore": "从备份恢复后结束全部会话、吊销全部令牌", "throttled": "尝试过多，暂时锁定",
                 "office": "纪委（办公室）"}


def write(engine: sa.Engine, action: str, outcome: str = "ok", *, who: Account | str | None,
          address: str | None, unit: str | None = None, **detail: Any) -> None:
    assert action in ACTIONS and outcome in OUTCOMES
    name = who.name if isinstance(who, Account) else who
    with engine.begin() as connection:
        connection.execute(sa.insert(AUDIT_LOG).values(
            at=now(), user_name=name, unit=unit, action=action, outcome=outcome,
            address=address, detail=detail))


def throttled(engine: sa.Engine, refusals: Refusals) -> None:
    """A login refused while throttled: the first of a window of them writes a row (with the
    first name and address tried; the detail lists the others), the later ones bring its count
    and last time up to date: one row per name or address and window, however many attempts
    a script makes."""
    detail = {"reason": "throttled", "count": refusals.count, "last": now().isoformat(),
              "names": refusals.names, "addresses": refusals.addresses}
    with engine.begin() as connection:
        if refusals.row is None:
            refusals.row = connection.execute(sa.insert(AUDIT_LOG).values(
                at=now(), user_name=refusals.names[0], unit=None, action="login_failed",
                outcome="refused", address=refusals.addresses[0] if refusals.addresses else None,
                detail=detail).returning(AUDIT_LOG.c.id)).scalar_one()
        else:
            connection.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.id == refusals.row)
                               .values(detail=detail))


def entries(engine: sa.Engine, limit: int = 500) -> list[sa.Row[Any]]:
    """The newest entries first."""
    with engine.connect() as connection:
        return list(connection.execute(
            sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.id.desc()).limit(limit)))


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
