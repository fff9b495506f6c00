"""`luoshi upcoming [PATH...] --year Y [--days N] [--as-of D]`: what falls due in the next N
days (临近提醒). The logic is `engine.runtime.upcoming`; docs/upcoming.md tells what it means.

Exit status: 0 whenever it ran, whatever falls due: nothing listed is a finding yet (a
rectification due in three days is still in time), and 1 means findings; 2 could not run.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer

from luoshi.engine.runtime import upcoming as reminders
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.facts.inputs import read_input
from luoshi.facts.problems import InputError, Location, Problem

from .check import as_of_date, id_list, known_units
from .console import exit_on_errors, year_in_data
from .options import DbOption
from .policies import (
    ConfigOption,
    NoConfigOption,
    PoliciesOption,
    YearOption,
    load_program,
    use_settings,
)


def upcoming(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,  # type: ignore[assignment]
    days: Annotated[int | None, typer.Option(
        "--days", help="向后看多少天（默认取 luoshi.toml 的 [upcoming] days，否则 7）",
        show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="从哪天起算（默认今天；不早于检查年度的 1 月 1 日）", show_default=False)] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只列归属这些单位的事项（逗号分隔）")] = None,
    output_format: Annotated[str | None, typer.Option(
        "--format", help="输出格式：table（终端默认）或 json（非终端默认）")] = None,
    db: DbOption = None,
    waivers: Annotated[str | None, typer.Option(
        "--waivers", help="豁免文件（YAML），与 check 相同")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="参数，如 accountability_days=45（可多次给出）")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
) -> None:
    """临近提醒：列出今后 N 天内将到期的问题与问责触发（即检查日推后 N 天才会报出的）。"""
    fmt = output_format or ("table" if sys.stdout.isatty() else "json")
    with exit_on_errors():
        if fmt not in ("table", "json"):
            raise InputError([Problem(Location("--format"), "C001",
                                      f"未知的输出格式 {fmt}，可用：table、json")])
        day = _start(as_of, year)
        settings = use_settings(config, no_config)
        window = days if days is not None else settings.upcoming_days or reminders.DEFAULT_DAYS
        reminders.window_end(year, day, window)  # refuse a bad window before reading anything
        _catalog, program = load_program(policies, param, settings)
        waiver_list = load_waivers(waivers) if waivers else []
        facts = read_input(paths, db)
        units = known_units(facts, id_list(unit))
        year_in_data(facts, year)
        result = reminders.find(facts, program, year, day, window, waiver_list, units=units)
    if fmt == "json":
        sys.stdout.write(json.dumps(result.as_data(), ensure_ascii=False, indent=2) + "\n")
    else:
        from luoshi.outputs import reminders as table

        sys.stdout.write(table.render(result))


def _start(text: str | None, year: int) -> dt.date:
    """`--as-of`, else today; on or after 1 January of the year checked, as for `check`."""
    if text is not None:
        return as_of_date(text, year)
    today = dt.date.today()
    if today.year < year:
        raise InputError([Problem(Location("--as-of"), "C001",
                                  f"今天（{today.isoformat()}）早于 {year} 年："
                                  f"请用 --as-of 给出提醒的起算日")])
    return today
