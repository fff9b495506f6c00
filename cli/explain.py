"""`luoshi explain FINDING_ID`: why a finding fired, the records that made it, where each is."""

from __future__ import annotations

from typing import Annotated

import typer

from luoshi.engine.runtime import run
from luoshi.facts.problems import InputError, Location, Problem

from .check import as_of_date
from .inputs import read_input
from .console import exit_on_errors, out, year_in_data
from .load import DbOption
from .policies import (
    ConfigOption, NoConfigOption, PoliciesOption, YearOption, load_program, use_settings,
)
from .rules import SEVERITY


def explain(
    finding_id: Annotated[str, typer.Argument(help="检查结果的编号，如 F403-3f2a9c1b0d4e")],
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,
    as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
    db: DbOption = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
) -> None:
    """说明一条检查结果：依据的规则、匹配到的记录及其来源（文件:行）。"""
    with exit_on_errors():
        settings = use_settings(config, no_config)
        catalog, program = load_program(policies, param, settings)
        facts = read_input(paths, db)
        year_in_data(facts, year)
        report = run.check(facts, program, year, as_of_date(as_of, year))
        finding = next((f for f in report.findings if f.id == finding_id), None)
        if finding is None:
            raise InputError([Problem(Location(finding_id), "C001",
                                      f"{year} 年的检查结果中没有编号为 {finding_id} 的结果")])
    rule = catalog.rules[finding.rule]
    lines = [f"{finding.id}  {SEVERITY[finding.severity]}", finding.message, "",
             f"规则 {rule.id} {rule.title.zh}（条款 {rule.clause}，{catalog.where[rule.id]}）",
             f"  {rule.doc.checks}", "", f"责任单位：{finding.unit or '（无法确定）'}    对象：{finding.subject}",
             "", "依据的记录"]
    lines += [f"  {item.kind} {item.id}  ← {item.source}" for item in finding.evidence]
    if rule.unless:
        lines += ["", "不存在的记录（存在任一条即不会报出）"]
        lines += [f"  {' '.join(text.split())}" for text in rule.unless]
    triggers = [t for t in report.triggers if t.finding == finding.id]
    if triggers:
        lines += ["", "由此引发"]
        lines += [f"  {t.type} {t.basis} → {t.target_unit} {t.target_person or ''} "
                  f"{'期限 ' + t.due.isoformat() if t.due else ''}".rstrip() for t in triggers]
    out.print("\n".join(lines), markup=False)
