"""`luoshi explain FINDING_ID`: why a finding fired, the records that made it, where each is."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

import typer

from luoshi.engine.runtime import run
from luoshi.facts.inputs import read_input
from luoshi.facts.problems import InputError, Location, Problem

from .check import as_of_date
from .console import exit_on_errors, out, year_in_data
from .options import DbOption
from .policies import (
    ConfigOption,
    NoConfigOption,
    PoliciesOption,
    YearOption,
    load_program,
    use_settings,
)
from .rules import SEVERITY, conditions


def pick_finding(findings: list[Any], wanted: str, year: int) -> Any:
    """The finding whose id is `wanted`, or starts with it, or whose hash does (`3f2a9c`):
    exactly one, else the candidates."""
    text = wanted.strip()
    exact = [f for f in findings if f.id.lower() == text.lower()]
    if exact:
        return exact[0]
    matches = [f for f in findings if f.id.lower().startswith(text.lower())
               or f.id.split("-", 1)[-1].lower().startswith(text.lower())]
    if len(matches) == 1:
        return matches[0]
    where = Location(wanted)
    if matches:
        shown = "、".join(f"{f.id}（{f.subject}）" for f in matches[:8])
        more = f" 等 {len(matches)} 条" if len(matches) > 8 else ""
        raise InputError([Problem(where, "C001", f"编号前缀 {text!r} 对应多条结果：{shown}{more}；"
                                                 "请多写几位")])
    close = difflib.get_close_matches(text, [f.id for f in findings], n=3, cutoff=0.6)
    hint = f"，是否应为 {'、'.join(close)}？" if close else "（check 的输出列出每条结果的编号）"
    raise InputError([Problem(where, "C001", f"{year} 年的检查结果中没有编号为 {text!r} 的结果{hint}")])


def explain(
    finding_id: Annotated[str, typer.Argument(help="检查结果的编号，如 F403-3f2a9c1b0d4e")],
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,  # type: ignore[assignment]
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
        finding = pick_finding(report.findings, finding_id, year)
    rule = catalog.rules[finding.rule]
    lines = [f"{finding.id}  {SEVERITY[finding.severity]}", finding.message, "",
             f"规则 {rule.id} {rule.title.zh}（条款 {rule.clause}，{catalog.where[rule.id]}）",
             f"  {rule.doc.checks}", "", f"责任单位：{finding.unit or '（无法确定）'}    对象：{finding.subject}",
             "", "依据的记录"]
    lines += [f"  {item.kind} {item.id}  ← {item.source}" for item in finding.evidence]
    lines += ["", "规则的条件（unless：存在任一条即不会报出）", *conditions(rule)]
    triggers = [t for t in report.triggers if t.finding == finding.id]
    if triggers:
        lines += ["", "由此引发"]
        lines += [f"  {t.type} {t.basis} → {t.target_unit} {t.target_person or ''} "
                  f"{'期限 ' + t.due.isoformat() if t.due else ''}".rstrip() for t in triggers]
    out.print("\n".join(lines))
