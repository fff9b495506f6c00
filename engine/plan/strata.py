"""Ordering queries into strata: what reads triggers runs after what raises them, unless the
engine can fire it as each trigger is asserted; cycles are refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from luoshi.engine.errors import CompileError

if TYPE_CHECKING:
    from luoshi.engine.language.policy import Catalog
    from luoshi.engine.plan.compile import Query


def stratify(queries: list[Query], catalog: Catalog) -> None:
    """Strata: a query over triggers alone runs in the stratum of the queries raising them (the
    engine fires it as each trigger is asserted); one that joins triggers with other facts, or
    negates them, runs one stratum later, when every trigger it could meet exists. A rule may
    not read, directly or through others, the triggers it raises itself."""
    producers: dict[str, list[Query]] = {}
    for query in queries:
        for kind in query.produces(catalog.rules[query.rule]):
            producers.setdefault(kind, []).append(query)
    _reject_cycles(queries, producers)
    for _ in range(len(queries) + 1):
        changed = False
        for query in queries:
            chained = len(query.patterns) == 1
            needed = max((producer.stratum + (0 if chained else 1)
                          for kind in query.consumes() for producer in producers.get(kind, [])),
                         default=1)
            if needed != query.stratum:
                query.stratum, changed = needed, True
        if not changed:
            return


def _reject_cycles(queries: list[Query], producers: dict[str, list[Query]]) -> None:
    """A cycle of rules through triggers is reported at the rule that closes it: the one
    defined last (a user's rule, rather than the bundled one it reads from)."""
    order = list(dict.fromkeys(query.rule for query in queries))
    reads: dict[str, set[str]] = {rule: set() for rule in order}
    for query in queries:
        for kind in query.consumes():
            reads[query.rule] |= {producer.rule for producer in producers.get(kind, [])}
    state: dict[str, int] = {}

    def visit(rule: str, path: list[str]) -> list[str] | None:
        state[rule] = 1
        for source in sorted(reads[rule], key=order.index):
            if state.get(source) == 1:
                return path[path.index(source):] if source in path else [source, rule]
            if source not in state:
                found = visit(source, [*path, source])
                if found:
                    return found
        state[rule] = 2
        return None

    for rule in order:
        if rule not in state:
            cycle = visit(rule, [rule])
            if cycle:
                blamed = max(cycle, key=order.index)
                raise CompileError(blamed, (), f"规则之间存在循环依赖（{'、'.join(cycle)}）："
                                               "一条规则不能读取它自己直接或间接引发的触发")
