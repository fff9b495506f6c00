"""What falls due in the next N days (interface.md, "Upcoming deadlines").

A minimal version for the portal's lights, with the signature `luoshi upcoming` shares; the
command's own module replaces it. The findings and triggers of a check on `as_of + days` that a
check on `as_of` does not give; `due_on`: the day after the earliest date of a record the
finding rests on that lies in between (a rectification's deadline passed), a trigger's due date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from luoshi.engine.plan.compile import Program
from luoshi.engine.runtime import run
from luoshi.facts.factset import Rows
from luoshi.facts.kinds import date_fields


def upcoming(facts_rows: Rows, program: Program, year: int, as_of: dt.date, days: int,
             waivers: list[Any] | None = None) -> dict[str, Any]:
    until = as_of + dt.timedelta(days=days)
    now = run.check(facts_rows, program, year, as_of, waivers=waivers)
    later = run.check(facts_rows, program, year, until, waivers=waivers)
    known = {finding.id for finding in now.findings}
    known_triggers = {trigger.key() for trigger in now.triggers}
    rows = {kind: {row.get("id"): row for row in records if row.get("id") is not None}
            for kind, records in facts_rows.items()}

    def due_on(finding: Any) -> str | None:
        dates = []
        for item in finding.evidence:
            row = rows.get(item.kind, {}).get(item.id) or {}
            dates += [row[name] for name in date_fields(item.kind)
                      if isinstance(row.get(name), dt.date) and as_of <= row[name] < until]
        return (min(dates) + dt.timedelta(days=1)).isoformat() if dates else None

    return {
        "as_of": as_of.isoformat(),
        "until": until.isoformat(),
        "upcoming": [{**finding.as_dict(), "due_on": due_on(finding)}
                     for finding in later.findings if finding.id not in known],
        "triggers": [{**trigger.as_dict(), "due_on": trigger.due.isoformat() if trigger.due else None}
                     for trigger in later.triggers if trigger.key() not in known_triggers],
    }
