"""`luoshi notices [PATH...] --year Y --out DIR`: the documents to send after a check.

`--run ID` makes them from a recorded check (`check --record`): its findings, triggers, year
and as-of date, and the names of the stored records as they were right after its load, so the
documents and their numbers are the same however often they are made again, whatever has been
loaded or renamed since; nothing is checked again."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from luoshi.engine.runtime import recording, run
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.facts.inputs import read_input
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.outputs import documents
from luoshi.outputs import notices as notice_model

from .check import as_of_date
from .console import err, exit_on_errors, output_folder, year_in_data
from .options import DbOption
from .policies import (
    ConfigOption,
    NoConfigOption,
    PoliciesOption,
    load_program,
    use_settings,
)


def notices(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: Annotated[int | None, typer.Option(
        "--year", help="检查年度（2000–2100；用 --run 时取自记录）", min=2000, max=2100,
        show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", help="输出文件夹", show_default=False)] = ...,  # type: ignore[assignment]
    as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
    date: Annotated[str | None, typer.Option(
        "--date", help="成文日期（默认为检查日）")] = None,
    db: DbOption = None,
    run_id: Annotated[int | None, typer.Option(
        "--run", help="用记录过的检查（check --record）生成：问题、触发和文号都取自这次记录，"
                      "再次生成时完全相同（数据库模式）")] = None,
    output_format: Annotated[str, typer.Option("--format", help="docx、html 或 md")] = "docx",
    waivers: Annotated[str | None, typer.Option("--waivers", help="豁免文件（YAML）")] = None,
    reply_days: Annotated[int | None, typer.Option(
        "--reply-days", help="要求在成文日期后多少天内报送整改或处理情况（默认 15，"
                             "或 luoshi.toml 的 notices.reply_days）")] = None,
    templates: Annotated[Path | None, typer.Option(
        "--templates", help="自定义模板文件夹（同名文件优先于自带模板）")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
) -> None:
    """生成整改通知书（每个有问题的单位一份）、无责任单位问题的情况报告，以及问责建议书、预警通知、
    再问责建议书（每项触发一份）。"""
    with exit_on_errors():
        if output_format not in documents.FORMATS:
            raise InputError([Problem(Location("--format"), "C001",
                                      f"应为 {'、'.join(documents.FORMATS)}")])
        if reply_days is not None and not 0 <= reply_days <= 365:
            raise InputError([Problem(Location("--reply-days"), "C001", "应在 0–365 之间")])
        recorded = _recorded_run(run_id, paths, db, year, as_of) if run_id is not None else None
        if recorded is not None:
            year, as_of = recorded.year, recorded.as_of.isoformat()
        if year is None:
            raise InputError([Problem(Location("--year"), "C001", "请用 --year 给出检查年度")])
        output_folder(out, "--out")
        day = as_of_date(as_of, year)
        issued = as_of_date(date, year) if date else day
        settings = use_settings(config, no_config)
        days = reply_days if reply_days is not None else settings.notices.get(
            "reply_days", notice_model.DEFAULT_REPLY_DAYS)
        catalog, program = load_program(policies, param, settings)
        if recorded is not None:  # what the office recorded, with the names it had: no check
            from luoshi.facts import store

            report = recording.as_recorded(
                recorded, recording.names_as_recorded(db, recorded, program))
            changed = bool(recorded.load_id) and store.newest_load(db) > recorded.load_id
        else:
            waiver_list = load_waivers(waivers) if waivers else []
            facts = read_input(paths, db)
            year_in_data(facts, year)
            report = run.check(facts, program, year, day, waivers=waiver_list)
            changed = False
        built = notice_model.build(report, catalog, days, issued, settings.notices)
        counts = {title: sum(d.kind_title == title for d in built)
                  for title in notice_model.KIND_TITLES.values()}
        summary = (f"{year}年度（截至{notice_model.chinese_date(day)}）："
                   + "，".join(f"{title}{count}份" for title, count in counts.items() if count))
        written = documents.write(built, out, output_format, summary, templates)
    if changed:
        err.print(Text(f"注意：数据库中的数据在检查记录 {run_id} 之后有变化；文书按记录时的情况生成："
                       "问题、触发和文号取自记录，单位、人员、制度的名称取自当时的数据。", style="yellow"))
    message = Text("已生成 ", style="green")
    message.append(f"{len(written) - 1} 份文书及目录 {written[-1]}", style="")
    err.print(message)


def _recorded_run(run_id: int, paths: list[str] | None, db: str | None, year: int | None,
                  as_of: str | None) -> Any:
    from luoshi.facts import history

    if paths:
        raise InputError([Problem(Location("--run"), "C001",
                                  "--run 只用于数据库模式：不要同时给出数据文件")])
    if as_of is not None:
        raise InputError([Problem(Location("--as-of"), "C001",
                                  "用 --run 时检查日取自记录，不能另给 --as-of")])
    found = {recorded.id: recorded for recorded in history.runs(db)}.get(run_id)
    if found is None:
        raise InputError([Problem(Location("--run"), "C001",
                                  f"没有编号为 {run_id} 的检查记录（luoshi history 列出全部）")])
    history.checked(found)
    if year is not None and year != found.year:
        raise InputError([Problem(Location("--year"), "C001",
                                  f"检查记录 {run_id} 是 {found.year} 年度的，不是 {year} 年度")])
    return found

