"""The durable_rules backend: the only module that imports `durable`.

durable_rules 2.0.28 has reproduced correctness bugs and hard limits (see
shared/notes/durable-rules.md). This module is built so that no policy can reach them:

- Phase gate: every rule's second pattern is a `__phase__` fact, asserted per session only
  after all facts are loaded, and before every negation; so a negated fact never arrives after
  a pending activation (bugs B1, B2), and results do not depend on the order facts come in.
- Strata run as separate workloads (`compile.py` puts a rule reading derived facts in a later
  stratum), so negation never sees a derived fact still to come.
- Joins are on our own fields (`f_<name>`), never on durable's `id`/`sid` (bug B3).
- Fact ids are allocated per session free of 32-bit FNV collisions (bug B4).
- No arithmetic reaches the engine (B5): filters and date arithmetic are evaluated beforehand.
- No `any`: alternatives are separate rules (B6). Every pattern starts with a type test, so no
  standalone `$nex` exists.
- Aliases of positive patterns are chosen so that fnv32(alias) % 16 equals their position.
- Sessions (sids) hold whole units, a few thousand facts each, at most `MAX_SESSIONS` per
  ruleset (the limit is 1024); at most 15 data patterns per rule (the limit is 16 with the
  gate) is checked by the compiler.
- No default Host (it starts threads that never stop): a Host whose run loop does nothing, and
  every action drained on the calling thread.
- Each batch of sessions is evaluated in a worker process that exits afterwards, because
  durable_rules never gives memory back; a worker that dies (a crash in the C core) is an
  error, not a silently missing result.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

from luoshi.engine.runtime import forked
from luoshi.engine.errors import EngineError
from luoshi.engine.runtime.workload import Workload

MAX_SESSIONS = 1000  # per ruleset; durable_rules fails at the 1025th
FACTS_PER_SESSION = 3000  # durable slows down quadratically within a session past ~5,000
MAX_FACTS_PER_BATCH = 20_000  # 10-20 KB each in the engine, never given back
ASSERT_CHUNK = 1000
_OPERATORS = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
GATE = "__phase__"


def fnv32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value ^= byte
        value = (value * 16777619) & 0xFFFFFFFF
    return value


def _aliases() -> list[str]:
    """`ALIASES[k]` hashes to slot k of durable's 16-slot frame table."""
    found: dict[int, str] = {}
    number = 0
    while len(found) < 16:
        name = f"p{number}"
        found.setdefault(fnv32(name) % 16, name)
        number += 1
    return [found[slot] for slot in range(16)]


ALIASES = _aliases()


# Only a test turns this off, to show that without the phase gate results go wrong.
GATED = True


def ruleset(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """The durable_rules definition of a stratum's queries (without actions)."""
    rules = {}
    for query in queries:
        positives = [p for p in query["patterns"] if not p["negated"]]
        negatives = [p for p in query["patterns"] if p["negated"]]
        names = {p["alias"]: ALIASES[position if position == 0 else position + 1]
                 for position, p in enumerate(positives)}
        conditions = [{names[positives[0]["alias"]]: _test(positives[0], names)}]
        if GATED:
            conditions.append({ALIASES[1]: {"type": GATE}})
        conditions += [{names[p["alias"]]: _test(p, names)} for p in positives[1:]]
        conditions += [{f"n{index}$not": _test(p, names)} for index, p in enumerate(negatives)]
        rules[query["id"]] = {"all": conditions}
    return rules


def _test(pattern: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [{"type": pattern["token"]}, {pattern["flag"]: True}]
    for own, op, other, other_field in pattern["joins"]:
        reference = {own: {names[other]: other_field}}
        tests.append(reference if op == "==" else {_OPERATORS[op]: reference})
    return {"$and": tests}


def run(workload: Workload, workers: int | None = None) -> list[tuple[str, dict[str, int]]]:
    """Evaluate a workload; return every match as (query id, {alias: fact ref})."""
    batches = list(_batches(workload))
    if forked.nested and len(batches) == 1:
        # Already in a worker that exits when done: no need to fork another for one batch.
        outcomes = [_evaluate_batch(batches[0])]
    else:
        outcomes = forked.run(_evaluate_batch, batches, forked.processes(workers))
    matches = []
    for batch_matches, errors in outcomes:
        if errors:
            raise EngineError("; ".join(errors[:5]))
        matches.extend(batch_matches)
    return matches


def _batches(workload: Workload) -> Iterator[tuple[list[dict[str, Any]], dict[str, list]]]:
    """Whole units packed into engine sessions of about `FACTS_PER_SESSION` facts, and sessions
    into batches. Packing is sound: facts that can match share a partition value, hence a unit,
    and a unit is never split. It matters: durable keeps ~8 KB per rule node per session."""
    sessions: dict[str, list[dict[str, Any]]] = {}
    current: list[dict[str, Any]] = []
    size = 0
    for unit in sorted(workload.sessions):
        facts = workload.sessions[unit]
        if current and len(current) + len(facts) > FACTS_PER_SESSION:
            sessions[f"s{len(sessions)}"] = current
            size += len(current)
            current = []
            if len(sessions) >= MAX_SESSIONS or size >= MAX_FACTS_PER_BATCH:
                yield workload.queries, sessions
                sessions, size = {}, 0
        current.extend(facts)
    if current:
        sessions[f"s{len(sessions)}"] = current
    if sessions:
        yield workload.queries, sessions


def _evaluate_batch(batch: tuple[list[dict[str, Any]], dict[str, list]]) -> tuple[list, list]:
    """In a worker process: load every session, open the gate in each, run every action."""
    import durable_rules_engine as dre
    from durable import engine

    queries, sessions = batch

    class _QuietHost(engine.Host):
        def _run(self) -> None:  # the default starts dispatch and timer threads
            pass

    matches: list[tuple[str, dict[str, int]]] = []
    errors: list[str] = []
    definition = ruleset(queries)
    for query in queries:
        positives = [p for p in query["patterns"] if not p["negated"]]
        names = {p["alias"]: ALIASES[i if i == 0 else i + 1] for i, p in enumerate(positives)}
        definition[query["id"]]["run"] = _action(query["id"], names, matches, errors)
    host = _QuietHost()
    name = f"luoshi_{os.getpid()}"
    host.register_rulesets({name: copy.copy(definition)})
    handle = host.get_ruleset(name)._handle
    ids = _Ids()
    for session, facts in sessions.items():
        stamped = [{**fact, "sid": session, "id": ids.take(session, str(fact["ref"]))}
                   for fact in facts]
        for start in range(0, len(stamped), ASSERT_CHUNK):
            code, _ = dre.assert_facts(handle, json.dumps(stamped[start:start + ASSERT_CHUNK]))
            if code == 2:
                errors.append(f"规则引擎拒绝了重复的事实（会话 {session}）")
    for session in sessions:
        gate = {"type": GATE, "sid": session, "id": ids.take(session, GATE)}
        dre.assert_facts(handle, json.dumps([gate]))
    _drain(host.get_ruleset(name), dre)
    return matches, errors


def _action(query_id: str, names: dict[str, str], matches: list, errors: list) -> Any:
    """The callback of one rule: record which facts matched. One parameter: durable takes a
    two-parameter callable for an asynchronous action that never completes."""
    def record(c: Any) -> None:
        try:
            matches.append((query_id, {alias: getattr(c, name)._d["ref"]
                                       for alias, name in names.items()}))
        except Exception as error:  # durable swallows exceptions raised in actions
            errors.append(f"{query_id}: {error!r}")
    return record


def _drain(ruleset_object: Any, dre: Any) -> None:
    """Run every pending action of every session, on this thread."""
    def complete(error: Any, _state: Any) -> None:
        if error:
            raise error
    while True:
        pending = dre.start_action(ruleset_object._handle)
        if not pending:
            return
        ruleset_object._flush_actions(json.loads(pending[0]), {"message": json.loads(pending[1])},
                                      pending[2], complete)


class _Ids:
    """Fact ids unique per session under durable's 32-bit hash, which it never double-checks."""

    def __init__(self) -> None:
        self.used: dict[str, set[int]] = {}

    def take(self, session: str, base: str) -> str:
        used = self.used.setdefault(session, set())
        candidate, bump, hashed = base, 0, fnv32(base)
        while hashed in used:
            bump += 1
            candidate = f"{base}~{bump}"
            hashed = fnv32(candidate)
        used.add(hashed)
        return candidate
