"""After a backup is restored: what the backup brings back that must not come back.

A backup holds the portal's accounts as they were when it was taken. Restored, it brings back
every session and API token in force then, though they may have been ended or revoked since,
accounts disabled since, and passwords changed since (the old one perhaps because it leaked).
No record of what happened after the backup is in the backup, so `after_restore`:

- ends every browser session and revokes every API token: everyone logs in again, scripts get
  new tokens (`luoshi users token`);
- given the database that was replaced (kept, renamed, by the restore procedure), disables every
  account disabled there, and every account whose password was changed there since the backup.
  Nothing is copied from it into the restored database: a replaced database is often replaced
  because it was damaged or changed outside luoshi, so only what makes access narrower is taken
  from it. A password changed since the backup is reset by an administrator before the account
  is used again.

Run by `luoshi db after-restore` as a step of the restore procedure (docs/deploy.md); running it
again does no harm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from . import database
from .problems import StoreError
from .tables import API_TOKENS, USERS, WEB_SESSIONS


@dataclass
class Restored:
    """What `after_restore` did: sessions ended, tokens revoked (by account), and from the
    replaced database the accounts disabled again, disabled for a password changed since the
    backup, and found only there (made after the backup: to be made again)."""

    sessions: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def after_restore(engine: sa.Engine, replaced: sa.Engine | None = None) -> Restored:
    """Make the restored database behind `engine` safe to serve (see the module)."""
    before = _accounts(replaced) if replaced is not None else {}
    database.writable(engine)
    done = Restored()
    with engine.begin() as connection:
        names = dict(connection.execute(sa.select(USERS.c.id, USERS.c.name)).all())
        done.sessions = connection.execute(sa.delete(WEB_SESSIONS)).rowcount
        for user_id, count in connection.execute(
                sa.select(API_TOKENS.c.user_id, sa.func.count()).where(
                    API_TOKENS.c.revoked_at.is_(None)).group_by(API_TOKENS.c.user_id)):
            done.tokens[names[user_id]] = count
        connection.execute(sa.update(API_TOKENS).where(API_TOKENS.c.revoked_at.is_(None))
                           .values(revoked_at=dt.datetime.now(dt.UTC)))
        for row in connection.execute(sa.select(USERS.c.name, USERS.c.disabled,
                                                USERS.c.password_hash)):
            if row.name not in before or row.disabled:
                continue
            disabled, password_hash = before[row.name]
            if disabled:
                done.disabled.append(row.name)
            elif password_hash != row.password_hash:
                done.passwords.append(row.name)
        connection.execute(sa.update(USERS).where(USERS.c.name.in_(done.disabled + done.passwords))
                           .values(disabled=True))
    done.missing = sorted(before.keys() - set(names.values()))
    return done


def _accounts(replaced: sa.Engine) -> dict[str, tuple[bool, str]]:
    """Name -> (disabled, password hash) of every account of the replaced database, read only,
    whatever its revision (it may be damaged: these three columns are all that is read)."""
    url = database.shown(replaced)
    path = database.sqlite_file(replaced.url)
    if path is not None and not path.exists():
        raise StoreError(f"被替换的数据库文件 {path} 不存在（--before 应指向恢复之前改名留下的原数据库）")
    try:
        with replaced.connect().execution_options(luoshi_read=True) as connection, \
                connection.begin():
            rows = connection.execute(sa.text("SELECT name, disabled, password_hash FROM users"))
            return {name: (bool(disabled), password_hash) for name, disabled, password_hash in rows}
    except SQLAlchemyError as error:
        raise StoreError(f"无法从被替换的数据库 {url} 读取账号：{database.describe_error(error, replaced)}"
                         ) from None
