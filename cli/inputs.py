"""Where a command's facts come from: the files named, or else the database."""

from __future__ import annotations

from luoshi.facts.factset import Rows, rows_of
from luoshi.facts.problems import Progress
from luoshi.facts.validate import read_facts


def read_input(paths: list[str] | None, db: str | None,
               progress: Progress | None = None) -> Rows:
    """The facts as rows (what a check reads); from a database without building models."""
    if paths:
        return rows_of(read_facts(paths, progress)[0])
    from luoshi.facts import store  # SQLAlchemy is imported only by commands that use it

    return store.read_rows(db)
