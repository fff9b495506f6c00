"""Passwords: how they are hashed, what makes one acceptable ([accounts] in luoshi.toml), and
the earlier ones that may not come back.

Every password, and every earlier one kept in `password_history`, is an argon2id hash
(argon2-cffi's defaults: salted, slow, memory-hard); checking a new password against the last
five costs five verifications, a fraction of a second once per change."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from luoshi.engine.settings import AccountRules
from luoshi.facts.tables import PASSWORD_HISTORY

HASHER = PasswordHasher()
# Verified when a name is unknown, so that a login takes as long for a name that does not exist.
DUMMY_HASH = HASHER.hash("luoshi-no-such-user")
# The four classes of character a password draws from; anything else (a symbol, a space, a
# Chinese character) is "other".
CLASSES = (("小写字母", re.compile(r"[a-z]")), ("大写字母", re.compile(r"[A-Z]")),
           ("数字", re.compile(r"[0-9]")), ("其他字符", re.compile(r"[^a-zA-Z0-9]")))


def hashed(password: str) -> str:
    return HASHER.hash(password)


def matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `password_hash` was made from (None: compared with a
    dummy, taking as long, and never matching)."""
    try:
        HASHER.verify(password_hash or DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def weakness(password: str, name: str, rules: AccountRules) -> str | None:
    """Why `password` may not be used for account `name` (in Chinese), or None."""
    if len(password) < rules.password_min_length:
        return f"密码至少 {rules.password_min_length} 个字符"
    if len(password) > 256:
        return "密码至多 256 个字符"
    used = [label for label, pattern in CLASSES if pattern.search(password)]
    if len(used) < rules.password_classes:
        return (f"密码应含小写字母、大写字母、数字、其他字符四类中的至少 {rules.password_classes} 类"
                f"（现有 {len(used)} 类{'：' + '、'.join(used) if used else ''}）")
    if name and name.lower() in password.lower():
        return "密码不能包含用户名"
    return None


def reused(connection: sa.Connection, user_id: int, current_hash: str, password: str,
           rules: AccountRules) -> bool:
    """Whether `password` is the current one or one of the last `password_history` before it."""
    if rules.password_history == 0:
        return False
    earlier = connection.execute(
        sa.select(PASSWORD_HISTORY.c.password_hash).where(PASSWORD_HISTORY.c.user_id == user_id)
        .order_by(PASSWORD_HISTORY.c.id.desc()).limit(rules.password_history - 1)).scalars()
    return any(matches(value, password) for value in [current_hash, *earlier])


def remember(connection: sa.Connection, user_id: int, old_hash: str, rules: AccountRules,
             moment: Any) -> None:
    """Keep the replaced password's hash; only as many as the rules look back at are kept."""
    connection.execute(sa.insert(PASSWORD_HISTORY).values(user_id=user_id, password_hash=old_hash,
                                                          created_at=moment))
    kept = connection.execute(
        sa.select(PASSWORD_HISTORY.c.id).where(PASSWORD_HISTORY.c.user_id == user_id)
        .order_by(PASSWORD_HISTORY.c.id.desc()).limit(max(rules.password_history, 1))).scalars()
    connection.execute(sa.delete(PASSWORD_HISTORY).where(
        PASSWORD_HISTORY.c.user_id == user_id, PASSWORD_HISTORY.c.id.not_in(list(kept))))
