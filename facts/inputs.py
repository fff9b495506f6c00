"""Where a check's facts come from: the files named, or else the database."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from .factset import Rows, rows_of
from .problems import InputError, Location, Problem, Progress
from .validate import read_facts

if TYPE_CHECKING:  # the engine is imported only by the commands that check
    from luoshi.engine.plan.compile import Program

def read_input(paths: list[str] | None, db: str | None, progress: Progress | None = None,
               program: Program | None = None, shard: tuple[int, int] | None = None,
               known_at: int | None = None, seen: dict[str, int] | None = None,
               units: Collection[str] | None = None) -> Rows:
    """The facts as rows (what a check reads); from a database without building models (the
    state right after load `known_at`, else the current one), and for shard K of N or for
    `units` (with the compiled `program`) only their records of kinds no other unit's rules
    read (`engine.locality`); `seen["load_id"]`: the newest load the state read holds."""
    if paths:
        return rows_of(read_facts(paths, progress)[0])
    from . import store  # SQLAlchemy is imported only by commands that use it

    try:
        if (shard or units is not None) and program is not None:
            from luoshi.engine.plan.locality import local_kinds
            from luoshi.engine.runtime.run import member_of

            wanted = member_of(shard) if shard else frozenset(units or ()).__contains__
            return store.read_rows(db, local_kinds(program), wanted, known_at, seen)
        return store.read_rows(db, known_at=known_at, seen=seen)
    except (ValueError, TypeError, OverflowError) as error:  # a value the driver cannot convert
        from sqlalchemy.engine import make_url

        where = make_url(store.database_url(db)).render_as_string(hide_password=True)
        raise InputError([Problem(Location(where), "C003",
                                  f"数据库中的数据已损坏，无法读取（{type(error).__name__}: "
                                  f"{str(error)[:200]}）；请用报送文件重新 luoshi load")]) from None
