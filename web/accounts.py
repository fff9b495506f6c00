"""Accounts, API tokens and browser sessions, in the store's tables (`facts/tables.py`).

Passwords are kept only as argon2id hashes (web/passwords.py); tokens and session ids only as
SHA-256 (they are long random values, so a fast hash suffices: a copy of the database gives no
usable credential); TOTP secrets encrypted (web/totp.py).

A session lives in the database, so that every worker process sees the same ones: it ends when
unused for [accounts] idle_minutes, and in any case session_hours after the login. A login is a
session too, in stages: after the password, a session whose `stage` says what is still to do
(the code of the second factor, enrolling in it, a new password); only a session without a
stage is in force. Each stage done gives the session a new id.

A password change (by the user, or a reset by an administrator) ends the account's other
sessions; its API tokens stay in force (they are separate credentials for scripts, listed and
revoked on their own: `luoshi users revoke`, or 吊销令牌 on the 账号 page)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from luoshi.engine.settings import AccountRules
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.facts.tables import API_TOKENS, FACT_TABLES, ROLES, USERS, WEB_KEYS, WEB_SESSIONS

from . import passwords, totp

NAME = re.compile(r"^[\w.@-]{1,64}$")
TOKEN_PREFIX = "lst_"
ROLE_NAMES = {"admin": "系统管理员", "auditor": "审计员", "office": "惩防办", "unit": "单位"}
# The stages of a login after its password, in order (web/account_pages.py shows each).
STAGES = ("totp", "enrol", "password")
STAGE_MINUTES = 5  # to finish a login once the password was right
TOUCH_SECONDS = 60  # a session's last use is written at most this often (a write per request else)
# Roles with no business with the API: their work is the 账号 and 审计日志 pages, and a token
# would skip their second factor.
NO_TOKENS = ("admin", "auditor")


@dataclass(frozen=True)
class Account:
    """Who is asking: enough to authorise and to audit, nothing secret."""

    id: int
    name: str
    role: str
    unit: str | None

    @property
    def office(self) -> bool:
        return self.role == "office"

    @property
    def title(self) -> str:
        """The role as the pages show it."""
        return f"单位 {self.unit}" if self.role == "unit" else ROLE_NAMES[self.role]


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str
    stage: str | None  # None: in force; else one of STAGES


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored in UTC; SQLite gives it back without a zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def problem(message: str, where: str = "users") -> InputError:
    return InputError([Problem(Location(where), "C001", message)])


def _acceptable(name: str, password: str, rules: AccountRules, where: str) -> None:
    why = passwords.weakness(password, name, rules)
    if why:
        raise problem(why, where)


def add_user(engine: sa.Engine, name: str, role: str, unit: str | None, password: str,
             rules: AccountRules = AccountRules(), *, temporary: bool = False) -> Account:
    """A new account; bad values are `InputError`s in Chinese. `temporary`: its password is
    to be changed at the first login (one its holder did not choose)."""
    if not NAME.match(name):
        raise problem("用户名应为 1–64 个字母、数字或 . _ @ -", "NAME")
    if role not in ROLES:
        raise problem(f"角色应为 {'、'.join(ROLES)} 之一（admin：系统管理员，只管账号；auditor：审计员，"
                       "只看审计日志；office：惩防办；unit：报送单位）", "--role")
    if role == "unit" and not unit:
        raise problem("单位账号须用 --unit 给出所属单位的编号", "--unit")
    if role != "unit" and unit:
        raise problem(f"{ROLE_NAMES[role]}账号不属于某个单位，不要给出 --unit", "--unit")
    _acceptable(name, password, rules, "--password-stdin")
    moment = now()
    with engine.begin() as connection:
        if connection.scalar(sa.select(USERS.c.id).where(USERS.c.name == name)) is not None:
            raise problem(f"用户 {name} 已存在", "NAME")
        if unit is not None:
            _known_unit(connection, unit)
        user_id = connection.execute(sa.insert(USERS).values(
            name=name, role=role, unit=unit, password_hash=passwords.hashed(password),
            disabled=False, created_at=moment, password_changed_at=moment,
            must_change_password=temporary).returning(USERS.c.id)).scalar_one()
    return Account(user_id, name, role, unit)


def _known_unit(connection: sa.Connection, unit: str) -> None:
    """A unit account's unit must be a stored unit, once any unit is stored."""
    units = FACT_TABLES["units"]
    stored = connection.scalar(sa.select(sa.func.count()).select_from(units)
                               .where(units.c.ended_by.is_(None)))
    if stored and connection.scalar(sa.select(units.c.id).where(
            units.c.id == unit, units.c.ended_by.is_(None))) is None:
        raise problem(f"数据中没有编号为 {unit!r} 的单位（luoshi submissions 或单位表列出全部单位）",
                       "--unit")


def users(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(USERS).order_by(USERS.c.name)))


def _user(connection: sa.Connection, name: str) -> sa.Row[Any]:
    found = connection.execute(sa.select(USERS).where(USERS.c.name == name)).first()
    if found is None:
        raise problem(f"没有用户 {name}（luoshi users list 列出全部）", "NAME")
    return found


def _end_sessions(connection: sa.Connection, user_id: int, keep: str | None = None) -> None:
    """End the account's sessions, but the one whose id is `keep`."""
    statement = sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.user_id == user_id)
    if keep is not None:
        statement = statement.where(WEB_SESSIONS.c.session_sha256 != sha256(keep))
    connection.execute(statement)


def disable(engine: sa.Engine, name: str) -> None:
    """Disable an account: its sessions end and its tokens are revoked at once."""
    with engine.begin() as connection:
        user_id = _user(connection, name).id
        connection.execute(sa.update(USERS).where(USERS.c.id == user_id).values(disabled=True))
        _end_sessions(connection, user_id)
        connection.execute(sa.update(API_TOKENS).where(API_TOKENS.c.user_id == user_id,
                                                     API_TOKENS.c.revoked_at.is_(None))
                           .values(revoked_at=now()))


def enable(engine: sa.Engine, name: str) -> None:
    """Put a disabled account back in use (its revoked tokens stay revoked)."""
    with engine.begin() as connection:
        row = _user(connection, name)
        if not row.disabled:
            raise problem(f"用户 {name} 没有停用", "NAME")
        connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(disabled=False))


def _set_password(connection: sa.Connection, row: sa.Row[Any], password: str,
                  rules: AccountRules, must_change: bool, where: str) -> None:
    _acceptable(row.name, password, rules, where)
    if passwords.reused(connection, row.id, row.password_hash, password, rules):
        raise problem(f"新密码不能与最近 {rules.password_history} 次用过的密码相同", where)
    moment = now()
    passwords.remember(connection, row.id, row.password_hash, rules, moment)
    connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(
        password_hash=passwords.hashed(password), password_changed_at=moment,
        must_change_password=must_change))


def reset_password(engine: sa.Engine, name: str, password: str, rules: AccountRules, *,
                   temporary: bool) -> None:
    """An administrator sets `name`'s password (`temporary`: to be changed at the next login);
    every session of the account ends."""
    with engine.begin() as connection:
        row = _user(connection, name)
        _set_password(connection, row, password, rules, temporary, "--password-stdin")
        _end_sessions(connection, row.id)


def replace_password(engine: sa.Engine, name: str, new: str, rules: AccountRules) -> None:
    """The new password a login asked for (after a reset, or once the old one expired): the
    password was given a moment ago. No session of the account is in force yet."""
    with engine.begin() as connection:
        row = _user(connection, name)
        _set_password(connection, row, new, rules, False, "new")
        connection.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.user_id == row.id,
                                                         WEB_SESSIONS.c.stage.is_(None)))


def change_password(engine: sa.Engine, account: Account, old: str, new: str,
                    rules: AccountRules, session_id: str | None) -> None:
    """The user changes their own password (the old one given); their other sessions end."""
    with engine.begin() as connection:
        row = _user(connection, account.name)
        if not passwords.matches(row.password_hash, old):
            raise problem("原密码不正确", "old")
        if new == old:
            raise problem("新密码不能与原密码相同", "new")
        _set_password(connection, row, new, rules, False, "new")
        _end_sessions(connection, row.id, keep=session_id)


def new_token(engine: sa.Engine, name: str) -> str:
    """A new API token for `name`, shown once: only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        row = _user(connection, name)
        if row.disabled:
            raise problem(f"用户 {name} 已停用", "NAME")
        if row.role in NO_TOKENS:
            raise problem(f"{ROLE_NAMES[row.role]}账号不签发 API 令牌（令牌用于报送与查询的脚本，"
                           "且会绕过双因素验证）", "NAME")
        connection.execute(sa.insert(API_TOKENS).values(user_id=row.id, token_sha256=sha256(token),
                                                      created_at=now()))
    return token


def revoke(engine: sa.Engine, name: str) -> int:
    """Revoke every token of `name`; how many were in force."""
    with engine.begin() as connection:
        user_id = _user(connection, name).id
        return connection.execute(sa.update(API_TOKENS).where(
            API_TOKENS.c.user_id == user_id, API_TOKENS.c.revoked_at.is_(None)).values(
            revoked_at=now())).rowcount


def tokens_in_force(engine: sa.Engine) -> dict[int, int]:
    """Per user id, how many tokens are in force."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(API_TOKENS.c.user_id, sa.func.count()).where(
            API_TOKENS.c.revoked_at.is_(None)).group_by(API_TOKENS.c.user_id))
        return {user_id: count for user_id, count in rows}


def _account(row: sa.Row) -> Account:
    return Account(row.id, row.name, row.role, row.unit)


def authenticate(engine: sa.Engine, name: str, password: str) -> sa.Row[Any] | None:
    """The row of the account whose name and password these are, if it is in use."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(USERS).where(USERS.c.name == name)).first()
    if not passwords.matches(row.password_hash if row else None, password):
        return None
    if row is None or row.disabled:
        return None
    if passwords.HASHER.check_needs_rehash(row.password_hash):  # the parameters were raised
        with engine.begin() as connection:
            connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(
                password_hash=passwords.hashed(password)))
    return row


def next_stage(row: sa.Row[Any], rules: AccountRules, after: str | None = None) -> str | None:
    """The stage of a login still to do for account `row` once `after` is done (None: the
    password alone), or None when the login is complete."""
    todo = []
    if row.totp_secret:
        todo.append("totp")
    elif row.role in rules.totp_required:
        todo.append("enrol")
    expired = rules.password_max_age_days and row.password_changed_at is not None and \
        _utc(row.password_changed_at) + dt.timedelta(days=rules.password_max_age_days) <= now()
    if row.must_change_password or expired:
        todo.append("password")
    if after is not None:  # those after it (enrolling needs no code as well)
        todo = [stage for stage in todo if STAGES.index(stage) > STAGES.index(after)]
    return todo[0] if todo else None


def by_token(engine: sa.Engine, token: str) -> Account | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(USERS).join(API_TOKENS, API_TOKENS.c.user_id == USERS.c.id).where(
            API_TOKENS.c.token_sha256 == sha256(token), API_TOKENS.c.revoked_at.is_(None),
            USERS.c.disabled.is_(False), USERS.c.role.not_in(NO_TOKENS))).first()
    return _account(row) if row else None


def start_session(engine: sa.Engine, account: Account, rules: AccountRules,
                  stage: str | None = None) -> tuple[str, str]:
    """A new session (a new random id at every login: an id planted before login is never
    promoted); with `stage`, a login still to finish within STAGE_MINUTES. Returns (session
    id, CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = now()
    ends = _ends(moment, stage, rules)
    with engine.begin() as connection:
        connection.execute(sa.delete(WEB_SESSIONS).where(
            (WEB_SESSIONS.c.expires_at < moment) |
            (WEB_SESSIONS.c.last_seen_at < moment - dt.timedelta(minutes=rules.idle_minutes))))
        connection.execute(sa.insert(WEB_SESSIONS).values(
            session_sha256=sha256(session_id), user_id=account.id, csrf=csrf, created_at=moment,
            expires_at=ends, last_seen_at=moment, stage=stage))
    return session_id, csrf


def session(engine: sa.Engine, session_id: str, rules: AccountRules) -> Session | None:
    """The session `session_id` if it is still on: not idle past idle_minutes, not past its
    end, its account in use. Its last use is brought up to date."""
    moment = now()
    key = sha256(session_id)
    with engine.connect() as connection:
        row = connection.execute(sa.select(
            USERS, WEB_SESSIONS.c.csrf, WEB_SESSIONS.c.expires_at, WEB_SESSIONS.c.last_seen_at,
            WEB_SESSIONS.c.stage).join(WEB_SESSIONS, WEB_SESSIONS.c.user_id == USERS.c.id).where(
            WEB_SESSIONS.c.session_sha256 == key, USERS.c.disabled.is_(False))).first()
    if row is None:
        return None
    seen = _utc(row.last_seen_at)
    if _utc(row.expires_at) <= moment or seen + dt.timedelta(minutes=rules.idle_minutes) <= moment:
        end_session(engine, session_id)
        return None
    if moment - seen >= dt.timedelta(seconds=TOUCH_SECONDS):
        with engine.begin() as connection:
            connection.execute(sa.update(WEB_SESSIONS).where(WEB_SESSIONS.c.session_sha256 == key)
                               .values(last_seen_at=moment))
    return Session(_account(row), row.csrf, row.stage)


def advance(engine: sa.Engine, session_id: str, stage: str | None,
            rules: AccountRules) -> tuple[str, str]:
    """The login of `session_id` moves on to `stage` (None: complete, the session in force for
    session_hours from now) under a new id and CSRF token."""
    new_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = now()
    with engine.begin() as connection:
        connection.execute(sa.update(WEB_SESSIONS).where(
            WEB_SESSIONS.c.session_sha256 == sha256(session_id)).values(
            session_sha256=sha256(new_id), csrf=csrf, stage=stage,
            expires_at=_ends(moment, stage, rules), last_seen_at=moment))
    return new_id, csrf


def _ends(moment: dt.datetime, stage: str | None, rules: AccountRules) -> dt.datetime:
    """When a session started (or moved on) at `moment` ends: a login's stage soon, a session
    in force after session_hours."""
    return moment + (dt.timedelta(minutes=STAGE_MINUTES) if stage else
                     dt.timedelta(hours=rules.session_hours))


def end_session(engine: sa.Engine, session_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.session_sha256 == sha256(session_id)))


def user_row(engine: sa.Engine, name: str) -> sa.Row[Any]:
    with engine.connect() as connection:
        return _user(connection, name)


# -- the second factor ------------------------------------------------------------------

def enrol_totp(engine: sa.Engine, name: str, secret: str, code: str, rules: AccountRules) -> None:
    """Bind the second factor whose `secret` the user's app holds, once it gives a right code."""
    step = totp.accepted_step(secret, code, None)
    if step is None:
        raise problem("验证码不正确：请核对手机上的时间，输入验证器当前显示的 6 位数字", "code")
    with engine.begin() as connection:
        row = _user(connection, name)
        sealed = totp.Sealer(rules.secret_file).seal(secret, row.id)
        connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(
            totp_secret=sealed, totp_last_step=step))


def check_totp(engine: sa.Engine, account: Account, code: str, rules: AccountRules) -> bool:
    """Whether `code` is a right code of the account's second factor, not used before."""
    with engine.begin() as connection:
        row = _user(connection, account.name)
        if not row.totp_secret:
            return False
        secret = totp.Sealer(rules.secret_file).open(row.totp_secret, row.id)
        step = totp.accepted_step(secret, code, row.totp_last_step)
        if step is None:
            return False
        # Only if no other request took this step meanwhile: a code counts once.
        taken = connection.execute(sa.update(USERS).where(
            USERS.c.id == row.id, sa.or_(USERS.c.totp_last_step.is_(None),
                                         USERS.c.totp_last_step < step))
            .values(totp_last_step=step)).rowcount
        return taken == 1


def remove_totp(engine: sa.Engine, name: str, keep: str | None = None) -> None:
    """The account's second factor is removed (a lost phone): it enrols again at its next login
    if its role must have one; its sessions end (but `keep`: the user's own, removing it)."""
    with engine.begin() as connection:
        row = _user(connection, name)
        if not row.totp_secret:
            raise problem(f"用户 {name} 没有绑定双因素验证", "NAME")
        connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(
            totp_secret=None, totp_last_step=None))
        _end_sessions(connection, row.id, keep)


def signing_key(engine: sa.Engine) -> str:
    """The key cookies are signed with: made once and kept in the store, so sessions outlive a
    restart of the server."""
    with engine.begin() as connection:
        key = connection.scalar(sa.select(WEB_KEYS.c.secret).order_by(WEB_KEYS.c.id))
        if key is None:
            key = secrets.token_urlsafe(48)
            connection.execute(sa.insert(WEB_KEYS).values(secret=key, created_at=now()))
    return key
