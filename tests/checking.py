"""Helpers for tests that run checks: facts from YAML text, the catalog compiled once."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from luoshi.engine.language.policy import Catalog, load_catalog
from luoshi.engine.plan.compile import Program, compile_catalog
from luoshi.engine.runtime.results import Report
from luoshi.engine.runtime.run import check
from luoshi.facts.factset import FactSet
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


def run_yaml(text: str, year: int = 2013, as_of: dt.date | None = None, backend=None,
             program_: Program | None = None) -> Report:
    return check(facts_from_yaml(text), program_ or program(), year, as_of, backend=backend)


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
