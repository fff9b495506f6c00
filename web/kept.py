"""The portal's check results, kept until what they read changes (docs/performance.md, the
portal under load): the state changes only when a load commits, and reads far outnumber
submissions.

What can change a unit's results is known without running anything: a record of a kind read
city-wide, or one of the unit's own records of a local kind (`engine.plan.locality`: a kind
read only by rules of the unit it belongs to, which is why a shard reads only its units'
records of those kinds, docs/scaling.md). Each state therefore carries its `Changes`: the last
load that changed a city-wide kind, and per unit the last load that changed its records of a
local kind. A unit's results are kept under those two numbers, so they stay valid while other
units submit. The whole city's results are kept under the newest load; after loads that
changed only some units' local records, they are brought up to date by re-checking those
units alone (`check(units=…)`): by the same proof, nothing charged to any other unit (or to no
unit) can have changed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from luoshi.engine.runtime.results import Report
from luoshi.facts.factset import Rows

T = TypeVar("T")


@dataclass(frozen=True)
class Changes:
    """Which loads last changed what checks read, as of load `newest`."""

    newest: int
    shared: int  # the last load that changed a record of a kind read city-wide
    units: Mapping[str, int]  # unit -> the last load that changed its records of a local kind

    @classmethod
    def first(cls, load_id: int) -> Changes:
        return cls(load_id, load_id, {})

    def after(self, load_id: int, old: Rows, new: Rows, local: Mapping[str, str]) -> Changes:
        """The changes once `new` (right after load `load_id`) follows `old`. `new` holds the
        very row objects of `old` that no load since changed (`store.read_newer`)."""
        shared, units = self.shared, dict(self.units)
        for kind in old.keys() | new.keys():
            before, after = old.get(kind, []), new.get(kind, [])
            if after is before:
                continue
            home = local.get(kind)
            if home is None:
                if after != before:
                    shared = load_id
                continue
            kept, now = {id(row) for row in before}, {id(row) for row in after}
            for row in [*(r for r in after if id(r) not in kept),
                        *(r for r in before if id(r) not in now)]:
                unit = row.get(home)
                if unit is None:
                    shared = load_id
                else:
                    units[unit] = load_id
        return Changes(load_id, shared, units)

    def of(self, unit: str) -> tuple[int, int]:
        """What a unit's results are kept under."""
        return self.shared, self.units.get(unit, 0)

    def units_since(self, earlier: Changes) -> set[str] | None:
        """The units whose local records changed after `earlier`; None when a city-wide kind did
        (then every result may have changed)."""
        if self.shared != earlier.shared:
            return None
        return {unit for unit, at in self.units.items() if at > earlier.newest}


class Kept:
    """Values by key, each valid under one stamp; the `size` most recently used are kept."""

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def latest(self, key: Hashable) -> tuple[Any, Any] | None:
        """(stamp, value) last kept under `key`, whatever its stamp."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, stamp: Any, value: T) -> T:
        with self._lock:
            self._items[key] = (stamp, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def fetch(self, key: Hashable, stamp: Any, compute: Callable[[], T]) -> T:
        """The value kept under `key` if its stamp is `stamp`, else `compute()`, kept."""
        found = self.latest(key)
        if found is not None and found[0] == stamp:
            return found[1]
        return self.put(key, stamp, compute())


def lean(report: Report, unit: str | None) -> Report:
    """A report to keep: without the view it read (the whole city's rows as of the day), and a
    unit's with only its own name."""
    names = report.unit_names if unit is None else \
        {unit: report.unit_names[unit]} if unit in report.unit_names else {}
    return dataclasses.replace(report, view=None, unit_names=names)


def updated_report(old: Report, fresh: Report, units: set[str]) -> Report:
    """The whole city's `old` results with those charged to `units` replaced by `fresh` (their
    re-check, narrowed to them), in the order a check gives."""
    findings = [f for f in old.findings if f.unit not in units] + fresh.findings
    triggers = [t for t in old.triggers if t.target_unit not in units] + fresh.triggers
    findings.sort(key=lambda f: (f.rule, f.unit or "", f.subject))
    triggers.sort(key=lambda t: (t.type, t.basis, t.target_unit or ""))
    return dataclasses.replace(old, findings=findings, triggers=triggers)


def updated_upcoming(old: dict[str, Any], fresh: dict[str, Any],
                     units: set[str]) -> dict[str, Any]:
    """As `updated_report`, for the JSON of `upcoming` (its order: by due day, then as a check)."""
    until = old["until"]
    items = [item for item in old["upcoming"] if item["unit"] not in units] + fresh["upcoming"]
    triggers = [t for t in old["triggers"] if t["target_unit"] not in units] + fresh["triggers"]
    items.sort(key=lambda f: (f["due_on"] is None, f["due_on"] or until, f["rule"],
                              f["unit"] or "", f["subject"]))
    triggers.sort(key=lambda t: (t["type"], t["basis"], t["target_unit"] or ""))
    return {**old, "upcoming": items, "triggers": triggers}
