"""Where a command's facts come from: the files named, or else the database."""

from __future__ import annotations

from luoshi.facts.factset import FactSet
from luoshi.facts.problems import Progress
from luoshi.facts.validate import read_facts


def read_input(paths: list[str] | None, db: str | None,
               progress: Progress | None = None) -> FactSet:
    if paths:
        return read_facts(paths, progress)[0]
    from luoshi.facts import store  # SQLAlchemy is imported only by commands that use it

    return store.read(db)
