"""Accounts, API tokens and browser sessions, in the store's tables (`facts/tables.py`).

Passwords are kept only as argon2id hashes (argon2-cffi's defaults: salted, slow, memory-hard);
tokens and session ids only as SHA-256 (they are long random values, so a fast hash suffices:
a copy of the database gives no usable credential)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from luoshi.facts.problems import InputError, Location, Problem
from luoshi.facts.tables import API_TOKENS, FACT_TABLES, ROLES, USERS, WEB_KEYS, WEB_SESSIONS

_HASHER = PasswordHasher()
# Verified when a name is unknown, so that a login takes as long for a name that does not exist.
_DUMMY_HASH = _HASHER.hash("luoshi-no-such-user")
NAME = re.compile(r"^[\w.@-]{1,64}$")
MIN_PASSWORD = 8
SESSION_HOURS = 8  # a working day; a session then ends whatever happens
TOKEN_PREFIX = "lst_"


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


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored in UTC; SQLite gives it back without a zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _problem(message: str, where: str = "users") -> InputError:
    return InputError([Problem(Location(where), "C001", message)])


def add_user(engine: sa.Engine, name: str, role: str, unit: str | None, password: str) -> Account:
    """A new account; bad values are `InputError`s in Chinese."""
    if not NAME.match(name):
        raise _problem("用户名应为 1–64 个字母、数字或 . _ @ -", "NAME")
    if role not in ROLES:
        raise _problem(f"角色应为 {' 或 '.join(ROLES)}（office：惩防办；unit：报送单位）", "--role")
    if role == "unit" and not unit:
        raise _problem("单位账号须用 --unit 给出所属单位的编号", "--unit")
    if role == "office" and unit:
        raise _problem("惩防办账号不属于某个单位，不要给出 --unit", "--unit")
    if len(password) < MIN_PASSWORD:
        raise _problem(f"密码至少 {MIN_PASSWORD} 个字符", "--password-stdin")
    with engine.begin() as connection:
        if connection.scalar(sa.select(USERS.c.id).where(USERS.c.name == name)) is not None:
            raise _problem(f"用户 {name} 已存在", "NAME")
        if unit is not None:
            _known_unit(connection, unit)
        user_id = connection.execute(sa.insert(USERS).values(
            name=name, role=role, unit=unit, password_hash=_HASHER.hash(password),
            disabled=False, created_at=now()).returning(USERS.c.id)).scalar_one()
    return Account(user_id, name, role, unit)


def _known_unit(connection: sa.Connection, unit: str) -> None:
    """A unit account's unit must be a stored unit, once any unit is stored."""
    units = FACT_TABLES["units"]
    stored = connection.scalar(sa.select(sa.func.count()).select_from(units)
                               .where(units.c.ended_by.is_(None)))
    if stored and connection.scalar(sa.select(units.c.id).where(
            units.c.id == unit, units.c.ended_by.is_(None))) is None:
        raise _problem(f"数据中没有编号为 {unit!r} 的单位（luoshi submissions 或单位表列出全部单位）",
                       "--unit")


def users(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(USERS).order_by(USERS.c.name)))


def _user_id(connection: sa.Connection, name: str) -> int:
    found = connection.scalar(sa.select(USERS.c.id).where(USERS.c.name == name))
    if found is None:
        raise _problem(f"没有用户 {name}（luoshi users list 列出全部）", "NAME")
    return found


def disable(engine: sa.Engine, name: str) -> None:
    """Disable an account: its sessions end and its tokens are revoked at once."""
    with engine.begin() as connection:
        user_id = _user_id(connection, name)
        connection.execute(sa.update(USERS).where(USERS.c.id == user_id).values(disabled=True))
        connection.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.user_id == user_id))
        connection.execute(sa.update(API_TOKENS).where(API_TOKENS.c.user_id == user_id,
                                                     API_TOKENS.c.revoked_at.is_(None))
                           .values(revoked_at=now()))


def new_token(engine: sa.Engine, name: str) -> str:
    """A new API token for `name`, shown once: only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        user_id = _user_id(connection, name)
        if connection.scalar(sa.select(USERS.c.disabled).where(USERS.c.id == user_id)):
            raise _problem(f"用户 {name} 已停用", "NAME")
        connection.execute(sa.insert(API_TOKENS).values(user_id=user_id, token_sha256=sha256(token),
                                                      created_at=now()))
    return token


def revoke(engine: sa.Engine, name: str) -> int:
    """Revoke every token of `name`; how many were in force."""
    with engine.begin() as connection:
        user_id = _user_id(connection, name)
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


def authenticate(engine: sa.Engine, name: str, password: str) -> Account | None:
    """The account whose name and password these are, if it is in use."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(USERS).where(USERS.c.name == name)).first()
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):  # the hasher's parameters were raised
        with engine.begin() as connection:
            connection.execute(sa.update(USERS).where(USERS.c.id == row.id).values(
                password_hash=_HASHER.hash(password)))
    return _account(row)


def by_token(engine: sa.Engine, token: str) -> Account | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(USERS).join(API_TOKENS, API_TOKENS.c.user_id == USERS.c.id).where(
            API_TOKENS.c.token_sha256 == sha256(token), API_TOKENS.c.revoked_at.is_(None),
            USERS.c.disabled.is_(False))).first()
    return _account(row) if row else None


def start_session(engine: sa.Engine, account: Account) -> tuple[str, str]:
    """A new session (a new random id at every login: an id planted before login is never
    promoted); returns (session id, CSRF token)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    moment = now()
    with engine.begin() as connection:
        connection.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.expires_at < moment))
        connection.execute(sa.insert(WEB_SESSIONS).values(
            session_sha256=sha256(session_id), user_id=account.id, csrf=csrf, created_at=moment,
            expires_at=moment + dt.timedelta(hours=SESSION_HOURS)))
    return session_id, csrf


def session(engine: sa.Engine, session_id: str) -> tuple[Account, str] | None:
    """(account, CSRF token) of a session in force."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(USERS, WEB_SESSIONS.c.csrf, WEB_SESSIONS.c.expires_at).join(
            WEB_SESSIONS, WEB_SESSIONS.c.user_id == USERS.c.id).where(
            WEB_SESSIONS.c.session_sha256 == sha256(session_id), USERS.c.disabled.is_(False))).first()
    if row is None or _utc(row.expires_at) <= now():
        return None
    return _account(row), row.csrf


def end_session(engine: sa.Engine, session_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.delete(WEB_SESSIONS).where(WEB_SESSIONS.c.session_sha256 == sha256(session_id)))


def signing_key(engine: sa.Engine) -> str:
    """The key cookies are signed with: made once and kept in the store, so sessions outlive a
    restart of the server."""
    with engine.begin() as connection:
        key = connection.scalar(sa.select(WEB_KEYS.c.secret).order_by(WEB_KEYS.c.id))
        if key is None:
            key = secrets.token_urlsafe(48)
            connection.execute(sa.insert(WEB_KEYS).values(secret=key, created_at=now()))
    return key
