"""What every command shares: where output goes, how input errors end a run, progress bars."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from luoshi.engine.errors import EngineError
from luoshi.facts.kinds import KINDS
from luoshi.facts.problems import InputError, StoreError
from luoshi.facts.problems import Progress as ProgressFn

out = Console(highlight=False, soft_wrap=True)
if not out.is_terminal:  # piped or captured: no terminal width to fit, so do not squeeze tables
    out = Console(highlight=False, soft_wrap=True, width=160)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Inputs larger than this get a progress bar (on stderr, and only on a terminal).
PROGRESS_BYTES = 5_000_000


@contextmanager
def exit_on_errors(storing: bool = False) -> Iterator[None]:
    """Bad input or an unreachable database: a clear message, exit status 2, no traceback."""
    try:
        yield
    except InputError as error:
        for problem in error.problems:
            # Plain writes: a problem line must never be wrapped or re-coloured by rich.
            sys.stdout.write(f"{problem}\n")
        tail = "，未存储任何数据。" if storing else "。"
        err.print(f"[bold red]共 {len(error.problems)} 个问题[/]{tail}")
        raise typer.Exit(2) from None
    except StoreError as error:
        err.print(f"[bold red]E601[/] {error}")
        raise typer.Exit(2) from None
    except EngineError as error:
        err.print(f"[bold red]规则引擎出错[/]：{error}（没有输出不完整的结果）")
        raise typer.Exit(2) from None


@contextmanager
def progress_bars(total_bytes: int) -> Iterator[ProgressFn | None]:
    """Bars for reading, validating and storing, on stderr, for large inputs on a terminal."""
    if total_bytes < PROGRESS_BYTES or not err.is_terminal:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    # No refresh thread: a check forks worker processes, which a running thread makes unsafe.
    with Progress(*columns, console=err, transient=True, auto_refresh=False) as bars:
        tasks: dict[str, TaskID] = {}
        shown = [0.0]  # when the bars were last drawn

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bars.add_task(step, total=total)
            bars.update(tasks[step], completed=done, total=total)
            if time.monotonic() - shown[0] >= 0.1 or done >= total:
                bars.refresh()
                shown[0] = time.monotonic()

        yield report


def total_size(paths: list[str]) -> int:
    size = 0
    for name in paths:
        path = Path(name)
        files = path.rglob("*") if path.is_dir() else [path]
        size += sum(file.stat().st_size for file in files if file.is_file())
    return size


def counts_table(title: str, counts: dict[str, dict[str, int]], columns: dict[str, str]) -> Table:
    """One row per kind with a count above zero: code name, Chinese name and the given counts."""
    table = Table(title=title, title_justify="left")
    table.add_column("类别")
    table.add_column("中文")
    for label in columns.values():
        table.add_column(label, justify="right")
    totals = dict.fromkeys(columns, 0)
    for kind, row in counts.items():
        if not any(row.get(key) for key in (*columns, "records")):
            continue
        table.add_row(kind, KINDS[kind].ZH, *(str(row[key]) for key in columns))
        for key in columns:
            totals[key] += row[key]
    table.add_section()
    table.add_row("合计", "", *(str(value) for value in totals.values()), style="bold")
    return table
