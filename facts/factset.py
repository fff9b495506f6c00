"""A validated set of facts: every record of every kind, each with where it came from."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

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


def facts_sha256(facts: FactSet) -> str:
    """A hash of the facts themselves, whatever files or database they came from."""
    digest = hashlib.sha256()
    for kind, records in facts.records.items():
        for line in sorted(record.fact.model_dump_json() for record in records):
            digest.update(f"{kind}\t{line}\n".encode())
    return digest.hexdigest()


def record_key(fact: Fact, key: tuple | None = None) -> str:
    """The stored key: the id itself, or the natural key as a JSON array."""
    key = fact.key() if key is None else key
    if fact.KEY == ("id",):
        return key[0]
    return json.dumps([value.isoformat() if isinstance(value, dt.date) else value for value in key],
                      ensure_ascii=False)
