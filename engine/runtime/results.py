"""From matches to what `check` reports: findings with evidence, and triggers.

A rule gives at most one finding per unit and subject, however many matches lead to it; its
evidence lists every record that did. A finding's id is a hash of rule, unit and subject, so it
is the same in every run. Triggers are kept once per type, rule, basis and target unit, and
become rows of a derived kind (`triggers.<type>`) for rules of later strata, carrying the
evidence of the finding that raised them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from luoshi.engine.language import expr
from luoshi.engine.language.policy import parse_pattern, template_parts
from luoshi.engine.language.triggers import DERIVED_PREFIX
from luoshi.engine.plan.compile import Program, Query, rule_params
from luoshi.engine.runtime.view import FactView, label


@dataclass
class Evidence:
    kind: str
    id: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "source": self.source}


@dataclass
class Finding:
    id: str
    rule: str
    severity: str
    clause: str
    unit: str | None
    subject: str
    message: str
    evidence: list[Evidence] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "severity": self.severity,
                "clause": self.clause, "unit": self.unit, "subject": self.subject,
                "message": self.message, "evidence": [item.as_dict() for item in self.evidence]}


@dataclass
class Trigger:
    type: str
    rule: str
    basis: str
    target_unit: str | None
    target_person: str | None
    due: dt.date | None
    issuer: str | None
    finding: str  # the id of the finding that raised it

    def key(self) -> tuple:
        return (self.type, self.rule, self.basis, self.target_unit)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "rule": self.rule, "basis": self.basis,
                "target_unit": self.target_unit, "target_person": self.target_person,
                "due": self.due.isoformat() if self.due else None, "issuer": self.issuer,
                "finding": self.finding}


def finding_id(rule: str, unit: str | None, subject: str) -> str:
    digest = hashlib.sha256(f"{rule}\x1f{unit or ''}\x1f{subject}".encode()).hexdigest()
    return f"{rule}-{digest[:12]}"


def render(text: str, env: expr.Env) -> str:
    """A message template: text with `{expression}` placeholders."""
    parts = []
    for part in _template(text):
        if isinstance(part, str):
            parts.append(part)
            continue
        parts.append(display(expr.evaluate(part, env)))
    return "".join(parts)


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(display(item) for item in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass
class Found:
    """What matches gave, by rule (every key starts with the rule's id or names it): plain
    data, so a worker can hand it back, and parts for different rules merge by union."""

    findings: dict[tuple, Finding] = field(default_factory=dict)
    triggers: dict[tuple, Trigger] = field(default_factory=dict)
    waived: dict[tuple, Finding] = field(default_factory=dict)
    derived: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # rows, by kind

    def merge(self, other: Found) -> None:
        """Another part's findings, triggers and waived findings (not its derived rows: those
        feed only the later strata of the rules that raised them)."""
        self.findings.update(other.findings)
        self.triggers.update(other.triggers)
        self.waived.update(other.waived)

    def __reduce__(self) -> tuple:
        """Sent from a worker as plain tuples: pickling 100,000 findings as dataclasses takes
        three times as long, in the worker and again in the parent. Derived rows stay behind:
        they fed the worker's own later strata, and nothing after the check reads them."""
        return (_found, (_as_tuples(self.findings),
                         [(key, *vars(t).values()) for key, t in self.triggers.items()],
                         _as_tuples(self.waived)))


def _as_tuples(findings: dict[tuple, Finding]) -> list[tuple]:
    return [(key, f.id, f.rule, f.severity, f.clause, f.unit, f.subject, f.message,
             [(e.kind, e.id, e.source) for e in f.evidence]) for key, f in findings.items()]


def _from_tuples(items: list[tuple]) -> dict[tuple, Finding]:
    found = {}
    for key, *fields, evidence in items:
        finding = found[key] = Finding(*fields)
        finding.evidence = [Evidence(*item) for item in evidence]
    return found


def _found(findings: list[tuple], triggers: list[tuple], waived: list[tuple]) -> Found:
    return Found(_from_tuples(findings), {key: Trigger(*fields) for key, *fields in triggers},
                 _from_tuples(waived))


class Results:
    def __init__(self, program: Program, view: FactView,
                 waivers: dict[tuple, Any] | None = None) -> None:
        self.program = program
        self.view = view
        self.waivers = waivers or {}
        self.found = Found()

    def add(self, query: Query, bindings: dict[str, dict[str, Any]]) -> None:
        """Record one match: its finding with evidence, and the triggers it raises (also as
        rows of a derived kind, for rules of later strata)."""
        rule = self.program.rules[query.rule]
        env = self._env(rule.id, bindings)
        key, unit, subject = self._finding_key(rule, env)
        if key in self.waivers:
            # Waived: not a finding, no trigger, so nothing chains from it either.
            if key not in self.found.waived and query.finding:
                self.found.waived[key] = Finding(finding_id(rule.id, unit, subject), rule.id,
                                                 rule.severity, rule.clause, unit, subject,
                                                 render(rule.finding.message, env))
            return
        finding = self.found.findings.get(key)
        if finding is None:
            finding = Finding(finding_id(rule.id, unit, subject), rule.id, rule.severity,
                              rule.clause, unit, subject, render(rule.finding.message, env))
            if query.finding:
                self.found.findings[key] = finding
        for row in bindings.values():
            self._add_evidence(finding, row)
        if query.finding:
            for text in rule.evidence:
                self._extra_evidence(finding, text, env)
        for row in self._trigger_rows(query, env, key, finding.id):
            trigger = Trigger(row["type"], rule.id, row["basis"], row["target_unit"],
                              row["target_person"], row["due"], row["issuer"], finding.id)
            if trigger.key() in self.found.triggers:
                continue
            self.found.triggers[trigger.key()] = trigger
            row["__evidence__"] = finding.evidence  # the same list: complete by the next stratum
            self.found.derived.setdefault(row["__kind__"], []).append(row)

    def triggers_of(self, query: Query, bindings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of the triggers a match raises (none if its finding is waived): what the
        engine asserts, from the match's action, for the rules that read triggers."""
        if not query.triggers:
            return []
        rule = self.program.rules[query.rule]
        env = self._env(rule.id, bindings)
        key, unit, subject = self._finding_key(rule, env)
        if key in self.waivers:
            return []
        return self._trigger_rows(query, env, key, finding_id(rule.id, unit, subject))

    def _env(self, rule_id: str, bindings: dict[str, dict[str, Any]]) -> expr.Env:
        return expr.Env(bindings, {**self.view.context, **rule_params(self.program, rule_id)},
                        self.view)

    def _finding_key(self, rule: Any, env: expr.Env) -> tuple[tuple, str | None, str]:
        unit = _text(expr.evaluate(expr.parse(rule.finding.unit), env))
        subject = _text(expr.evaluate(expr.parse(rule.finding.subject), env)) or ""
        return (rule.id, unit, subject), unit, subject

    def _trigger_rows(self, query: Query, env: expr.Env, key: tuple,
                      finding: str) -> list[dict[str, Any]]:
        rule = self.program.rules[query.rule]
        rows = []
        for index in query.triggers:
            spec = rule.triggers[index]
            values = {name: expr.evaluate(expr.parse(getattr(spec, name)), env)
                      for name in ("basis", "target_unit", "target_person", "due", "issuer")}
            kind = DERIVED_PREFIX + spec.type
            trigger_key = (spec.type, rule.id, _text(values["basis"]),
                           _text(values["target_unit"]))
            rows.append({
                "__kind__": kind, "__key__": "|".join(str(part) for part in trigger_key),
                "__label__": "|".join(str(part) for part in trigger_key),
                "__where__": f"{rule.id} {finding}", "__finding__": key,
                "type": spec.type, "rule": rule.id, "basis": trigger_key[2],
                "target_unit": trigger_key[3], "target_person": _text(values["target_person"]),
                "due": values["due"], "issuer": _text(values["issuer"])})
        return rows

    def _add_evidence(self, finding: Finding, row: dict[str, Any]) -> None:
        """A record as evidence; a trigger stands for the evidence of the finding raising it."""
        items = row.get("__evidence__")
        if items is None and "__finding__" in row:
            raising = self.found.findings.get(row["__finding__"])
            items = raising.evidence if raising is not None else []
        if items is None:
            items = [Evidence(row["__kind__"], label(row) or row["__key__"],
                              row["__where__"])]
        for item in items:
            if item not in finding.evidence:
                finding.evidence.append(item)

    def _extra_evidence(self, finding: Finding, text: str, env: expr.Env) -> None:
        pattern = _pattern(text)
        for row in self.view.matching(pattern.kind, pattern.alias, pattern.where, env):
            self._add_evidence(finding, row)


@cache
def _template(text: str) -> tuple[Any, ...]:
    return tuple(template_parts(text))


@cache
def _pattern(text: str) -> Any:
    return parse_pattern(text)


def _text(value: Any) -> str | None:
    return None if value is None else display(value)


@dataclass
class Report:
    year: int
    as_of: dt.date
    findings: list[Finding]
    triggers: list[Trigger]
    units: list[str]  # the responsible units checked
    params: dict[str, Any]
    unit_names: dict[str, str] = field(default_factory=dict)
    waived: list[tuple[Finding, Any]] = field(default_factory=list)  # (finding, its waiver)
    expired: list[Any] = field(default_factory=list)  # waivers past their date
    stale: list[Any] = field(default_factory=list)  # unexpired waivers that matched nothing
    view: Any = None  # the FactView the check read: names and titles for documents
    # A recorded run's names and titles as of the run (`directory.Directory`), else None: the
    # documents then read them from `view`.
    names: Any = None
    config: str | None = None  # the settings file the run read (luoshi.toml), named in outputs
