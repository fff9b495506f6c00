"""`luoshi notices [PATH...] --year Y --out DIR`: the documents to send after a check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from luoshi.outputs import documents

from luoshi.outputs import notices as notice_model

from luoshi.engine.runtime import run
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.facts.problems import InputError, Location, Problem

from .check import as_of_date
from .inputs import read_input
from .console import err, exit_on_errors, output_folder, year_in_data
from .load import DbOption
from .policies import (
    ConfigOption, NoConfigOption, PoliciesOption, YearOption, load_program, use_settings,
)


def notices(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,
    out: Annotated[Path, typer.Option("--out", help="输出文件夹", show_default=False)] = ...,
    as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
    db: DbOption = None,
    output_format: Annotated[str, typer.Option("--format", help="docx、html 或 md")] = "docx",
    waivers: Annotated[str | None, typer.Option("--waivers", help="豁免文件（YAML）")] = None,
    reply_days: Annotated[int, typer.Option(
        "--reply-days", help="整改通知要求在发文后多少天内报送整改情况")] = 30,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="自定义模板文件夹（同名文件优先于自带模板）")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
) -> None:
    """生成整改通知书（每个有问题的单位一份）及问责建议书、预警通知、再问责建议书（每项触发一份）。"""
    with exit_on_errors():
        if output_format not in documents.FORMATS:
            raise InputError([Problem(Location("--format"), "C001",
                                      f"应为 {'、'.join(documents.FORMATS)}")])
        output_folder(out, "--out")
        day = as_of_date(as_of, year)
        settings = use_settings(config, no_config)
        catalog, program = load_program(policies, param, settings)
        waiver_list = load_waivers(waivers) if waivers else []
        facts = read_input(paths, db)
        year_in_data(facts, year)
        report = run.check(facts, program, year, day, waivers=waiver_list)
        built = notice_model.build(report, catalog, reply_days)
        notices_count = sum(d.kind == "rectification_notice" for d in built)
        summary = (f"{year} 年度（截至 {day.isoformat()}）：整改通知书 {notices_count} 份，"
                   f"问责、预警、再问责文书 {len(built) - notices_count} 份")
        written = documents.write(built, out, output_format, summary, templates)
    err.print(f"[green]已生成[/] {len(written) - 1} 份文书及目录 {escape(str(written[-1]))}")
