"""A pure-Python evaluator of a `Workload`, the yardstick for the durable_rules backend.

It ignores sessions altogether: every fact of every session is in one pool, each query is a
nested-loop join with hash lookups on equality, and a negated pattern is a plain existence
test. Were partitioning or the engine wrong, the two would disagree.
"""

from __future__ import annotations

import operator
from typing import Any

from luoshi.engine.runtime.workload import Workload

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def run(workload: Workload) -> list[tuple[str, dict[str, int]]]:
    pool: dict[int, dict[str, Any]] = {}
    for facts in workload.sessions.values():
        for fact in facts:
            pool[id(fact)] = fact
    facts = list(pool.values())
    matches = []
    for query in workload.queries:
        positives = [p for p in query["patterns"] if not p["negated"]]
        negatives = [p for p in query["patterns"] if p["negated"]]
        candidates = {p["alias"]: [f for f in facts if f["type"] == p["token"] and f.get(p["flag"])]
                      for p in query["patterns"]}
        for binding in _bind(positives, candidates, {}):
            if any(any(_joins(n, fact, binding) for fact in candidates[n["alias"]])
                   for n in negatives):
                continue
            matches.append((query["id"], {alias: fact["ref"] for alias, fact in binding.items()}))
    return matches


def _bind(patterns, candidates, binding):
    if not patterns:
        yield dict(binding)
        return
    first, rest = patterns[0], patterns[1:]
    for fact in candidates[first["alias"]]:
        if _joins(first, fact, binding):
            binding[first["alias"]] = fact
            yield from _bind(rest, candidates, binding)
            del binding[first["alias"]]


def _joins(pattern, fact, binding) -> bool:
    for own, op, other, other_field in pattern["joins"]:
        left, right = fact.get(own), binding[other].get(other_field)
        if left is None or right is None or not _OPS[op](left, right):
            return False
    return True
