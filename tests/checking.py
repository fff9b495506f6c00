"""Helpers for tests that run checks: facts from YAML text, the catalog compiled once."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path

import yaml

from luoshi.engine.language.policy import Catalog, load_catalog
from luoshi.engine.plan.compile import Program, compile_catalog
from luoshi.engine.runtime.results import Report
from luoshi.engine.runtime.run import check
from luoshi.facts.factset import FactSet, Rows, record_key, rows_of
from luoshi.facts.kinds import HISTORY_KINDS
from luoshi.facts.raw import Reading
from luoshi.facts.validate import validate
from luoshi.facts.yaml_reader import read_yaml


@cache
def catalog() -> Catalog:
    return load_catalog()


@cache
def program() -> Program:
    return compile_catalog(catalog())


def facts_from_yaml(text: str, name: str = "case.yaml") -> FactSet:
    reading = Reading()
    read_yaml(name, text, reading)
    return validate(reading)


def rows_from_yaml(text: str, name: str = "case.yaml") -> Rows:
    """Facts from YAML text as rows, with the history kinds (which no file may hold: the store
    provides them) given as top-level keys too, e.g. `rectification_versions: [...]`."""
    document = yaml.safe_load(text) or {}
    history = {kind: document.get(kind) or [] for kind in HISTORY_KINDS}
    kept = [line for line in _without_history(text.splitlines())]
    rows = rows_of(facts_from_yaml("\n".join(kept), name))
    for kind, items in history.items():
        model = HISTORY_KINDS[kind]
        rows[kind] = [{**(fact := model.model_validate(item)).__dict__, "__key__": record_key(fact),
                       "__where__": f"history:{index + 1}"} for index, item in enumerate(items)]
    return rows


def _without_history(lines: list[str]) -> list[str]:
    """The lines of a YAML text without its top-level history blocks (blanked, so that line
    numbers stay)."""
    skipping = False
    kept = []
    for line in lines:
        if line and not line[0].isspace() and not line.startswith("#"):
            skipping = line.split(":", 1)[0].strip() in HISTORY_KINDS
        kept.append("" if skipping else line)
    return kept


def run_yaml(text: str, year: int = 2013, as_of: dt.date | None = None, backend=None,
             program_: Program | None = None) -> Report:
    return check(rows_from_yaml(text), program_ or program(), year, as_of, backend=backend)


def subjects(report: Report, rule: str) -> list[str]:
    return sorted(f.subject for f in report.findings if f.rule == rule)


def comparable(report: Report) -> dict:
    """What must not depend on fact order or backend: findings (with evidence) and triggers."""
    return {
        "findings": sorted((f.id, f.rule, f.unit or "", f.subject, f.message,
                            tuple(sorted((e.kind, e.id) for e in f.evidence)))
                           for f in report.findings),
        "triggers": sorted(tuple(str(v) for v in t.as_dict().values()) for t in report.triggers),
    }


CASES_DIR = Path(__file__).parent / "rules"


def problem_lines(result) -> list[str]:
    """The problems a command printed (on standard error, so that standard output holds only
    its result), without the count that closes them."""
    return [line for line in result.stderr.splitlines() if re.search(r": [A-Z]\d{3} ", line)]
