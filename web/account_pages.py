"""The pages of accounts: 登录 (the password, then what the account still needs: its second
factor's code, enrolling in one, a new password), 退出, 我的账号 (one's own password and second
factor, any role), and 账号 (the administrator's: new accounts, disable and enable, reset a
password or a second factor, revoke tokens). Every change is audited."""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from luoshi.facts.problems import InputError

from . import accounts, actions, audit, totp
from .accounts import Account, Session
from .auth import (
    COOKIE,
    LOGIN_COOKIE,
    NOT_FOUND,
    address,
    check_csrf,
    login_session,
    portal,
    require,
    secure,
    session_id,
    who,
)
from .pages import redirect, render

STAGE_TITLES = {"totp": "输入验证码", "enrol": "绑定双因素验证", "password": "设置新密码"}
LOGIN_FORM_SECONDS = 3600
ENROL_SECONDS = 600  # a secret shown for enrolling is accepted this long


# -- 登录 ---------------------------------------------------------------------------------

def _login_page(request: Request, status: int = 200, error: str | None = None,
                name: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status, login_csrf=token, error=error, name=name)
    response.set_cookie(LOGIN_COOKIE, portal(request).signer.sign(token).decode(),
                        max_age=LOGIN_FORM_SECONDS, httponly=True, samesite="strict",
                        secure=secure(request))
    return response


async def login_form(request: Request) -> Response:
    if who(request) is not None:
        return redirect("/")
    return _login_page(request)


def _set_session(request: Request, response: Response, new_id: str) -> Response:
    response.set_cookie(COOKIE, portal(request).signer.sign(new_id).decode(),
                        max_age=portal(request).rules.session_hours * 3600, httponly=True,
                        samesite="strict", secure=secure(request))
    return response


async def login(request: Request) -> Response:
    state = portal(request)
    try:
        form = await actions.read_form(request)
        expected = state.signer.unsign(request.cookies.get(LOGIN_COOKIE, ""),
                                       max_age=LOGIN_FORM_SECONDS).decode()
    except (actions.TooLarge, BadSignature):
        expected = None
    given = form.get("csrf") if expected is not None else None
    if expected is None or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise HTTPException(403, "登录表单已失效，请刷新页面后重新登录")
    name = str(form.get("name") or "").strip()[:64]
    password = str(form.get("password") or "")
    wait, key, attempt = state.throttle.attempt(state.engine, name, address(request))
    if attempt is None:
        audit.throttled(state.engine, key, name, address(request), state.throttle.window)
        return _login_page(request, 429, f"失败次数过多，请 {wait // 60 + 1} 分钟后再试", name)
    row = await run_in_threadpool(accounts.authenticate, state.engine, name, password)
    if row is None:
        audit.write(state.engine, "login_failed", "refused", who=name, address=address(request),
                    reason="password")
        return _login_page(request, 401, "用户名或密码不正确（或账号已停用）", name)
    _end_session(request)
    account = accounts.Account(row.id, row.name, row.role, row.unit)
    stage = accounts.next_stage(row, state.rules)
    if stage is None:
        state.throttle.succeeded(state.engine, name, attempt.rows)
        audit.write(state.engine, "login", who=account, address=address(request), unit=account.unit)
        new_id, _ = accounts.start_session(state.engine, account, state.rules)
        response = _set_session(request, redirect("/"), new_id)
    else:  # the name's failures are forgotten only once the whole login is done
        new_id, _ = accounts.start_session(state.engine, account, state.rules, stage)
        response = _set_session(request, redirect("/login/next"), new_id)
    response.delete_cookie(LOGIN_COOKIE)
    return response


def _end_session(request: Request) -> None:
    """The session a cookie names ends (a new id is made at every login)."""
    named = session_id(request)
    if named:
        accounts.end_session(portal(request).engine, named)


def _pending(request: Request) -> Session | None:
    """The login still to finish, if any."""
    found = login_session(request)
    return found if found is not None and found.stage is not None else None


def _enrolment(request: Request, name: str) -> dict[str, Any]:
    """A new secret to enrol, its QR code and text, and the signed secret the form sends back
    (only a secret the server made is accepted, for ENROL_SECONDS)."""
    secret = totp.new_secret()
    link = totp.uri(secret, name)
    return {"qr": totp.qr_code(link), "secret": totp.grouped(secret), "uri": link,
            "sealed": portal(request).signer.sign(secret).decode()}


def _enrolled_secret(request: Request, form: FormData) -> str | None:
    try:
        return portal(request).signer.unsign(str(form.get("secret") or ""),
                                             max_age=ENROL_SECONDS).decode()
    except BadSignature:
        return None


def _step_page(request: Request, found: Session, status: int = 200,
               error: str | None = None) -> Response:
    extra = _enrolment(request, found.account.name) if found.stage == "enrol" else {}
    return render(request, "login_step.html", status, stage=found.stage, pending=found,
                  title=STAGE_TITLES[found.stage or "totp"], error=error,
                  rules=portal(request).rules, minutes=accounts.STAGE_MINUTES, **extra)


async def login_step_form(request: Request) -> Response:
    found = _pending(request)
    return _step_page(request, found) if found else redirect("/login")


async def login_step(request: Request) -> Response:
    found = _pending(request)
    if found is None:  # over (5 minutes), or never begun
        return redirect("/login")
    state = portal(request)
    form = await actions.read_form(request)
    given = form.get("csrf")
    if not isinstance(given, str) or not secrets.compare_digest(given, found.csrf):
        raise HTTPException(403, "表单已失效（缺少或错误的 CSRF 令牌），请刷新页面后重试")
    account, where = found.account, address(request)
    if found.stage == "totp":
        wait, key, attempt = state.throttle.attempt(state.engine, account.name, where)
        if attempt is None:
            audit.throttled(state.engine, key, account.name, where, state.throttle.window)
            return _step_page(request, found, 429, f"失败次数过多，请 {wait // 60 + 1} 分钟后再试")
        right = await run_in_threadpool(accounts.check_totp, state.engine, account,
                                        str(form.get("code") or ""), state.rules)
        if not right:
            audit.write(state.engine, "login_failed", "refused", who=account, address=where,
                        reason="code")
            return _step_page(request, found, 401, "验证码不正确，或已用过（每个验证码只能用一次）")
    elif found.stage == "enrol":
        secret = _enrolled_secret(request, form)
        if secret is None:
            return _step_page(request, found, 422, "绑定页面已过期，请用新显示的二维码重新绑定")
        try:
            accounts.enrol_totp(state.engine, account.name, secret, str(form.get("code") or ""),
                                state.rules)
        except InputError as error:
            return _step_page(request, found, 422, error.problems[0].message)
        audit.write(state.engine, "totp", who=account, address=where, change="enrol")
    else:
        try:
            new = _new_password(form)
            await run_in_threadpool(accounts.replace_password, state.engine, account.name, new,
                                    state.rules)
        except InputError as error:
            return _step_page(request, found, 422, error.problems[0].message)
        audit.write(state.engine, "password", who=account, address=where)
    row = accounts.user_row(state.engine, account.name)
    stage = accounts.next_stage(row, state.rules, after=found.stage)
    new_id, _ = accounts.advance(state.engine, session_id(request) or "", stage, state.rules)
    if stage is None:
        state.throttle.succeeded(state.engine, account.name)
        audit.write(state.engine, "login", who=account, address=where, unit=account.unit)
    return _set_session(request, redirect("/" if stage is None else "/login/next"), new_id)


def _new_password(form: FormData) -> str:
    new, again = str(form.get("new") or ""), str(form.get("again") or "")
    if new != again:
        raise accounts.problem("两次输入的新密码不一致", "again")
    return new


async def logout(request: Request) -> Response:
    found = login_session(request)
    if found is None:
        raise HTTPException(401, "请先登录")
    form = await actions.read_form(request)
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not isinstance(given, str) or not secrets.compare_digest(given, found.csrf):
        raise HTTPException(403, "表单已失效（缺少或错误的 CSRF 令牌），请刷新页面后重试")
    _end_session(request)
    audit.write(portal(request).engine, "logout", who=found.account, address=address(request))
    response = redirect("/login")
    response.delete_cookie(COOKIE)
    return response


# -- 我的账号 -------------------------------------------------------------------------------

def _mine(request: Request, account: Account, status: int = 200, error: str | None = None,
          done: str | None = None, enrol: bool = False) -> Response:
    row = accounts.user_row(portal(request).engine, account.name)
    extra = _enrolment(request, account.name) if enrol and not row.totp_secret else {}
    required = account.role in portal(request).rules.totp_required
    return render(request, "account.html", status, row=row, error=error, done=done,
                  rules=portal(request).rules, totp_required=required, enrolling=bool(extra),
                  **extra)


async def my_account(request: Request) -> Response:
    account = require(request, *accounts.ROLE_NAMES)
    return _mine(request, account, enrol=request.query_params.get("enrol") == "1")


async def change_password(request: Request) -> Response:
    account = require(request, *accounts.ROLE_NAMES)
    form = await actions.read_form(request)
    check_csrf(request, form.get("csrf"))
    state = portal(request)
    try:
        new = _new_password(form)
        await run_in_threadpool(accounts.change_password, state.engine, account,
                                str(form.get("old") or ""), new, state.rules, session_id(request))
    except InputError as error:
        audit.write(state.engine, "password", "refused", who=account, address=address(request),
                    reason=error.problems[0].message)
        return _mine(request, account, 422, error.problems[0].message)
    audit.write(state.engine, "password", who=account, address=address(request))
    return _mine(request, account, done="密码已修改；本账号在其他地方的登录已全部结束")


async def my_totp(request: Request) -> Response:
    """Enrol in a second factor, or remove one (with the password; not where the role needs it)."""
    account = require(request, *accounts.ROLE_NAMES)
    form = await actions.read_form(request)
    check_csrf(request, form.get("csrf"))
    state = portal(request)
    try:
        if form.get("off"):
            if account.role in state.rules.totp_required:
                raise accounts.problem("本角色必须使用双因素验证，不能解除（手机丢失请联系系统管理员）")
            if await run_in_threadpool(accounts.authenticate, state.engine, account.name,
                                       str(form.get("password") or "")) is None:
                raise accounts.problem("密码不正确")
            accounts.remove_totp(state.engine, account.name, keep=session_id(request))
            audit.write(state.engine, "totp", who=account, address=address(request),
                        change="totp_off", user=account.name)
            return _mine(request, account, done="已解除双因素验证")
        secret = _enrolled_secret(request, form)
        if secret is None:
            raise accounts.problem("绑定页面已过期，请用新显示的二维码重新绑定")
        accounts.enrol_totp(state.engine, account.name, secret, str(form.get("code") or ""),
                            state.rules)
    except InputError as error:
        return _mine(request, account, 422, error.problems[0].message, enrol=not form.get("off"))
    audit.write(state.engine, "totp", who=account, address=address(request), change="enrol")
    return _mine(request, account, done="已绑定双因素验证：今后登录时还要输入验证器显示的验证码")


# -- 账号（系统管理员）----------------------------------------------------------------------

async def users(request: Request, status: int = 200, error: str | None = None,
                done: str | None = None) -> Response:
    require(request, "admin")
    engine = portal(request).engine
    found = await run_in_threadpool(accounts.users, engine)
    tokens = await run_in_threadpool(accounts.tokens_in_force, engine)
    return render(request, "users.html", status, users=found, tokens=tokens, error=error,
                  done=done, rules=portal(request).rules, ROLES=accounts.ROLE_NAMES)


async def add_user(request: Request) -> Response:
    account = require(request, "admin")
    form = await actions.read_form(request)
    check_csrf(request, form.get("csrf"))
    state = portal(request)
    name, role = str(form.get("name") or "").strip(), str(form.get("role") or "")
    unit = str(form.get("unit") or "").strip() or None
    try:
        await run_in_threadpool(accounts.add_user, state.engine, name, role, unit,
                                str(form.get("password") or ""), state.rules, temporary=True)
    except InputError as error:
        return await users(request, 422, error.problems[0].message)
    audit.write(state.engine, "account", who=account, address=address(request), unit=unit,
                change="add", user=name, role=role, temporary=True)
    return await users(request, done=f"已新建账号 {name}：首次登录时须修改密码")


# What the administrator may do to an account from the 账号 page: the change's name, the
# sentence when done, and whether it needs the form's new password.
CHANGES = {"disable": "已停用账号 {name}：其会话已结束，令牌已全部吊销",
           "enable": "已启用账号 {name}",
           "reset": "已重置 {name} 的密码：其会话已结束，下次登录时须修改密码",
           "totp_off": "已解除 {name} 的双因素验证：其会话已结束",
           "revoke": "已吊销 {name} 的全部令牌"}


async def change_user(request: Request) -> Response:
    account = require(request, "admin")
    form = await actions.read_form(request)
    check_csrf(request, form.get("csrf"))
    name, change = request.path_params["name"], request.path_params["change"]
    if change not in CHANGES:
        raise HTTPException(404, NOT_FOUND)
    if name == account.name and change in ("disable", "reset", "totp_off"):
        return await users(request, 422, "不能这样改自己正在使用的账号（自己的密码与双因素在“我的账号”中修改）")
    state = portal(request)
    detail: dict[str, Any] = {}
    try:
        if change == "disable":
            await run_in_threadpool(accounts.disable, state.engine, name)
        elif change == "enable":
            await run_in_threadpool(accounts.enable, state.engine, name)
        elif change == "reset":
            await run_in_threadpool(accounts.reset_password, state.engine, name,
                                    str(form.get("password") or ""), state.rules, temporary=True)
            detail["temporary"] = True
        elif change == "totp_off":
            await run_in_threadpool(accounts.remove_totp, state.engine, name)
        else:
            detail["tokens"] = await run_in_threadpool(accounts.revoke, state.engine, name)
    except InputError as error:
        return await users(request, 422, f"{name}：{error.problems[0].message}")
    audit.write(state.engine, "account", who=account, address=address(request), change=change,
                user=name, **detail)
    return await users(request, done=CHANGES[change].format(name=name))


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/next", login_step_form, methods=["GET"]),
    Route("/login/next", login_step, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account", my_account, methods=["GET"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/totp", my_totp, methods=["POST"]),
    Route("/users", users, methods=["GET"]),
    Route("/users", add_user, methods=["POST"]),
    Route("/users/{name}/{change}", change_user, methods=["POST"]),
]
