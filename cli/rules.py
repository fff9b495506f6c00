"""`luoshi rules` and `luoshi rules show ID`: the catalog, and one rule in full."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from luoshi.engine.language import expr
from luoshi.engine.language.policy import Catalog, Rule, load_catalog
from luoshi.engine.language.source import clause_text
from luoshi.engine.plan.compile import computed_read
from luoshi.engine.runtime import durable
from luoshi.engine.runtime.run import check_context
from luoshi.facts.problems import InputError, Location, Problem

from .check import as_of_date
from .console import exit_on_errors, out
from .policies import ConfigOption, NoConfigOption, PoliciesOption, load_program, use_settings

app = typer.Typer(help="规则目录：编号、级别、条款、标题、参数。", no_args_is_help=False,
                  invoke_without_command=True, rich_markup_mode=None)
SEVERITY = {"error": "错误", "warning": "警告"}


@app.callback()
def rules(context: typer.Context, policies: PoliciesOption = None) -> None:
    """列出规则目录。"""
    if context.invoked_subcommand is not None:
        context.obj = policies
        return
    with exit_on_errors():
        catalog = load_catalog(policies)
    table = Table(title=f"规则目录（{len(catalog.rules)} 条）", title_justify="left")
    for label in ("编号", "级别", "条款", "标题", "名称", "参数"):
        table.add_column(label)
    for rule in sorted(catalog.rules.values(), key=lambda r: r.id):
        params = "、".join(f"{rule.id}.{k}={v}" for k, v in rule.params.items())
        table.add_row(rule.id, SEVERITY[rule.severity], rule.clause, rule.title.zh, rule.name,
                      params)
    out.print(table)
    shared = "、".join(f"{k}={v}" for k, v in catalog.terms.params.items())
    out.print(f"共用参数：{shared}。用 --param 名称=值 或 luoshi.toml 的 [params] 修改。")


@app.command("show")
def show(context: typer.Context,
         rule_id: Annotated[str, typer.Argument(help="规则编号，如 F403")],
         compiled: Annotated[bool, typer.Option(
             "--compiled", help="输出规则引擎实际执行的 durable_rules 规则集（JSON）")] = False,
         year: Annotated[int | None, typer.Option(
             "--year", help="按哪一年度编译（默认今年）", show_default=False)] = None,
         as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
         param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
         config: ConfigOption = None,
         no_config: NoConfigOption = False,
         ) -> None:
    """显示一条规则的完整说明与条款原文；--compiled 输出它编译成的规则引擎规则集。"""
    with exit_on_errors():
        catalog, program = load_program(context.obj, param, use_settings(config, no_config))
        rule = catalog.rules.get(rule_id.upper())
        if rule is None:
            raise InputError([Problem(Location(rule_id), "C001",
                                      f"没有规则 {rule_id}，可用：{'、'.join(sorted(catalog.rules))}")])
        checked_year = year or dt.date.today().year
        engine_context = check_context(program, checked_year, as_of_date(as_of, checked_year))
    definition, columns = durable.compiled(program, rule.id, engine_context)
    if compiled:
        typer.echo(json.dumps(definition, ensure_ascii=False, indent=2))
        return
    text = describe(catalog, rule.id)
    terms = computed_read(program, rule.id)
    if terms:
        text += "\n\n读取的计算字段（terms.yaml；in_force 等单条记录的条件由规则引擎直接判断，其余在引擎之前计算）\n" + \
            "\n".join(f"  {kind}.{name} = {expr.to_text(node)}"
                      for (kind, name), node in terms.items())
    if columns:
        text += "\n\n规则引擎之前计算的值（富化，见 docs/engine.md）\n" + "\n".join(
            f"  {token}.{name} = {source}" for token, found in columns.items()
            for name, source in found.items())
    out.print(text)


def describe(catalog: Catalog, rule_id: str) -> str:
    rule = catalog.rules[rule_id]
    lines = [f"{rule.id} {rule.name}", f"{rule.title.zh}（{rule.title.en}）",
             f"级别：{SEVERITY[rule.severity]}    条款：{rule.clause}    定义于：{catalog.where[rule.id]}",
             "", "检查什么", f"  {rule.doc.checks}", "", "为什么", f"  {rule.doc.why}"]
    if rule.params:
        lines += ["", "参数", *(f"  {rule.id}.{k} = {v}" for k, v in rule.params.items()),
                  *(f"  须满足 {check}" for check in rule.param_checks)]
    lines += ["", "条件", *conditions(rule)]
    lines += ["", "违反的例子（报出：" + "、".join(rule.doc.fail.gives) + "）",
              *("  " + line for line in rule.doc.fail.facts.rstrip().splitlines()),
              "", "合规的例子", *("  " + line for line in rule.doc.passes.facts.rstrip().splitlines())]
    text = clause_text(rule.clause)
    if text:
        lines += ["", f"条款原文 {rule.clause}（咸惩防办文〔2013〕3号）", text]
    return "\n".join(lines)



def conditions(rule: Rule) -> list[str]:
    """Every condition of a rule, as written: match, where, unless, alternatives, triggers
    (with their own unless) and evidence patterns."""
    def flat(text: str) -> str:
        return " ".join(text.split())

    lines = [f"  match {alias}: {flat(text)}" for alias, text in rule.match.items()]
    lines += [f"  where {flat(rule.where)}"] if rule.where else []
    lines += [f"  unless {flat(text)}" for text in rule.unless]
    for number, alternative in enumerate(rule.alternatives, start=1):
        parts = [f"match {a}: {flat(t)}" for a, t in alternative.match.items()]
        parts += [f"where {flat(alternative.where)}"] if alternative.where else []
        parts += [f"unless {flat(t)}" for t in alternative.unless]
        lines.append(f"  或（{number}）" + "；".join(parts))
    for trigger in rule.triggers:
        lines.append(f"  触发 {trigger.type}：依据 {trigger.basis}，单位 {trigger.target_unit}，"
                     f"对象 {trigger.target_person}，期限 {trigger.due}")
        lines += [f"    除非 {flat(text)}" for text in trigger.unless]
    lines += [f"  证据 {flat(text)}" for text in rule.evidence]
    return lines
