"""Who is asking, and may they: a bearer token (scripts) or the signed session cookie (the
browser, whose every state-changing request must also carry the session's CSRF token), and the
role an action needs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, TimestampSigner
from starlette.exceptions import HTTPException
from starlette.requests import Request

from luoshi.engine.settings import AccountRules

from . import accounts
from .accounts import Account, Session
from .pipeline import Pipeline
from .throttle import Throttle

# One answer for what does not exist and for what is another unit's: nothing tells them apart.
NOT_FOUND = "没有找到（不存在，或不在本账号的权限范围内）"
COOKIE = "luoshi_session"
LOGIN_COOKIE = "luoshi_login"  # the CSRF token of the login form, before any session


@dataclass
class Portal:
    """What every handler shares."""

    engine: sa.Engine
    pipeline: Pipeline
    signer: TimestampSigner
    throttle: Throttle
    max_upload: int  # bytes of one request's body
    light_days: int  # yellow: due within this many days
    secure_cookies: bool  # set the Secure flag (behind TLS)
    max_unpacked: int  # bytes all files of one submission may unpack to
    rules: AccountRules  # [accounts] of luoshi.toml
    max_records: int  # records one submission may hold


def portal(request: Request) -> Portal:
    return request.app.state.portal


def address(request: Request) -> str | None:
    return request.client.host if request.client else None


def secure(request: Request) -> bool:
    """Whether cookies get the Secure flag: with --secure-cookies, and always for a request
    that came over HTTPS (behind the proxy, uvicorn takes the scheme from X-Forwarded-Proto),
    so that a deployment that forgot the flag still never lets a session cookie go in clear."""
    return portal(request).secure_cookies or request.url.scheme == "https"


def session_id(request: Request) -> str | None:
    """The session id the cookie names, if its signature is ours (its age is the database's
    to judge)."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        return portal(request).signer.unsign(value).decode()
    except BadSignature:  # forged
        return None


def login_session(request: Request) -> Session | None:
    """The session of the cookie, in force or with a login still to finish."""
    if not hasattr(request.state, "session"):
        named = session_id(request)
        state = portal(request)
        request.state.session = accounts.session(state.engine, named, state.rules) if named else None
    found: Session | None = request.state.session
    return found


def who(request: Request) -> Account | None:
    """The account of a valid bearer token or session in force; the session's CSRF token is
    kept in `request.state.csrf` (None for a token, which a browser never sends by itself)."""
    if hasattr(request.state, "account"):
        cached: Account | None = request.state.account
        return cached
    account: Account | None = None
    request.state.csrf = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        account = accounts.by_token(portal(request).engine, header[7:].strip())
    else:
        found = login_session(request)
        if found is not None and found.stage is None:
            account, request.state.csrf = found.account, found.csrf
    request.state.account = account
    return account


# Who may do what, by role (docs/web.md): the data is the office's and the units'; accounts are
# the administrator's alone, the audit log the auditor's alone, so that no account both acts and
# reads (or could erase) the trail of what it did.
DATA = ("office", "unit")
REFUSED = {("office",): "只有惩防办的账号可以这样做", ("admin",): "只有系统管理员可以管理账号",
           ("auditor",): "只有审计员可以查看审计日志",
           DATA: "系统管理员与审计员的账号不处理报送数据（请用惩防办或单位的账号）"}


def require(request: Request, *roles: str) -> Account:
    """The account asking, else 401; 403 unless its role is one of `roles` (default: the
    office's and the units', whose business the data is)."""
    account = who(request)
    if account is None:
        raise HTTPException(401, "请先登录")
    roles = roles or DATA
    if account.role not in roles:
        raise HTTPException(403, REFUSED.get(roles, "本账号的角色无权这样做"))
    return account


def check_csrf(request: Request, given: Any) -> None:
    """A request made with the cookie must carry the session's CSRF token (form field `csrf`
    or header X-CSRF-Token); one made with a token needs none."""
    expected = getattr(request.state, "csrf", None)
    if expected is None:
        return
    given = given or request.headers.get("x-csrf-token")
    if not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise HTTPException(403, "表单已失效（缺少或错误的 CSRF 令牌），请刷新页面后重试")


def own_unit(account: Account, unit: str) -> str:
    """A unit's account asks only about its own unit: any other is 404, as if it did not exist."""
    if not account.office and unit != account.unit:
        raise HTTPException(404, NOT_FOUND)
    return unit
