"""A validated set of facts: every record of every kind, each with where it came from."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .kinds import KINDS, Fact
from .problems import Location


@dataclass(frozen=True, slots=True)
class Record:
    fact: Fact
    where: Location

    @property
    def source(self) -> str:
        return str(self.where)


@dataclass
class FactSet:
    records: dict[str, list[Record]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def __iter__(self) -> Iterator[Record]:
        for records in self.records.values():
            yield from records

    def __len__(self) -> int:
        return sum(len(records) for records in self.records.values())

    def facts(self, kind: str) -> list[Fact]:
        return [record.fact for record in self.records[kind]]

    def counts(self) -> dict[str, int]:
        return {kind: len(records) for kind, records in self.records.items()}


# A record as checks read it: its field values, `__key__` (the stored key, `record_key`) and
# `__where__` (where it came from, as text).
Row = dict[str, Any]
Rows = dict[str, list[Row]]  # by kind


def rows_of(facts: FactSet) -> Rows:
    """The facts as plain rows, the form `store.read_rows` gives straight from a database."""
    return {kind: [{**record.fact.__dict__, "__key__": record_key(record.fact),
                    "__where__": record.source} for record in records]
            for kind, records in facts.records.items()}


def facts_sha256(rows: Rows) -> str:
    """A hash of the facts themselves, whatever files or database they came from."""
    digest = hashlib.sha256()
    for kind, model in KINDS.items():
        names = list(model.model_fields)
        lines = (json.dumps({name: row[name] for name in names}, ensure_ascii=False,
                            separators=(",", ":"), default=_iso) for row in rows.get(kind, ()))
        for line in sorted(lines):
            digest.update(f"{kind}\t{line}\n".encode())
    return digest.hexdigest()


def _iso(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def record_key(fact: Fact, key: tuple | None = None) -> str:
    """The stored key: the id itself, or the natural key as a JSON array."""
    key = fact.key() if key is None else key
    if fact.KEY == ("id",):
        return key[0]
    return json.dumps([value.isoformat() if isinstance(value, dt.date) else value for value in key],
                      ensure_ascii=False)
