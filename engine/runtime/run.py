"""Running a check: facts and policies in, findings and triggers out.

    facts ─► FactView (as of D) ─► for each stratum: enrichment ─► durable_rules ─► matches
                                   ─► Results (triggers found feed the next stratum)

When the facts are many, the rules are split into groups evaluated side by side in forked
workers, one per core (`forked`): each group runs its strata in order, enriching the facts its
rules read, running the engine and turning matches into findings. Rules that read triggers
share a group with the rules raising them; otherwise rules share nothing (a finding, a trigger
and a waiver belong to one rule), so the groups' results are merged by union.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from luoshi.engine.plan.compile import Program, Query
from luoshi.engine.runtime import forked
from luoshi.engine.runtime.results import Found, Report, Results
from luoshi.engine.runtime.scope import RowIndex
from luoshi.engine.runtime.view import FactView, context_for
from luoshi.facts.factset import FactSet, Rows
from luoshi.facts.gc_pause import cyclic_gc_paused
from luoshi.facts.problems import InputError, Location, Problem, Progress
from luoshi.facts.values import parse_date

Bindings = dict[str, dict[str, Any]]  # alias -> row
Chain = Callable[[Query, Bindings], list[dict[str, Any]]]  # a match -> rows of its triggers


@dataclass(frozen=True)
class RunOptions:
    """How a check runs (never what it finds)."""

    workers: int | None = None  # rule groups evaluated at once; None: one per core
    parallel_min_rows: int = 20_000  # below this, forking workers costs more than it saves
    gated: bool = True  # only a test turns the phase gate off, to show it is needed


@dataclass
class Stratum:
    """What a backend evaluates: some queries of one stratum over the facts as of D.
    `chain` gives the triggers a match raises, for the rules of the stratum that read them."""

    view: FactView
    program: Program
    queries: list[Query]
    chain: Chain
    in_shard: Callable[[str | None], bool] | None
    options: RunOptions
    units: frozenset[str] | None = None  # a unit's re-check: its units (then `in_shard` too)


Backend = Callable[[Stratum], list[tuple[str, Bindings]]]


def durable_backend(stratum: Stratum) -> list[tuple[str, Bindings]]:
    """Enrichment, then durable_rules."""
    from luoshi.engine.runtime import durable, enrich

    plan = enrich.build(stratum.view, stratum.program, stratum.queries, stratum.in_shard,
                        stratum.units)
    by_id = {query.id: query for query in stratum.queries}
    matches = durable.run(plan, lambda query_id, rows: stratum.chain(by_id[query_id], rows),
                          workers=1 if forked.nested else (stratum.options.workers or 0),
                          gated=stratum.options.gated)
    return [(query_id, {alias: plan.rows[ref] for alias, ref in refs.items()})
            for query_id, refs in matches]


def check(facts: FactSet | Rows, program: Program, year: int, as_of: dt.date | None = None,
          backend: Backend | None = None, progress: Progress | None = None,
          waivers: list[Any] | None = None, shard: tuple[int, int] | None = None,
          options: RunOptions = RunOptions(), units: Collection[str] | None = None,
          index: RowIndex | None = None) -> Report:
    """`facts`: validated facts, or their rows (`store.read_rows`), left unchanged;
    `waivers`: (Waiver, Location) pairs, as `waivers.load_waivers` reads them; `shard` (K, N),
    or `units` (a unit's re-check after its submission): spare the work whose results all
    belong to other units (`narrow` then keeps the results wanted). `index`: the rows by field
    value, kept between checks of a state and the next (`scope.RowIndex`); built as needed if
    not given."""
    with cyclic_gc_paused():  # a check builds millions of small acyclic objects
        return _check(facts, program, year, as_of or dt.date(year, 12, 31), backend, progress,
                      waivers, shard, options, units, index)


def _check(facts: FactSet | Rows, program: Program, year: int, as_of: dt.date,
           backend: Backend | None, progress: Progress | None, waivers: list[Any] | None,
           shard: tuple[int, int] | None, options: RunOptions,
           wanted_units: Collection[str] | None, index: RowIndex | None) -> Report:
    all_waivers = [waiver for waiver, _ in waivers or []]
    active = {w.key(): w for w in all_waivers if w.expires >= as_of}
    view = FactView(facts, as_of, program.computed, check_context(program, year, as_of), index)
    wanted = frozenset(wanted_units) if wanted_units is not None else None
    # Before any worker forks, so that they inherit it: most rules read it. A unit's re-check
    # reports only its units (`narrow`).
    candidates = view.rows["units"] if wanted is None else \
        [row for unit in sorted(wanted) if (row := view.by_id["units"].get(unit)) is not None]
    units = sorted(row["id"] for row in candidates if view.field(row, "responsible"))
    found = Found()
    in_shard = member_of(shard) if shard else None
    share = 1 / shard[1] if shard else 1.0
    if wanted is not None:
        in_shard = wanted.__contains__
        share = len(wanted) / max(1, len(view.rows["units"]))
    # A unit's re-check looks at its own records, not the city's (`enrich`, `scope`): forking
    # workers would cost more than the work.
    rows = sum(len(kind_rows) for kind_rows in view.rows.values()) * \
        (share if wanted is not None else 1)
    workers = forked.processes(options.workers) if rows >= options.parallel_min_rows else 1
    groups = _rule_groups(program, view, workers, share)
    if progress:
        progress("检查", 0, 1)

    def evaluate(queries: list[Query]) -> Found:
        """Every stratum of these rules, in order; each one's triggers feed the next."""
        part = Found()
        for depth in sorted({query.stratum for query in queries}):
            stratum = [query for query in queries if query.stratum == depth]
            results = Results(program, view, active)
            found_here = _evaluate(Stratum(view, program, stratum, results.triggers_of,
                                           in_shard, options, wanted),
                                   backend or durable_backend, results)
            part.merge(found_here)
            for kind, derived in found_here.derived.items():
                view.add_rows(kind, derived)
        for finding in part.findings.values():  # here, in parallel, not in the parent
            finding.evidence.sort(key=lambda item: (item.kind, item.id, item.source))
        return part

    if len(groups) == 1:
        found = evaluate(groups[0])
    else:
        for part in forked.run(evaluate, groups, workers):
            found.merge(part)
    if progress:
        progress("检查", 1, 1)
    findings = sorted(found.findings.values(),
                      key=lambda f: (f.rule, f.unit or "", f.subject))
    triggers = sorted(found.triggers.values(),
                      key=lambda t: (t.type, t.basis, t.target_unit or ""))
    names = {row["id"]: row["name"] for row in view.rows["units"]}
    waived = [(finding, active[key]) for key, finding in sorted(found.waived.items(),
                                                                key=lambda item: str(item[0]))]
    stale = [w for key, w in active.items() if key not in found.waived]
    expired = [w for w in all_waivers if w.expires < as_of]
    return Report(year, as_of, findings, triggers, units, dict(program.params), names,
                  waived, expired, stale, view)


def check_context(program: Program, year: int, as_of: dt.date) -> dict[str, Any]:
    """What `$year`, `$as_of`, ... and the shared parameters are in a check."""
    shared = {name: value for name, value in program.params.items() if "." not in name}
    return context_for(year, as_of, shared)


def _evaluate(stratum: Stratum, backend: Backend, results: Results) -> Found:
    """Some rules of a stratum: the backend's matches, in key order, to results."""
    by_id = {query.id: query for query in stratum.queries}
    depth = _chain_depth(stratum.queries, stratum.program)
    for query_id, bindings in _in_key_order(backend(stratum), depth):
        results.add(by_id[query_id], bindings)
    return results.found


def _chain_depth(queries: list[Query], program: Program) -> dict[str, int]:
    """Per query, how many rules of its stratum raise the triggers it reads before it: its
    matches are turned into findings after theirs, whose evidence they carry."""
    producers: dict[str, list[Query]] = {}
    for query in queries:
        for kind in query.produces(program.rules[query.rule]):
            producers.setdefault(kind, []).append(query)
    depth: dict[str, int] = {}

    def of(query: Query, seen: frozenset[str] = frozenset()) -> int:
        if query.id not in depth:
            depth[query.id] = max((of(p, seen | {query.id}) + 1 for kind in query.consumes()
                                   for p in producers.get(kind, []) if p.id not in seen),
                                  default=0)
        return depth[query.id]

    for query in queries:
        of(query)
    return depth


def _rule_groups(program: Program, view: FactView, groups: int,
                 share: float = 1.0) -> list[list[Query]]:
    """The queries split into at most `groups` groups of about equal work. A group holds whole
    rules, and a rule that reads triggers together with the rules raising them, so that each
    group runs its strata on its own. Work is estimated in facts given to the engine (measured
    at 3,000 units: about 20 µs each, twice that in a query joining patterns): a record, or a
    list element of an exploded pattern; a shard of N evaluates a `share` of 1/N of a query
    charged by session."""
    # Triggers do not exist yet: about one record in sixteen of the kinds that raise them does
    # (measured on demo data; the estimate only balances the groups).
    derived: dict[str, float] = {}
    for query in program.queries:
        for kind in query.produces(program.rules[query.rule]):
            derived[kind] = derived.get(kind, 0) + len(
                view.rows.get(query.patterns[0].kind, ())) / 16
    elements: dict[tuple[str, str], float] = {}
    work: dict[str, float] = {}
    for query in program.queries:
        joined = 2 if len(query.patterns) > 1 else 1
        part = share if query.by_session else 1
        for pattern in query.patterns:
            rows = view.rows.get(pattern.kind, ())
            facts = float(len(rows)) or derived.get(pattern.kind, 0)
            if pattern.explode:
                key = (pattern.kind, pattern.explode)
                if key not in elements:  # list lengths, from a sample of the records
                    sample = rows[:: max(1, len(rows) // 200)]
                    elements[key] = sum(len(view.field(row, pattern.explode) or ())
                                        for row in sample) / max(1, len(sample))
                facts *= elements[key]
            work[query.rule] = work.get(query.rule, 0) + facts * joined * part
    together = _linked_by_triggers(program)
    bundles: dict[str, list[str]] = {}
    for rule in work:
        bundles.setdefault(together[rule], []).append(rule)
    cost = {head: sum(work[rule] for rule in rules) for head, rules in bundles.items()}
    loads = [0.0] * max(1, min(groups, len(bundles)))
    member: dict[str, int] = {}
    for head in sorted(bundles, key=lambda head: (-cost[head], head)):
        lightest = loads.index(min(loads))
        for rule in bundles[head]:
            member[rule] = lightest
        loads[lightest] += cost[head]
    return [[q for q in program.queries if member[q.rule] == group]
            for group in range(len(loads))]


def _linked_by_triggers(program: Program) -> dict[str, str]:
    """Each rule's bundle (named by one of its rules): rules joined through triggers one
    raises and another reads."""
    parent = {query.rule: query.rule for query in program.queries}

    def find(rule: str) -> str:
        while parent[rule] != rule:
            rule = parent[rule]
        return rule

    producers: dict[str, list[str]] = {}
    for query in program.queries:
        for kind in query.produces(program.rules[query.rule]):
            producers.setdefault(kind, []).append(query.rule)
    for query in program.queries:
        for kind in query.consumes():
            for producer in producers.get(kind, []):
                parent[find(producer)] = find(query.rule)
    return {rule: find(rule) for rule in parent}


def _in_key_order(matches: list[tuple[str, Bindings]],
                  depth: dict[str, int]) -> list[tuple[str, Bindings]]:
    """Each match once, ordered by the business keys of its records (never by engine order or
    input order), so messages, evidence and derived facts do not depend on either; rules
    reading triggers after the rules raising them."""
    unique: dict[tuple, Bindings] = {}
    for query, bindings in matches:
        key = (depth[query], query, tuple(sorted((alias, str(row["__key__"]))
                                                 for alias, row in bindings.items())))
        unique.setdefault(key, bindings)
    return [(key[1], unique[key]) for key in sorted(unique)]


def shard_of(unit: str | None, shards: int) -> int:
    """The shard (1..N) a unit's results belong to, by a hash stable across runs and machines;
    results charged to no unit belong to shard 1."""
    if unit is None:
        return 1
    return int(hashlib.sha256(unit.encode()).hexdigest()[:8], 16) % shards + 1


def member_of(shard: tuple[int, int]) -> Callable[[str | None], bool]:
    """Whether a unit belongs to shard K of N (memoised: asked for every row)."""
    number, count = shard
    memo: dict[str | None, bool] = {}

    def member(unit: str | None) -> bool:
        if unit not in memo:
            memo[unit] = shard_of(unit, count) == number
        return memo[unit]
    return member


def narrow(report: Report, select: list[str] | None = None, ignore: list[str] | None = None,
           units: list[str] | None = None, shard: tuple[int, int] | None = None) -> Report:
    """Only the rules selected (ids or prefixes, e.g. `F4`), not ignored, charged to `units`,
    and, with `shard` = (K, N), charged to units of shard K of N."""
    def wanted(rule: str, unit: str | None) -> bool:
        if select and not any(rule.startswith(prefix) for prefix in select):
            return False
        if ignore and any(rule.startswith(prefix) for prefix in ignore):
            return False
        if shard and shard_of(unit, shard[1]) != shard[0]:
            return False
        return not units or unit in units

    return Report(report.year, report.as_of,
                  [f for f in report.findings if wanted(f.rule, f.unit)],
                  [t for t in report.triggers if wanted(t.rule, t.target_unit)],
                  [u for u in report.units if (not units or u in units)
                   and (not shard or shard_of(u, shard[1]) == shard[0])], report.params,
                  report.unit_names,
                  [(f, w) for f, w in report.waived if wanted(f.rule, f.unit)],
                  [w for w in report.expired if wanted(w.rule, w.unit)],
                  [w for w in report.stale if wanted(w.rule, w.unit)], report.view)


def as_of_date(text: str | None, year: int) -> dt.date:
    """`--as-of`, or 31 December of the year: any day from 1 January of the year on."""
    if text is None:
        return dt.date(year, 12, 31)
    try:
        day = parse_date(text)
    except ValueError as error:
        raise InputError([Problem(Location("--as-of"), "C001", str(error))]) from None
    if day.year < year:  # a year may be checked again years later, never before it began
        raise InputError([Problem(Location("--as-of"), "C001",
                                  f"检查日 {day.isoformat()} 早于 {year} 年 1 月 1 日")])
    return day
