"""`luoshi report --year Y --out FILE.html`: the year-end appraisal, scored and ranked."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from luoshi.engine.runtime import run
from luoshi.engine.runtime.waivers import load_waivers
from luoshi.engine.settings import is_weight
from luoshi.facts.inputs import read_input
from luoshi.facts.problems import InputError, Location, Problem, os_reason
from luoshi.outputs import appraisal, ranking

from .check import as_of_date
from .console import err, exit_on_errors, output_file, year_in_data
from .options import DbOption
from .policies import (
    ConfigOption,
    NoConfigOption,
    PoliciesOption,
    YearOption,
    load_program,
    use_settings,
)


def report(
    paths: Annotated[list[str] | None, typer.Argument(
        help="事实数据文件或文件夹；不给出则读取数据库", show_default=False)] = None,
    year: YearOption = ...,  # type: ignore[assignment]
    out: Annotated[Path | None, typer.Option("--out", help="HTML 报告文件")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="同时写出 XLSX 排名")] = None,
    output_format: Annotated[str | None, typer.Option(
        "--format", help="json：把排名以 JSON 输出到标准输出")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="检查日")] = None,
    db: DbOption = None,
    waivers: Annotated[str | None, typer.Option("--waivers", help="豁免文件（YAML）")] = None,
    error_weight: Annotated[float | None, typer.Option("--error-weight", help="每个错误扣分（默认 5）")] = None,
    warning_weight: Annotated[float | None, typer.Option("--warning-weight", help="每个警告扣分（默认 1）")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="参数，如 I201.min=3")] = None,
    policies: PoliciesOption = None,
    config: ConfigOption = None,
    no_config: NoConfigOption = False,
) -> None:
    """年终考核评估：为每个责任单位计分、排名，每一分扣减都能追溯到具体问题。"""
    with exit_on_errors():
        if output_format not in (None, "json"):
            raise InputError([Problem(Location("--format"), "C001", "只支持 json")])
        if out is None and xlsx is None and output_format is None:
            raise InputError([Problem(Location("--out"), "C001",
                                      "请用 --out 给出 HTML 文件，或 --xlsx，或 --format json")])
        output_file(out, "--out", (".html", ".htm"))
        output_file(xlsx, "--xlsx", (".xlsx",))
        day = as_of_date(as_of, year)
        settings = use_settings(config, no_config)
        weights = {**ranking.DEFAULT_WEIGHTS, **settings.weights}
        for severity, value in (("error", error_weight), ("warning", warning_weight)):
            if value is not None:
                if not is_weight(value):
                    raise InputError([Problem(Location(f"--{severity}-weight"), "C001",
                                              f"应为 0 到 100 之间的数值：{value}")])
                weights[severity] = value
        catalog, program = load_program(policies, param, settings)
        waiver_list = load_waivers(waivers) if waivers else []
        facts = read_input(paths, db)
        year_in_data(facts, year)
        result = run.check(facts, program, year, day, waivers=waiver_list)
        scores = ranking.rank(result, weights)
        if out is not None and out.suffix.lower() not in (".html", ".htm"):
            raise InputError([Problem(Location("--out"), "C001",
                                      f"--out 写出 HTML 报告，文件名应以 .html 结尾：{out}")])
        if xlsx is not None and xlsx.suffix.lower() != ".xlsx":
            raise InputError([Problem(Location("--xlsx"), "C001",
                                      f"--xlsx 写出 Excel 工作簿，文件名应以 .xlsx 结尾：{xlsx}")])
        try:
            if out is not None:
                out.write_text(appraisal.html(result, scores, weights, catalog, settings.bands),
                               encoding="utf-8")
            if xlsx is not None:
                appraisal.xlsx(xlsx, result, scores, weights, catalog, settings.bands)
        except OSError as error:
            raise InputError([Problem(Location(str(error.filename or out or xlsx)), "C001",
                                      f"无法写入：{os_reason(error)}")]) from None
    if output_format == "json":
        data = {**appraisal.as_json(result, scores), "config": settings.file}
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    for path in (out, xlsx):
        if path is not None:
            message = Text("已写出 ", style="green")
            message.append(str(path), style="")
            err.print(message)
