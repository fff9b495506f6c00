"""The throttle on failed logins, kept in the database (`login_failures`): every worker process
counts the same failures, and a restart forgets none.

Failures are counted per account name (`limit`) and per address (`address_limit`, higher: many
clerks may share one address behind a NAT) within `window` seconds; past either, further
attempts are refused until the oldest failure ages out (a guess every few minutes makes
guessing a password hopeless; the right user waits at most `window`).

An attempt is written as a failure before its password is checked, and only then are the
failures counted: of attempts sent together, the k-th to commit sees at least k failures, so at
most `limit` get through, whichever process takes them. A refused attempt takes its rows back
(it is not a failure: the wait does not grow), as does a login that succeeds (the name's
failures are forgotten)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from luoshi.engine.settings import AccountRules
from luoshi.facts.tables import LOGIN_FAILURES

from .accounts import now


@dataclass(frozen=True)
class Attempt:
    """An attempt let through: the failure rows it wrote (taken back when it succeeds)."""

    name: str
    address: str | None
    rows: tuple[int, ...]


class Throttle:
    def __init__(self, limit: int = 5, window: float = 900.0,
                 address_limit: int | None = None) -> None:
        self.limit, self.window = limit, window
        self.address_limit = address_limit or limit * 4

    @classmethod
    def of(cls, rules: AccountRules) -> Throttle:
        return cls(rules.login_failures, rules.lockout_minutes * 60.0, rules.address_failures)

    @staticmethod
    def keys(name: str, address: str | None) -> tuple[str, str]:
        return f"name:{name}"[:200], f"address:{address}"[:200]

    def attempt(self, engine: sa.Engine, name: str,
                address: str | None) -> tuple[int, str, Attempt | None]:
        """(seconds to wait, the key that makes it longest, the attempt) — with a wait of 0 the
        attempt goes ahead, counted as failed until `succeeded`."""
        moment = now()
        cutoff = moment - dt.timedelta(seconds=self.window)
        keys = self.keys(name, address)
        with engine.begin() as connection:
            connection.execute(sa.delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.at <= cutoff))
            rows = tuple(connection.execute(sa.insert(LOGIN_FAILURES).returning(LOGIN_FAILURES.c.id),
                                            [{"key": key, "at": moment} for key in keys]).scalars())
        waits = [(0, keys[0])]
        with engine.connect() as connection:
            for key, limit in zip(keys, (self.limit, self.address_limit), strict=True):
                times = list(connection.execute(
                    sa.select(LOGIN_FAILURES.c.at).where(
                        LOGIN_FAILURES.c.key == key, LOGIN_FAILURES.c.at > cutoff,
                        LOGIN_FAILURES.c.id.not_in(rows))
                    .order_by(LOGIN_FAILURES.c.at.desc(), LOGIN_FAILURES.c.id.desc())
                    .limit(limit)).scalars())
                if len(times) >= limit:
                    oldest = times[-1].replace(tzinfo=dt.UTC) if times[-1].tzinfo is None \
                        else times[-1]
                    waits.append((int((oldest - cutoff).total_seconds()) + 1, key))
        wait, key = max(waits)
        if wait:
            self._forget(engine, rows)
            return wait, key, None
        return 0, key, Attempt(name, address, rows)

    def succeeded(self, engine: sa.Engine, name: str, rows: tuple[int, ...] = ()) -> None:
        """A login of `name` is done: its failures are forgotten, and the address's count loses
        the attempt's `rows`."""
        with engine.begin() as connection:
            connection.execute(sa.delete(LOGIN_FAILURES).where(
                (LOGIN_FAILURES.c.key == self.keys(name, None)[0]) |
                LOGIN_FAILURES.c.id.in_(rows)))

    @staticmethod
    def _forget(engine: sa.Engine, rows: tuple[int, ...]) -> None:
        with engine.begin() as connection:
            connection.execute(sa.delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.id.in_(rows)))
