"""The durable_rules backend: the only module that imports `durable`.

Each query becomes one durable_rules rule whose patterns carry the query's tests: comparisons
with constants (`$lt` `$lte` `$gt` `$gte` `$neq`, equality), `in` as `$or`, `contains` as
`$iany`, null tests as `$ex`/`$nex`, joins between aliases as references to earlier aliases,
and `unless` as `$not` patterns. A rule that raises triggers asserts them from its action, and
rules over triggers (A308) fire from those facts inside the same run.

durable_rules 2.0.28 has reproduced correctness bugs and hard limits (see
shared/notes/durable-rules.md). This module is built so that no policy can reach them:

- Phase gate: every rule's second pattern is a `__phase__` fact, asserted per session only
  after all facts are loaded, and before every negation; so a negated fact never arrives after
  a pending activation (bugs B1, B2), and results do not depend on the order facts come in.
- Strata run as separate evaluations (`compile.py` puts a rule joining or negating derived
  facts in a later stratum), so negation never sees a derived fact still to come.
- Our record id is the field `key`, never durable's `id`/`sid`, on which joins read freed
  memory (B3) (`enrich.field_name`).
- Fact ids are allocated per session free of 32-bit FNV collisions (B4).
- No division reaches the engine (B5); date arithmetic in days is `$add` of integers.
- No `any`: alternatives are separate rules (B6). Every pattern starts with a type test, so no
  `$nex` stands alone (it hangs the engine).
- Aliases of positive patterns are chosen so that fnv32(alias) % 16 equals their position.
- Facts and rules are sent as UTF-8 JSON (`ensure_ascii=False`): durable compares the raw
  text of strings, so `"市纪委"` never equals `"\\u5e02\\u7eaa\\u59d4"`.
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

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from luoshi.engine.errors import EngineError
from luoshi.engine.plan.conditions import Test
from luoshi.engine.runtime import alpha_stack, forked
from luoshi.engine.runtime.enrich import EnginePattern, EngineQuery, Plan, field_name

MAX_SESSIONS = 1000  # per ruleset; durable_rules fails at the 1025th
FACTS_PER_SESSION = 3000  # durable slows down quadratically within a session past ~5,000
MIN_FACTS_PER_BATCH = 20_000  # ~10 KB each in the engine, never given back
FACTS_PER_PARENT_MB = 25  # a batch's engine memory: about a quarter of the forking process's
ASSERT_CHUNK = 1000
ACTION_BATCH = 500  # matches handed to one action call (`cap`): fewer calls into Python
GATE = "__phase__"
CASE_MARK = "~"  # `F402~2`: a further case of query F402 (`_absent_cases`)
_OPERATORS = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}

# Chain: (query id, {alias: row}) -> the rows of the triggers that match raises.
Chain = Callable[[str, dict[str, dict[str, Any]]], list[dict[str, Any]]]


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


# ------------------------------------------------------------------------------- rules

def ruleset(queries: list[EngineQuery], gated: bool = True) -> dict[str, Any]:
    """The durable_rules definition of queries (without actions): what `rules show
    --compiled` prints. `gated=False` only for the test showing the gate is needed."""
    rules: dict[str, Any] = {}
    for query in queries:
        rules.update(_rules(query, gated))
    return rules


def _rules(query: EngineQuery, gated: bool) -> dict[str, Any]:
    """A query's durable_rules rules: one, or one per case of the absent values its negations
    read (`_absent_cases`). Every rule of a query reports its matches as the query's."""
    slots = _slots(query)
    rules = {}
    for number, patterns in enumerate(_absent_cases(query.patterns)):
        positives = [p for p in patterns if not p.negated]
        negatives = [p for p in patterns if p.negated]
        conditions = [{slots[positives[0].alias]: _pattern(positives[0], slots)}]
        if gated:
            conditions.append({ALIASES[1]: {"$and": [{"type": GATE}, {"stratum": 1}]}})
        conditions += [{slots[p.alias]: _pattern(p, slots)} for p in positives[1:]]
        conditions += [{f"n{index}$not": _pattern(p, slots)} for index, p in enumerate(negatives)]
        name = query.id if number == 0 else f"{query.id}{CASE_MARK}{number + 1}"
        rules[name] = {"all": conditions, "cap": ACTION_BATCH}
    return rules


def query_of(rule_name: str) -> str:
    """The query a durable_rules rule evaluates (a case of its absent values, or all of it)."""
    return rule_name.split(CASE_MARK, 1)[0]


# A comparison with a missing value is false. durable_rules 2.0.28 agrees for comparisons with
# constants, `$iany`/`$iall`, equality joins, and a later fact lacking its own side of a join
# (tests/test_absent_values.py shows each); elsewhere it does not, and the tests below make it:
# - an ordered join (`!=` `<` `<=` `>` `>=`) reading a field the EARLIER fact lacks raises error
#   311 for the whole batch, in a positive pattern and under `$not` alike (`reduceOperand`);
# - a comparison with the fact's own field (`$m`, `$add`) matches when that field is missing and
#   an earlier test of the pattern tested the compared field (F406 for a rectification closed
#   with no deadline).

def _absent_cases(patterns: list[EnginePattern]) -> list[list[EnginePattern]]:
    """The patterns as rules durable_rules evaluates with a missing value false everywhere.
    A positive pattern's ordered join requires the earlier fact's field (`$ex` there: the join
    is false without it). A negation's ordered join cannot require it: without the field the
    negation cannot match, so it holds. Such a query becomes disjoint cases, the earlier fact
    with the field (the negation as written) and without it (`$nex`, the negation dropped)."""
    patterns = list(patterns)
    for pattern in patterns:
        if not pattern.negated:
            for _, op, other, other_field in pattern.joins:
                if op != "==":
                    _require(patterns, other, ("ex", other_field))
    return _cases(patterns, _unguarded(patterns))


def _unguarded(patterns: list[EnginePattern]) -> list[tuple[str, str]]:
    """(earlier alias, field) read by a negation's ordered join, the field possibly missing."""
    by_alias = {pattern.alias: pattern for pattern in patterns}
    found: list[tuple[str, str]] = []
    for pattern in patterns:
        if pattern.negated:
            for _, op, other, other_field in pattern.joins:
                if op != "==" and not _present(by_alias[other].test, other_field) \
                        and (other, other_field) not in found:
                    found.append((other, other_field))
    return found


def _cases(patterns: list[EnginePattern], unguarded: list[tuple[str, str]]
           ) -> list[list[EnginePattern]]:
    if not unguarded:
        return [patterns]
    (alias, name), rest = unguarded[0], unguarded[1:]
    present = _require(list(patterns), alias, ("ex", name))
    missing = [pattern for pattern in _require(list(patterns), alias, ("nex", name))
               if not (pattern.negated and any(op != "==" and (other, field) == (alias, name)
                                                for _, op, other, field in pattern.joins))]
    return _cases(present, rest) + _cases(missing, [
        spot for spot in rest if spot in _unguarded(missing)])


def _require(patterns: list[EnginePattern], alias: str, test: Test) -> list[EnginePattern]:
    """`patterns` with `test` added to the pattern of `alias` (in place; returned)."""
    for number, pattern in enumerate(patterns):
        if pattern.alias == alias and not (test[0] == "ex" and _present(pattern.test, test[1])):
            patterns[number] = replace(pattern, test=("and", [test, pattern.test])
                                       if pattern.test else test)
    return patterns


def _present(test: Test | None, name: str) -> bool:
    """Whether a fact passing `test` holds the field `name` (a test of it is false without)."""
    if not test:
        return False
    kind = test[0]
    if kind == "and":
        return any(_present(part, name) for part in test[1])
    if kind == "or":
        return all(_present(part, name) for part in test[1])
    if kind == "cmp":
        return name in (test[2], test[3][1] if test[3][0] == "field" else None)
    return kind == "never" or (kind in ("ex", "has") and test[1] == name)


def _slots(query: EngineQuery) -> dict[str, str]:
    """Engine aliases of the positive patterns: slot 0, then 2, 3, ... (slot 1 is the gate)."""
    positives = [p for p in query.patterns if not p.negated]
    return {p.alias: ALIASES[position if position == 0 else position + 1]
            for position, p in enumerate(positives)}


def _pattern(pattern: EnginePattern, slots: dict[str, str]) -> dict[str, Any]:
    tests: list[Any] = [{"type": pattern.token}]
    if pattern.test:
        tests.append(_test(pattern.test))
    joins = []
    for own, op, other, other_field in pattern.joins:
        reference = {field_name(own): {slots[other]: field_name(other_field)}}
        joins.append(reference if op == "==" else {_OPERATORS[op]: reference})
    # durable_rules tests joins after its alpha network, one after another in a sequence that
    # ends in an END mark (`reduceExpressionSequence` in events.c). A false join skips to that
    # mark, but it steps one place too far, so when the false join is the LAST it reads past
    # the sequence until some byte looks like an END: the process dies (SIGSEGV), or matches
    # go wrong (a false `!=` join: R104 for a task whose person is of its own unit, in some
    # rulesets). The first join again at the end never decides: it agrees with itself.
    tests += [*joins, joins[0]] if joins else []
    flat: list[Any] = []
    for test in tests:  # one flat $and, as the engine's own DSL writes it
        flat.extend(test["$and"] if set(test) == {"$and"} else [test])
    return {"$and": flat}


def _test(test: Test) -> dict[str, Any]:
    kind = test[0]
    if kind in ("and", "or"):
        parts: list[Any] = []
        for part in (_test(part) for part in test[1]):
            parts.extend(part[f"${kind}"] if set(part) == {f"${kind}"} else [part])
        return {f"${kind}": parts}
    if kind == "cmp":
        _, op, name, rhs = test
        operator = _OPERATORS[op]
        if rhs[0] == "const":
            right: Any = rhs[1]
        else:  # the fact's own field: false without it (see `_absent_cases`)
            right = {"$m": field_name(rhs[1])}
            if rhs[2]:
                right = {"$add": {"$l": right, "$r": rhs[2]}}
            compared = {field_name(name): right} if operator is None else \
                {operator: {field_name(name): right}}
            return {"$and": [{"$ex": {field_name(rhs[1]): 1}}, compared]}
        return {field_name(name): right} if operator is None else \
            {operator: {field_name(name): right}}
    if kind in ("ex", "nex"):
        return {f"${kind}": {field_name(test[1]): 1}}
    if kind == "has":
        return {"$iany": {field_name(test[1]): {"$i": test[2]}}}
    if kind == "lacks":
        return {"$iall": {field_name(test[1]): {"$neq": {"$i": test[2]}}}}
    if kind == "never":  # every fact has a type
        return {"$nex": {"type": 1}}
    raise ValueError(f"unknown test {test!r}")


# ------------------------------------------------------------------------------- running

def run(plan: Plan, chain: Chain, workers: int = 1, gated: bool = True
        ) -> list[tuple[str, dict[str, int]]]:
    """Evaluate a plan; every match as (query id, {alias: fact ref}). Triggers that `chain`
    gives for a match are asserted as facts at once; their rows join `plan.rows`."""
    batches = list(_batches(plan))
    rulesets = _rulesets(plan)
    jobs = [(queries, sessions if len(rulesets) == 1 else _read_by(queries, sessions), gated)
            for queries in rulesets for sessions in batches]
    if forked.nested and len(jobs) == 1:
        # Already in a worker that exits when done: no need to fork another for one batch.
        outcomes = [_evaluate_batch(jobs[0], plan, chain)]
    else:
        outcomes = forked.run(lambda job: _evaluate_batch(job, plan, chain), jobs,
                              forked.processes(workers))
    matches = []
    for batch_matches, derived, errors in outcomes:
        if errors:
            raise EngineError("; ".join(errors[:5]))
        base = len(plan.rows)
        plan.rows.extend(derived)
        for query_id, refs in batch_matches:
            matches.append((query_id, {alias: ref if ref >= 0 else base - ref - 1
                                       for alias, ref in refs.items()}))
    return matches


def _rulesets(plan: Plan) -> list[list[EngineQuery]]:
    """The queries in rulesets durable_rules can evaluate: in each, no fact can need more of
    the alpha stack than it has (error 303, `alpha_stack`). Queries raising triggers share a
    ruleset with those reading triggers: a trigger is asserted where it is raised. Usually
    all of them fit in one."""
    if _fits(plan.queries):
        return [plan.queries]
    tied = [q for q in plan.queries
            if q.raises or any(p.token in plan.derived_fields for p in q.patterns)]
    units = ([tied] if tied else []) + [[q] for q in plan.queries if q not in tied]
    found: list[list[EngineQuery]] = []
    for unit in units:
        if found and _fits(found[-1] + unit):
            found[-1] += unit
            continue
        if not _fits(unit):
            deepest = alpha_stack.Network.of(ruleset(unit)).deepest()
            token, depth = max(deepest.items(), key=lambda item: item[1])
            rules = "、".join(sorted({q.rule for q in unit}))
            raise EngineError(
                f"规则引擎的限制：规则 {rules} 的条件使一条 {token} 记录要同时经过 {depth} 个"
                f"测试（durable_rules 至多 {alpha_stack.STACK_LIMIT} 个，错误 303）；"
                "请把这条规则中的“或”条件拆成 alternatives，或减少读取同一类记录的条件")
        found.append(list(unit))
    return found


def _fits(queries: list[EngineQuery]) -> bool:
    deepest = alpha_stack.Network.of(ruleset(queries)).deepest()
    return max(deepest.values(), default=0) <= alpha_stack.STACK_LIMIT


def _read_by(queries: list[EngineQuery], sessions: dict[str, list[dict[str, Any]]]
             ) -> dict[str, list[dict[str, Any]]]:
    """The facts of sessions that some of the queries read."""
    tokens = {pattern.token for query in queries for pattern in query.patterns}
    kept = {session: [fact for fact in facts if fact["type"] in tokens]
            for session, facts in sessions.items()}
    return {session: facts for session, facts in kept.items() if facts}


def facts_per_batch(parent_mb: float) -> int:
    """How many facts one worker evaluates. Forking costs in proportion to the forking
    process's memory: its page tables are copied, torn down at the worker's exit, and every
    page it writes afterwards faults once. With a fixed batch, a city ten times larger forks
    ten times as often from a process ten times larger (measured at 30,000 units: 96 forks of
    2.1 GB processes, 32 s of system time in them against 1.5 s at 3,000 units). So batches
    grow with the forking process, keeping that cost a fixed share of a batch's work; up to
    800 MB they hold 20,000 facts (the 1 GB budget at 3,000 units)."""
    return max(MIN_FACTS_PER_BATCH, int(parent_mb * FACTS_PER_PARENT_MB))


def _resident_mb() -> float:
    try:  # Linux; elsewhere the smallest batches
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _batches(plan: Plan) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Whole units packed into engine sessions of about `FACTS_PER_SESSION` facts, and
    sessions into batches of `facts_per_batch`. Packing is sound: every join is a test of the
    engine, so facts of two units in one session meet only where a query says they may; a
    unit is never split. It matters: durable keeps ~8 KB per rule node per session."""
    limit = facts_per_batch(_resident_mb())
    sessions: dict[str, list[dict[str, Any]]] = {}
    current: dict[tuple[str, int], dict[str, Any]] = {}  # a fact once per engine session
    size = 0
    for unit in sorted(plan.sessions):
        facts = plan.sessions[unit]
        if current and len(current) + len(facts) > FACTS_PER_SESSION:
            sessions[f"s{len(sessions)}"] = list(current.values())
            size += len(current)
            current = {}
            if len(sessions) >= MAX_SESSIONS or size >= limit:
                yield sessions
                sessions, size = {}, 0
        for fact in facts:
            current.setdefault((fact["type"], id(fact)), fact)
    if current:
        sessions[f"s{len(sessions)}"] = list(current.values())
    if sessions:
        yield sessions


def _evaluate_batch(job: tuple[list[EngineQuery], dict[str, list], bool], plan: Plan,
                    chain: Chain) -> tuple[list, list, list]:
    """In a worker process: load every session, open the gate in each, run every action."""
    import durable_rules_engine as dre

    queries, sessions, gated = job
    matches: list[tuple[str, dict[str, int]]] = []
    derived: list[dict[str, Any]] = []  # triggers raised here; their refs are -1, -2, ...
    errors: list[str] = []
    ids = _Ids()
    raised: dict[str, set[tuple]] = {}  # session -> trigger contents asserted there
    handle_box: list[Any] = []

    def raise_triggers(session: str, query_id: str, refs: dict[str, int]) -> None:
        for row in chain(query_id, {alias: _row(plan, derived, ref) for alias, ref
                                    in refs.items()}):
            content = tuple(sorted((k, str(v)) for k, v in row.items() if not k.startswith("__")))
            if content in raised.setdefault(session, set()):
                continue
            raised[session].add(content)
            derived.append(row)
            fact = plan.derived_fact(row["__kind__"], row, -len(derived))
            if fact is None:
                continue
            fact.update(sid=session, id=ids.take(session, f"t{len(derived)}"))
            code, _ = dre.assert_facts(handle_box[0], _json([fact]))
            if code == 2:
                errors.append(f"规则引擎拒绝了重复的触发（会话 {session}）")

    definition = ruleset(queries, gated)
    by_id = {query.id: query for query in queries}
    actions = {name: _action(by_id[query_of(name)], _slots(by_id[query_of(name)]), matches,
                             raise_triggers if by_id[query_of(name)].raises else None)
               for name in definition}
    try:
        # The C core directly, not durable's Host: its run loop starts threads that never stop.
        handle = dre.create_ruleset(f"luoshi_{os.getpid()}", _json(definition))
    except dre.error as error:  # a limit of the C core
        return [], [], [f"规则引擎无法建立规则集：{error}"]
    handle_box.append(handle)
    try:
        for session, facts in sessions.items():
            stamped = [{**fact, "sid": session, "id": ids.take(session, str(fact["ref"]))}
                       for fact in facts]
            for start in range(0, len(stamped), ASSERT_CHUNK):
                code, _ = dre.assert_facts(handle, _json(stamped[start:start + ASSERT_CHUNK]))
                if code == 2:
                    errors.append(f"规则引擎拒绝了重复的事实（会话 {session}）")
        for session in sessions:
            gate = {"type": GATE, "stratum": 1, "sid": session, "id": ids.take(session, GATE)}
            dre.assert_facts(handle, _json([gate]))
        _drain(handle, dre, actions)
    except dre.error as error:  # a limit of the C core (error codes in the notes, §3.2)
        errors.append(f"规则引擎报错：{error}")
    except ActionFailed as error:
        errors.append(str(error))
    return matches, derived, errors


def _row(plan: Plan, derived: list[dict[str, Any]], ref: int) -> dict[str, Any]:
    return plan.rows[ref] if ref >= 0 else derived[-ref - 1]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class ActionFailed(Exception):
    """An action raised: the check has no complete result."""


def _action(query: EngineQuery, slots: dict[str, str], matches: list,
            raise_triggers: Callable[[str, str, dict[str, int]], None] | None
            ) -> Callable[[str, list[dict[str, Any]]], None]:
    """The action of one query's rules: record which facts matched, and assert the triggers
    the match raises."""
    def record(session: str, frames: list[dict[str, Any]]) -> None:
        try:
            for facts in frames:  # with `cap`, up to ACTION_BATCH matches at once
                refs = {alias: facts[name]["ref"] for alias, name in slots.items()}
                matches.append((query.id, refs))
                if raise_triggers is not None:
                    raise_triggers(session, query.id, refs)
        except Exception as error:
            raise ActionFailed(f"{query.id}: {error!r}") from error
    return record


def _drain(handle: int, dre: Any, actions: dict[str, Callable[..., None]]) -> None:
    """Run every pending action of every session on this thread, each one to completion,
    until no session has any. Not durable's own loop (`Ruleset._flush_actions`): it gives up
    on an action that took more than 10 s (a worker paused or swapping) and then never runs
    the session's remaining actions, so results were lost without an error; and it swallows
    an action's exception."""
    pending = dre.start_action(handle)  # (session state, {rule: frames}, session offset)
    while pending:
        state, offset = json.loads(pending[0]), pending[2]
        following: str | None = pending[1]
        while following:
            ((rule, frames),) = json.loads(following).items()
            actions[rule](state["sid"], [_frame(frame) for frame in frames])
            following = dre.complete_and_start_action(handle, offset)
        pending = dre.start_action(handle)


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    """A match as {engine alias: fact} (durable wraps a one-pattern match in "m")."""
    return frame["m"] if set(frame) == {"m"} else frame


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


def compiled(program: Any, rule_id: str, context: dict[str, Any]) -> tuple[dict[str, Any], dict]:
    """What evaluates one rule in a check with this context: {ruleset name: definition}, as
    registered with durable_rules (actions aside), and the columns enrichment attaches to its
    facts ({token: {name: expression text}})."""
    from luoshi.engine.language import expr
    from luoshi.engine.runtime.enrich import lower_queries

    queries = [query for query in program.queries if query.rule == rule_id]
    lowered, columns = lower_queries(queries, program, context)
    by_stratum: dict[str, dict[str, Any]] = {}
    for query, engine_query in zip(queries, lowered, strict=True):
        by_stratum.setdefault(f"luoshi_stratum{query.stratum}", {}).update(
            ruleset([engine_query]))
    texts = {token: {name: expr.to_text(node) for name, (_, node, _) in found.items()}
             for token, found in columns.items()}
    return by_stratum, texts
