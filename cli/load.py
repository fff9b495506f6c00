"""`luoshi load PATH... [--db URL] [--unit U | --replace] [--received D] [--by NAME] [--note T]`:
validate, then store the whole set as new record versions in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from luoshi.facts.problems import InputError, Location, Problem
from luoshi.facts.validate import read_facts

from .console import counts_table, err, exit_on_errors, out, progress_bars, said, total_size
from .options import DbOption
from .validate import PathsArgument


def load(
    paths: PathsArgument,
    db: DbOption = None,
    unit: Annotated[str | None, typer.Option(
        "--unit", help="本批数据是单位 U 的报送：只能包含 U 的记录，替换 U 已存的全部记录"
                       "（U 已存而本批没有的记录即被撤回）", show_default=False)] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="本批数据替换数据库中的全部现行数据")] = False,
    received: Annotated[str | None, typer.Option(
        "--received", help="收到报送的日期或时间（如 2013-04-01 或 2013-04-01T09:30）；默认为现在",
        show_default=False)] = None,
    by: Annotated[str | None, typer.Option("--by", help="报送人", show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="备注", show_default=False)] = None,
) -> None:
    """校验并导入事实数据：整批写入一个事务，要么全部存入，要么什么都不存；已存的记录从不覆盖，每个版本都保留。"""
    from luoshi.facts import store  # SQLAlchemy is imported only by commands that use it

    with exit_on_errors(storing=True), progress_bars(total_size(paths)) as progress:
        if unit is not None and replace:
            raise InputError([Problem(Location("load"), "C001", "--unit 与 --replace 只能选其一")])
        submission = store.Submission(
            scope="unit" if unit is not None else "replace" if replace else "merge",
            unit=unit, received=parse_received(received), by=by, note=note)
        # A set that replaces everything must hold all it names; any other may name stored records.
        stored = None if replace else (lambda wanted: store.stored_ids(db, wanted))
        facts, inputs = read_facts(paths, progress, stored=stored)
        result = store.load(facts, inputs, db, progress, waiting=lambda text: err.print(text),
                            submission=submission)
    out.print(counts_table("导入结果", result.counts, {
        "added": "新增", "changed": "修改", "removed": "撤回", "unchanged": "未变"}))
    scope = {"merge": "新增或修改", "unit": f"替换单位 {unit} 的记录", "replace": "替换全部数据"}
    err.print(said("已导入", "green", f" {store.database_url(db)}（第 {result.load_id} 次导入，"
                                     f"{scope[submission.scope]}，{len(inputs)} 个文件，{len(facts)} 条记录）。"))


def parse_received(text: str | None) -> dt.datetime | None:
    """`--received`: a date (midnight) or a date-time, local time unless a zone is given."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError([Problem(Location("load"), "C001",
                                  f"--received 的值 {text!r} 不是日期或时间（如 2013-04-01 或 "
                                  "2013-04-01T09:30）")]) from None
    return value if value.tzinfo else value.astimezone()
