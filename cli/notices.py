"""`luoshi notices [PATH...] --year Y --out DIR`: the documents to send after a check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from luoshi.engine.runtime import run
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.engine.settings import load_settings
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.outputs import documents
from luoshi.outputs import notices as notice_model

from .check import as_of_date
from .console import err, exit_on_errors
from .inputs import read_input
from .load import DbOption
from .policies import PoliciesOption, load_program


def notices(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: Annotated[int, typer.Option("--year", help="检查年度", show_default=False)] = ...,
    out: Annotated[Path, typer.Option("--out", help="输出文件夹", show_default=False)] = ...,
    as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
    date: Annotated[str | None, typer.Option(
        "--date", help="成文日期（默认为检查日）")] = None,
    db: DbOption = None,
    output_format: Annotated[str, typer.Option("--format", help="docx、html 或 md")] = "docx",
    waivers: Annotated[str | None, typer.Option("--waivers", help="豁免文件（YAML）")] = None,
    reply_days: Annotated[int | None, typer.Option(
        "--reply-days", help="要求在成文日期后多少天内报送整改或处理情况（默认 15，"
                             "或 luoshi.toml 的 notices.reply_days）")] = None,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="自定义模板文件夹（同名文件优先于自带模板）")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
    policies: PoliciesOption = None,
    config: Annotated[str | None, typer.Option("--config", help="配置文件")] = None,
) -> None:
    """生成整改通知书（每个有问题的单位一份）、无责任单位问题的情况报告，以及问责建议书、预警通知、
    再问责建议书（每项触发一份）。"""
    with exit_on_errors():
        if output_format not in documents.FORMATS:
            raise InputError([Problem(Location("--format"), "C001",
                                      f"应为 {'、'.join(documents.FORMATS)}")])
        if reply_days is not None and not 0 <= reply_days <= 365:
            raise InputError([Problem(Location("--reply-days"), "C001", "应在 0–365 之间")])
        day = as_of_date(as_of, year)
        issued = as_of_date(date, year) if date else day
        settings = load_settings(config)
        days = reply_days if reply_days is not None else settings.notices.get(
            "reply_days", notice_model.DEFAULT_REPLY_DAYS)
        catalog, program = load_program(policies, param, config)
        waiver_list = load_waivers(waivers) if waivers else []
        facts = read_input(paths, db)
        report = run.check(facts, program, year, day, waivers=waiver_list)
        built = notice_model.build(report, catalog, days, issued, settings.notices)
        counts = {title: sum(d.kind_title == title for d in built)
                  for title in notice_model.KIND_TITLES.values()}
        summary = (f"{year}年度（截至{notice_model.chinese_date(day)}）："
                   + "，".join(f"{title}{count}份" for title, count in counts.items() if count))
        written = documents.write(built, out, output_format, summary, templates)
    message = Text("已生成 ", style="green")
    message.append(f"{len(written) - 1} 份文书及目录 {written[-1]}", style="")
    err.print(message)
