"""Who is asking, and may they: a bearer token (scripts) or the signed session cookie (the
browser, whose every state-changing request must also carry the session's CSRF token)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, TimestampSigner
from starlette.exceptions import HTTPException
from starlette.requests import Request

from . import accounts
from .accounts import Account
from .pipeline import Pipeline
from .security import Throttle

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


def who(request: Request) -> Account | None:
    """The account of a valid bearer token or session cookie; the session's CSRF token is kept
    in `request.state.csrf` (None for a token, which a browser never sends by itself)."""
    if hasattr(request.state, "account"):
        cached: Account | None = request.state.account
        return cached
    state = portal(request)
    account: Account | None = None
    request.state.csrf = None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        account = accounts.by_token(state.engine, header[7:].strip())
    elif COOKIE in request.cookies:
        try:
            session_id = state.signer.unsign(request.cookies[COOKIE],
                                             max_age=accounts.SESSION_HOURS * 3600).decode()
        except BadSignature:  # forged, or older than a session may live
            session_id = None
        found = accounts.session(state.engine, session_id) if session_id else None
        if found is not None:
            account, request.state.csrf = found
    request.state.account = account
    return account


def require(request: Request, office: bool = False) -> Account:
    """The account asking, else 401; with `office`, 403 for a unit's account."""
    account = who(request)
    if account is None:
        raise HTTPException(401, "请先登录")
    if office and not account.office:
        raise HTTPException(403, "只有惩防办的账号可以这样做")
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
