"""Upcoming deadlines (临近提醒): what will fall due in the next N days.

By definition (interface.md) the findings and triggers that a check as of D+N gives and a
check as of D does not: nothing is computed that the check does not compute, so a reminder can
never disagree with the check that later reports the same thing.

`due_on` is the last day on which the finding is not yet reported (a rectification's deadline,
an accountability's due date, a waiver's expiry), found by running the check again on days
between D and D+N (bisection: at most about log2(N) checks per finding, only over the rules
concerned). It is given when a record's date decides the finding: its rule compares a record's
date with the check day so that it turns true once the day has passed (`r.deadline < $as_of`,
`$as_of > s.date + $days days`, or the same negated in `unless`), or a waiver of it ran out.
Otherwise (a finding due at the year's end, `$as_of >= $year_end`; a record dated in the window)
`due_on` is null.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.policy import Alternative, Rule, parse_pattern
from luoshi.engine.plan.compile import Program
from luoshi.engine.runtime import run
from luoshi.engine.runtime.results import Finding, Report, Trigger
from luoshi.engine.runtime.scope import RowIndex
from luoshi.facts.factset import FactSet, Rows
from luoshi.facts.problems import InputError, Location, Problem

DEFAULT_DAYS = 7


@dataclass
class Upcoming:
    """A reminder: the findings and triggers falling due in (as_of, until]."""

    as_of: dt.date
    until: dt.date
    findings: list[Finding]
    due_on: dict[str, dt.date | None]  # finding id -> due date
    triggers: list[Trigger]
    report: Report  # the check as of `until` (names and titles for the table)

    def as_data(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "until": self.until.isoformat(),
                "upcoming": [{**finding.as_dict(), "due_on": _iso(self.due_on[finding.id])}
                             for finding in self.findings],
                "triggers": [trigger.as_dict() for trigger in self.triggers]}


def upcoming(facts_rows: FactSet | Rows, program: Program, year: int, as_of: dt.date, days: int,
             waivers: list[Any] | None = None, *, units: list[str] | None = None,
             now: Report | None = None, index: RowIndex | None = None) -> dict[str, Any]:
    """The JSON of `luoshi upcoming`: `{"as_of", "until", "upcoming": [finding + "due_on"],
    "triggers": [...]}`. `waivers`: (Waiver, Location) pairs as for `run.check`; `units`: only
    what is charged to these units (a unit's own reminders); `now`: the check as of D, narrowed
    to `units`, if it is at hand (the portal keeps it); `index`: as for `run.check`."""
    return find(facts_rows, program, year, as_of, days, waivers, units=units, now=now,
                index=index).as_data()


def find(facts_rows: FactSet | Rows, program: Program, year: int, as_of: dt.date, days: int,
         waivers: list[Any] | None = None, *, units: list[str] | None = None,
         now: Report | None = None, index: RowIndex | None = None) -> Upcoming:
    """As `upcoming`, with the findings and the check as of D+N kept for rendering."""
    until = window_end(year, as_of, days)
    index = index if index is not None else RowIndex()  # one for all the checks below
    if now is None:
        now = run.narrow(run.check(facts_rows, program, year, as_of, waivers=waivers,
                                   units=units, index=index), units=units)
    later = run.narrow(run.check(facts_rows, program, year, until, waivers=waivers,
                                 units=units, index=index), units=units)
    before = {finding.id for finding in now.findings}
    raised = {trigger.key() for trigger in now.triggers}
    findings = [finding for finding in later.findings if finding.id not in before]
    triggers = [trigger for trigger in later.triggers if trigger.key() not in raised]
    dated = [f for f in findings if _decided_by_date(program.rules[f.rule])]
    last_day = _last_days_unreported(facts_rows, program, year, as_of, until, dated, waivers,
                                     units, index)
    expiring = {waiver.key(): waiver.expires for waiver, _ in waivers or []
                if as_of <= waiver.expires < until}
    due_on: dict[str, dt.date | None] = {}
    for finding in findings:
        day = last_day.get(finding.id)
        if day is None and expiring.get((finding.rule, finding.unit, finding.subject)):
            day = expiring[(finding.rule, finding.unit, finding.subject)]
        due_on[finding.id] = day
    findings.sort(key=lambda f: (due_on[f.id] is None, due_on[f.id] or until, f.rule,
                                 f.unit or "", f.subject))
    return Upcoming(as_of, until, findings, due_on, triggers, later)


def window_end(year: int, as_of: dt.date, days: int) -> dt.date:
    """D+N: at least a day after D (a year may be checked as of any later day, so D+N too)."""
    if days < 1:
        raise InputError([Problem(Location("--days"), "C001", f"天数应为正整数：{days}")])
    try:
        return as_of + dt.timedelta(days=days)
    except OverflowError:
        raise InputError([Problem(Location("--days"), "C001",
                                  f"从 {as_of.isoformat()} 起 {days} 天超出了日期的范围")]) from None


def _last_days_unreported(facts: FactSet | Rows, program: Program, year: int, start: dt.date,
                          end: dt.date, findings: list[Finding],
                          waivers: list[Any] | None,
                          units: list[str] | None = None,
                          index: RowIndex | None = None) -> dict[str, dt.date]:
    """For each finding (absent as of `start`, present as of `end`), the day before the first
    check day that reports it, by bisection over (start, end]; with `units`, each check spares
    the other units' work (the findings are theirs)."""
    if not findings:
        return {}
    concerned = _with_producers(program, {finding.rule for finding in findings})
    part = Program([q for q in program.queries if q.rule in concerned], program.rules,
                   program.computed, program.params)
    found: dict[str, dt.date] = {}

    def split(low: dt.date, high: dt.date, ids: set[str]) -> None:
        # Absent as of `low`, present as of `high`.
        if (high - low).days == 1:
            found.update(dict.fromkeys(ids, low))
            return
        middle = low + (high - low) // 2
        present = {f.id for f in run.check(facts, part, year, middle, waivers=waivers,
                                           units=units, index=index).findings}
        if ids & present:
            split(low, middle, ids & present)
        if ids - present:
            split(middle, high, ids - present)

    split(start, end, {finding.id for finding in findings})
    return found


def _with_producers(program: Program, rules: set[str]) -> set[str]:
    """The rules and, transitively, the rules raising the triggers they read."""
    producers: dict[str, set[str]] = {}
    for query in program.queries:
        for kind in query.produces(program.rules[query.rule]):
            producers.setdefault(kind, set()).add(query.rule)
    wanted, todo = set(rules), list(rules)
    while todo:
        rule = todo.pop()
        for query in program.queries:
            if query.rule == rule:
                for kind in query.consumes():
                    for producer in producers.get(kind, set()) - wanted:
                        wanted.add(producer)
                        todo.append(producer)
    return wanted


def _decided_by_date(rule: Rule) -> bool:
    """Whether the rule compares a record's date with the check day so that the comparison
    turns true once that date has passed: `x < $as_of` or `$as_of > x` in match and where,
    `x >= $as_of` or `$as_of <= x` in unless (where it must turn false)."""
    positive: list[Any] = []
    negative: list[Any] = []
    bodies: list[Rule | Alternative] = [rule, *rule.alternatives]
    for body in bodies:
        for alias, text in body.match.items():
            positive.append(parse_pattern(text, alias=alias).where)
        if body.where:
            positive.append(expr.parse(body.where))
        negative += [parse_pattern(text).where for text in body.unless]
    return any(_deadline_in(node, True) for node in positive if node is not None) or \
        any(_deadline_in(node, False) for node in negative if node is not None)


_PASSED = {(True, "<", "right"), (True, ">", "left"), (False, ">=", "right"),
           (False, "<=", "left")}


def _deadline_in(node: Any, polarity: bool) -> bool:
    if isinstance(node, expr.Unary) and node.op == "not":
        return _deadline_in(node.operand, not polarity)
    if isinstance(node, expr.Binary) and node.op in ("and", "or"):
        return _deadline_in(node.left, polarity) or _deadline_in(node.right, polarity)
    if isinstance(node, expr.Binary) and node.op in ("<", "<=", ">", ">="):
        for side, day, record in (("left", node.left, node.right),
                                  ("right", node.right, node.left)):
            if (polarity, node.op, side) in _PASSED and _mentions_as_of(day) \
                    and not _reads_record(day) and _reads_record(record):
                return True
    return False


def _reads_record(node: Any) -> bool:
    return isinstance(node, expr.Path) or any(_reads_record(child)
                                              for child in expr.children(node))


def _mentions_as_of(node: Any) -> bool:
    if isinstance(node, expr.Var):
        return node.name == "as_of"
    return any(_mentions_as_of(child) for child in expr.children(node))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None
