"""What every command shares: where output goes, how input errors end a run, progress bars."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from luoshi.engine.errors import EngineError
from luoshi.facts.factset import Rows
from luoshi.facts.kinds import KINDS, date_fields
from luoshi.facts.problems import InputError, Location, Problem, StoreError, os_reason
from luoshi.facts.problems import Progress as ProgressFn

if TYPE_CHECKING:  # Rich is imported only when something is drawn (start-up time)
    from rich.console import Console
    from rich.progress import TaskID
    from rich.table import Table
    from rich.text import Text

_consoles: dict[str, Console] = {}


def __getattr__(name: str) -> Console:
    """`out` (standard output) and `err` (standard error), made on first use: a check that
    prints JSON and meets no problem never needs Rich.

    Neither reads markup or emoji codes: what is printed holds names, titles and paths a user
    wrote (`[/]` in a policy title, `:warning:` in a folder name), shown as they are. Colour is
    given by `said` or by `Text` styles, never by `[red]` in a string."""
    if name not in ("out", "err"):
        raise AttributeError(name)
    if name not in _consoles:
        from rich.console import Console

        plain = {"highlight": False, "soft_wrap": True, "markup": False, "emoji": False}
        if name == "err":
            _consoles[name] = Console(stderr=True, **plain)  # type: ignore[arg-type]
        else:
            console = Console(**plain)  # type: ignore[arg-type]
            if not console.is_terminal:  # piped or captured: no width to fit, do not squeeze
                console = Console(width=160, **plain)  # type: ignore[arg-type]
            _consoles[name] = console
    return _consoles[name]


def _err() -> Console:
    return __getattr__("err")


def said(head: str, style: str, rest: str = "") -> Text:
    """A message whose first words are styled (`已导入` in green) and the rest plain."""
    from rich.text import Text

    return Text.assemble((head, style), rest)

# Inputs larger than this get a progress bar (on stderr, and only on a terminal).
PROGRESS_BYTES = 5_000_000


@contextmanager
def exit_on_errors(storing: bool = False) -> Iterator[None]:
    """Bad input or an unreachable database: a clear message, exit status 2, no traceback."""
    try:
        yield
    except InputError as error:
        for problem in error.problems:
            # Plain writes: a problem line must never be wrapped or re-coloured by rich. On
            # standard error, so standard output is the result (JSON, …) or nothing.
            sys.stderr.write(f"{problem}\n")
        tail = "，未存储任何数据。" if storing else "。"
        if error.total > len(error.problems):  # past MAX_PROBLEMS: counted, not kept
            tail = f"（列出了前 {len(error.problems):,} 个）{tail}"
        _err().print(said(f"共 {error.total} 个问题", "bold red", tail))
        raise typer.Exit(2) from None
    except StoreError as error:
        _err().print(said(error.code, "bold red", f" {error}"))
        raise typer.Exit(2) from None
    except EngineError as error:
        _err().print(said("规则引擎出错", "bold red", f"：{error}（没有输出不完整的结果）"))
        raise typer.Exit(2) from None
    except OSError as error:  # a file that could not be read or written after all checks
        where = error.filename or "文件"
        sys.stderr.write(f"{where}: C002 无法读写：{os_reason(error)}\n")
        _err().print(said("共 1 个问题", "bold red", "。"))
        raise typer.Exit(2) from None


# Files a text output must not be written into under their name: a reader would open them wrongly.
DOCUMENT_SUFFIXES = (".pdf", ".docx", ".doc", ".xlsx", ".xls", ".et", ".html", ".htm", ".png",
                     ".jpg", ".jpeg", ".zip")


def output_file(path: Path | None, option: str, suffixes: tuple[str, ...] = (),
                text: str | None = None) -> None:
    """Refuse, before any work, an output file that cannot be written where it is asked for:
    of another type than `suffixes`, or (for a `text` output) named as a document."""
    if path is None:
        return
    where = Location(str(path))
    if text and path.suffix.lower() in DOCUMENT_SUFFIXES:
        raise InputError([Problem(where, "C002", f"{option} 写出的是 {text} 文本，不能存为 "
                                                 f"{path.suffix} 文件；HTML 或 XLSX 报告请用 luoshi report")])
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError([Problem(where, "C002", f"{option} 应为 {'、'.join(suffixes)} 文件"
                                                 f"（这里写出的就是这种格式），而不是 {path.suffix or '无扩展名'}")])
    if path.is_dir():
        raise InputError([Problem(where, "C002", f"{option} 给出的是一个已有的文件夹，应为文件名")])
    _writable(path, option, where)


def output_folder(path: Path, option: str) -> None:
    """Refuse an output folder that is a file or cannot be created or written."""
    where = Location(str(path))
    if path.exists() and not path.is_dir():
        raise InputError([Problem(where, "C002", f"{option} 给出的是一个已有的文件，应为文件夹")])
    if path.is_dir():
        if not os.access(path, os.W_OK):
            raise InputError([Problem(where, "C002", f"{option} 文件夹没有写入权限")])
        return
    _writable(path, option, where)


def _writable(path: Path, option: str, where: Location) -> None:
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError([Problem(where, "C002", f"{option} 所在的 {parent} 不是文件夹")])
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError([Problem(where, "C002", f"{option} 没有写入权限")])


def year_in_data(rows: Rows, year: int) -> None:
    """Warn when the data holds nothing of the year checked: a typo, or last year's files."""
    years: set[int] = set()
    for kind, records in rows.items():
        if kind not in KINDS:  # the store's history: not what was submitted for the year
            continue
        fields = list(date_fields(kind))
        has_year = "year" in KINDS[kind].model_fields
        for row in records:
            if has_year and isinstance(row.get("year"), int):
                years.add(row["year"])
            years.update(row[name].year for name in fields if row.get(name) is not None)
    if years and year not in years:
        _err().print(said("注意", "yellow", f"：数据中没有 {year} 年的记录（数据涉及 "
                                           f"{min(years)}–{max(years)} 年），请确认 --year 是否写对。"))


@contextmanager
def progress_bars(total_bytes: int) -> Iterator[ProgressFn | None]:
    """Bars for reading, validating and storing, on stderr, for large inputs on a terminal."""
    if total_bytes < PROGRESS_BYTES or not _err().is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    # No refresh thread: a check forks worker processes, which a running thread makes unsafe.
    with Progress(*columns, console=_err(), transient=True, auto_refresh=False) as bars:
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
    from rich.table import Table

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
