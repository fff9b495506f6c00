"""`luoshi check [PATH...] --year Y ...`: evaluate the policies, print findings and triggers."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from luoshi.engine.language.policy import Catalog
from luoshi.engine.runtime import run
from luoshi.engine.runtime.run import as_of_date
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.facts.factset import Rows, facts_sha256
from luoshi.facts.inputs import read_input
from luoshi.facts.problems import InputError, Location, Problem
from luoshi.outputs.formats import FORMATS, render

from .console import (
    PROGRESS_BYTES,
    exit_on_errors,
    output_file,
    progress_bars,
    total_size,
    year_in_data,
)
from .options import DbOption
from .policies import (
    ConfigOption,
    NoConfigOption,
    PoliciesOption,
    YearOption,
    load_program,
    use_settings,
)

SEVERITY_RANK = {"warning": 1, "error": 2}


def id_list(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def check(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,  # type: ignore[assignment]
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="检查日（默认为当年 12 月 31 日）；晚于它的事实视为尚不存在")] = None,
    db: DbOption = None,
    output_format: Annotated[str | None, typer.Option(
        "--format", help="输出格式：table（终端默认）、json（非终端默认）、junit、github、markdown")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="写入文件而不是标准输出")] = None,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", help="达到该级别即以状态 1 退出：error、warning、never")] = "error",
    select: Annotated[str | None, typer.Option("--select", help="只报这些规则（编号或前缀，逗号分隔）")] = None,
    ignore: Annotated[str | None, typer.Option("--ignore", help="不报这些规则（编号或前缀，逗号分隔）")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="只报归属这些单位的结果（逗号分隔）")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="参数，如 I201.min=3（可多次给出）")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
    waivers: Annotated[str | None, typer.Option(
        "--waivers", help="豁免文件（YAML）：经批准、有期限地豁免某条结果")] = None,
    shard: Annotated[str | None, typer.Option(
        "--shard", help="K/N：只报哈希落在第 K 份（共 N 份）的单位的结果（数据库模式），"
                        "供多个进程或机器分担一次检查")] = None,
    known_at: Annotated[int | None, typer.Option(
        "--known-at", help="检查第 N 次导入刚完成时的数据（数据库模式；luoshi submissions 列出各次导入）",
        show_default=False)] = None,
    record: Annotated[bool, typer.Option(
        "--record", help="把这次检查记入数据库（仅数据库模式），供 history 与 diff 使用")] = False,
) -> None:
    """按规则目录检查事实数据，列出问题（findings）与应处置的问责触发（triggers）。"""
    fmt = output_format or ("table" if sys.stdout.isatty() else "json")
    with exit_on_errors():
        if fmt not in FORMATS:
            raise InputError([Problem(Location("--format"), "C001",
                                      f"未知的输出格式 {fmt}，可用：{'、'.join(FORMATS)}")])
        if fail_on not in ("error", "warning", "never"):
            raise InputError([Problem(Location("--fail-on"), "C001",
                                      "应为 error、warning 或 never")])
        output_file(output, "--output", text=fmt)
        day = as_of_date(as_of, year)
        settings = use_settings(config, no_config)
        catalog, program = load_program(policies, param, settings)
        _known_rules(catalog, id_list(select), "--select")
        _known_rules(catalog, id_list(ignore), "--ignore")
        waiver_list = load_waivers(waivers) if waivers else []
        shard_spec = _shard(shard, paths)
        if known_at is not None and paths:
            raise InputError([Problem(Location("--known-at"), "C001",
                                      "--known-at 只用于数据库模式：不带路径运行 check")])
        if record and paths:
            raise InputError([Problem(Location("--record"), "C001",
                                      "--record 只用于数据库模式：先 luoshi load，再不带路径运行 check")])
        # Bars on stderr, on a terminal, for large inputs only: never in machine formats' stdout.
        with progress_bars(total_size(paths) if paths else PROGRESS_BYTES) as progress:
            seen: dict[str, int] = {}
            # From the database, `--unit` (without `--shard`) reads and evaluates only what can
            # be charged to those units, as a shard does; `rerun` reads the same scope again.
            scope = id_list(unit) if unit and not paths and not shard_spec else None
            facts = read_input(paths, db, progress, program, shard_spec, known_at, seen, scope)
            inputs_sha256 = facts_sha256(facts) if record else None
            # A shard reads only its own units: ids of other shards' units are not errors there.
            units = id_list(unit) if shard_spec else known_units(facts, id_list(unit))
            year_in_data(facts, year)
            report = run.check(facts, program, year, day, progress=progress, waivers=waiver_list,
                               shard=shard_spec, units=scope)
        report = run.narrow(report, id_list(select), id_list(ignore), units, shard_spec)
        report.config = settings.file
        if record:
            from luoshi.engine.runtime import recording

            recording.record(db, report, catalog, waiver_list, inputs_sha256 or "",
                             seen.get("load_id"),
                             narrowing(id_list(select), id_list(ignore), units, shard_spec))
        if fmt == "table" and output:  # a file gets no colour codes, whatever the terminal
            from luoshi.outputs.formats import table

            text = table.render(report, catalog, colour=False)
        else:
            text = render(fmt, report, catalog)
        if output:
            output.write_text(text, encoding="utf-8")
    if not output:
        sys.stdout.write(text)
    threshold = SEVERITY_RANK.get(fail_on)
    if threshold and any(SEVERITY_RANK[f.severity] >= threshold for f in report.findings):
        raise typer.Exit(1)


def narrowing(select: list[str] | None, ignore: list[str] | None, units: list[str] | None,
              shard: tuple[int, int] | None) -> dict[str, Any] | None:
    """How a recorded run's findings were narrowed (None: not at all), for `rerun`."""
    given = {"select": select, "ignore": ignore, "unit": units,
             "shard": list(shard) if shard else None}
    return given if any(given.values()) else None


def known_units(rows: Rows, wanted: list[str] | None) -> list[str] | None:
    """`--unit` ids, each of which must be a unit of the data (else the check says nothing)."""
    if not wanted:
        return wanted
    names = {row["id"]: row.get("name") or "" for row in rows.get("units", ())}
    problems = []
    for unit_id in wanted:
        if unit_id in names:
            continue
        by_name = [key for key, name in names.items() if name == unit_id]
        close = by_name or difflib.get_close_matches(unit_id, list(names), n=3, cutoff=0.5)
        hint = ("，是否应为 " + "、".join(f"{key}（{names[key]}）" for key in close) + "？") if close \
            else "（luoshi check 的 JSON 输出或单位表列出全部单位编号）"
        problems.append(Problem(Location("--unit"), "C001", f"数据中没有编号为 {unit_id!r} 的单位{hint}"))
    if problems:
        raise InputError(problems)
    return wanted


def _known_rules(catalog: Catalog, prefixes: list[str] | None, option: str) -> None:
    """`--select`/`--ignore` ids or prefixes, each of which must name at least one rule."""
    problems = []
    for prefix in prefixes or []:
        if any(rule.startswith(prefix) for rule in catalog.rules):
            continue
        close = difflib.get_close_matches(prefix, list(catalog.rules), n=3, cutoff=0.5)
        hint = f"，是否应为 {'、'.join(close)}？" if close else "（luoshi rules 列出全部规则）"
        problems.append(Problem(Location(option), "C001", f"没有编号为 {prefix!r} 或以它开头的规则{hint}"))
    if problems:
        raise InputError(problems)


def _shard(text: str | None, paths: list[str] | None) -> tuple[int, int] | None:
    if text is None:
        return None
    number, _, total = text.partition("/")
    if not (number.isdigit() and total.isdigit() and 1 <= int(number) <= int(total)):
        raise InputError([Problem(Location("--shard"), "C001", f"应写作 K/N，且 1 ≤ K ≤ N：{text!r}")])
    if paths:
        raise InputError([Problem(Location("--shard"), "C001",
                                  "--shard 用于数据库模式：各分片从同一数据库读取")])
    return int(number), int(total)
