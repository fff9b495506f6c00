"""The expression language of policies: parsing and evaluation.

Policies say what must be true in small expressions over records, written as text in YAML:

    m.kind in ['disobey_order', 'defy_ban'] and m.date <= $as_of
    a.basis == m.id
    i.published_on > i.date + $days days
    count(inspections as i where i.organizer == id and i.mode == 'unannounced' and in_year(i.date))
    missing(['key_area', 'key_post', 'risk_point'], values(checks as c where c.unit == id, c.kind))

- `alias.field` reads a field of a bound record; a path through a reference field follows it
  (`m.unit.main_leader` is the main leader of the misconduct's unit). Inside a computed field, a
  bare name is a field of the record itself.
- `$name` is a context value (`$year`, `$as_of`, `$year_start`, `$year_end`) or a parameter.
- `N days`, `N years` are durations; date ± years keeps the calendar day (29 February → 28).
- Comparisons with a missing value (null) are false, as in SQL and as in the rule engine;
  `x is null` / `x is not null` test for it.
- `count`, `exists` and `values` aggregate over the records of a kind.

Evaluation needs an `Env`: the bindings, the context, and a `Lookup` that resolves references
and runs aggregates (`runtime/view.py`).
"""

from luoshi.engine.language.expr.evaluate import COMPARE, Env, Lookup, add_years, compiled, evaluate
from luoshi.engine.language.expr.syntax import (
    AGGREGATES,
    COMPARISONS,
    FUNCTIONS,
    MAX_NUMBER,
    Aggregate,
    Binary,
    Call,
    Const,
    Duration,
    ExprError,
    IsNull,
    ListOf,
    Node,
    Path,
    Unary,
    Var,
    aggregates,
    aliases_used,
    children,
    conjuncts,
    parse,
    to_text,
)

__all__ = [
    "AGGREGATES", "COMPARE", "COMPARISONS", "FUNCTIONS", "MAX_NUMBER", "Aggregate", "Binary", "Call", "Const",
    "Duration", "Env", "ExprError", "IsNull", "ListOf", "Lookup", "Node", "Path", "Unary", "Var",
    "add_years", "aggregates", "aliases_used", "children", "compiled", "conjuncts", "evaluate",
    "parse", "to_text",
]
