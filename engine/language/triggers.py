"""Triggers: the actions a finding calls for (rules.md, "Triggers"), defined once.

A rule raises them; rules of later strata (A308) match them as facts of the derived kind
`triggers.<type>`, with the fields below.
"""

from __future__ import annotations

from typing import Literal, get_args

TriggerType = Literal["accountability", "warning_measure", "re_accountability"]
TRIGGER_TYPES: tuple[str, ...] = get_args(TriggerType)
DERIVED_PREFIX = "triggers."
DERIVED_KINDS = tuple(DERIVED_PREFIX + name for name in TRIGGER_TYPES)
# The fields of a trigger, each with the kinds whose ids it holds (None: not a reference).
FIELDS: dict[str, tuple[str, ...] | None] = {
    "type": None, "rule": None, "basis": ("misconduct", "rectifications"),
    "target_unit": ("units",), "target_person": ("persons",), "due": None, "issuer": ("units",)}
