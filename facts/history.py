"""Recorded runs of `check --record`: storing them, listing them, and comparing two.

Finding ids are a hash of rule, unit and subject, so the same problem has the same id in every
run: a finding closed and later reappearing is recognised as the same one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .problems import InputError, Location, Problem
from .store import StoreError, connect, describe_error, migrate
from .tables import Run
from .version import tool_version


def record(db: str | None, *, year: int, as_of: dt.date, inputs_sha256: str,
           policies_sha256: str, params: dict[str, Any], waivers: list[dict[str, Any]],
           findings: list[dict[str, Any]], triggers: list[dict[str, Any]],
           load_id: int | None = None) -> int:
    """Store a run; `load_id`: the newest load of the state it read."""
    engine = connect(db)
    try:
        migrate(engine)
        with engine.begin() as connection:
            return connection.execute(sa.insert(Run).values(
                created_at=dt.datetime.now(dt.UTC), tool_version=tool_version(), year=year,
                as_of=as_of, inputs_sha256=inputs_sha256, policies_sha256=policies_sha256,
                params=params, waivers=waivers, findings=findings, triggers=triggers,
                load_id=load_id,
            ).returning(Run.id)).scalar_one()
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None
    finally:
        engine.dispose()


def runs(db: str | None) -> list[Run]:
    """Every recorded run, newest first."""
    engine = connect(db)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("runs"):
                return []
            rows = connection.execute(sa.select(Run).order_by(Run.id.desc())).all()
            return [Run(**row._mapping) for row in rows]
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None
    finally:
        engine.dispose()


def pick(all_runs: list[Run], first: int | None, second: int | None) -> tuple[Run, Run]:
    """The runs to compare: both given, or the two newest of the newest run's year."""
    by_id = {run.id: run for run in all_runs}
    if first is not None and second is not None:
        missing = [n for n in (first, second) if n not in by_id]
        if missing:
            raise InputError([Problem(Location("diff"), "C001",
                                      f"没有编号为 {missing[0]} 的检查记录（luoshi history 列出全部）")])
        return by_id[first], by_id[second]
    if not all_runs:
        raise InputError([Problem(Location("diff"), "C001", "还没有记录的检查（用 check --record 记录）")])
    newest = all_runs[0]
    same_year = [run for run in all_runs if run.year == newest.year]
    if len(same_year) < 2:
        raise InputError([Problem(Location("diff"), "C001",
                                  f"{newest.year} 年只有一次记录的检查，无法比较")])
    return same_year[1], same_year[0]


def compare(older: Run, newer: Run) -> dict[str, list[dict[str, Any]]]:
    before = {finding["id"]: finding for finding in older.findings}
    after = {finding["id"]: finding for finding in newer.findings}
    return {
        "new": [after[key] for key in after if key not in before],
        "resolved": [before[key] for key in before if key not in after],
        "open": [after[key] for key in after if key in before],
    }
