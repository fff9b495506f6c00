"""What a page and its API twin both do: parse, authorise, call the pipeline, audit. The
handlers in `pages.py` and `api.py` only present the outcome (HTML or JSON)."""

from __future__ import annotations

import ctypes
import datetime as dt
import functools
import gc
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from luoshi.engine.errors import EngineError
from luoshi.engine.runtime.run import as_of_date
from luoshi.facts.chain import ChainBroken
from luoshi.facts.problems import InputError, Location, Problem, StoreError
from luoshi.facts.store import LoadResult

from . import audit, incidents
from .accounts import Account
from .auth import NOT_FOUND, address, check_csrf, portal
from .security import TooLarge, clean_name, past_unpacked_limit
from .sources import plain_problem

MAX_FILES = 50
# Loads into one database take turns (a lock in the store): submissions waiting for their turn
# wait here, each holding no thread of the shared pool, so that pages and reads are not queued
# behind them (docs/performance.md, the portal under load). Two: one validates while one loads.
LOADS_AT_ONCE = 2


# The problems of a refused submission that a page or an answer lists: a 20 MB table with a wrong
# column has a million (an answer of 180 MB, a page of a million rows); the rest are counted.
MAX_LISTED = 1000

# The largest id a database's integer holds: a larger one in a URL names nothing.
MAX_ID = 2**63 - 1


def whole_number(text: str) -> int | None:
    """`text` as a whole number in ASCII digits, else None: "²".isdigit() is true, yet
    int("²") fails."""
    return int(text) if text.isascii() and text.isdigit() else None


async def read_body(request: Request) -> bytes:
    """The body of a request, refused (TooLarge) past the size limit by `BodyLimit`, whether
    it says its length or streams without one: nothing past the limit is held in memory."""
    return await request.body()


# Starlette's multipart parser refuses in English; what each refusal means, in Chinese.
_FORM_ERRORS = {"Too many files": f"一次最多上传 {MAX_FILES} 个文件，请分几次报送",
                "Too many fields": "表单的字段过多",
                "exceeded maximum size": "表单中文件以外的某一项超过 1 MB"}


async def read_form(request: Request) -> FormData:
    """The form of a request, within the size limit (`BodyLimit`), parsed as it streams in (an
    uploaded file goes to an anonymous temporary file past 1 MB, not into memory whole)."""
    try:
        return await request.form(max_files=MAX_FILES, max_fields=20)
    except TooLarge:
        raise
    except HTTPException as error:  # 400 with the parser's English message
        why = next((text for key, text in _FORM_ERRORS.items() if key in str(error.detail)),
                   "表单无法解析（上传的数据格式不正确）")
        raise HTTPException(400, f"{why}；未存储任何数据") from None


def problem_data(problem: Problem) -> dict[str, Any]:
    """A problem as the API gives it (web.md), with the sheet of a workbook and the whole place
    as luoshi writes it (`file:Sheet!row`)."""
    where = problem.where
    return {"path": where.path, "line": where.line, "col": where.col, "kind": problem.kind,
            "field": problem.field, "code": problem.code, "message": problem.message,
            "sheet": where.sheet, "where": str(where)}


@dataclass
class Submitted:
    unit: str | None
    files: list[str]
    result: LoadResult | None = None
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS
    total: int = 0  # problems found


def submission_scope(account: Account, form: FormData) -> tuple[str | None, bool]:
    """A unit's submission replaces its own records (`load --unit`); the office may name a
    unit, or replace everything, or else merge."""
    if not account.office:
        return account.unit, False
    unit = str(form.get("unit") or "").strip() or None
    replace = str(form.get("replace") or "").lower() in ("true", "1", "on", "yes")
    if unit and replace:
        raise HTTPException(422, "unit 与 replace 只能给出一个")
    return unit, replace


async def submit(request: Request, account: Account, form: FormData) -> Submitted:
    """Validate and store uploaded files; every attempt is audited, refused ones with their
    problems counted (nothing of them is stored)."""
    check_csrf(request, form.get("csrf"))
    unit, replace = submission_scope(account, form)
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    taken: set[str] = set()
    files = [(clean_name(item.filename, taken), await item.read()) for item in uploads
             if item.filename or item.size]
    outcome = Submitted(unit, [name for name, _ in files])
    state = portal(request)
    if not files:
        raise HTTPException(422, "请选择要报送的文件（YAML、JSON、CSV 或 XLSX）")
    too_large = past_unpacked_limit(files, state.max_unpacked)
    call = functools.partial(state.pipeline.submit, files, unit, replace, account.name,
                             private=not account.office, max_records=state.max_records)
    try:
        if too_large:
            raise InputError([Problem(Location(too_large[0]), "E107", too_large[1])])
        outcome.result = await anyio.to_thread.run_sync(call, limiter=_loads(request))
    except InputError as error:
        outcome.problems = sorted(map(plain_problem, error.problems), key=lambda p: p.where.sort_key())
        outcome.total = error.total
    except StoreError as error:
        message, reference = incidents.reported(error, f"{account.name} 的报送")
        failed(state.engine, "submission", who=account, address=address(request), unit=unit,
               files=outcome.files, reference=reference)
        raise HTTPException(503, message) from None
    finally:
        del files, call  # what reading them held went with the error's frames: give it back
        await run_in_threadpool(give_back_memory)
    if outcome.result is not None:
        audit.write(state.engine, "submission", who=account, address=address(request), unit=unit,
                    files=outcome.files, load=outcome.result.load_id,
                    scope="unit" if unit else "replace" if replace else "merge")
    else:
        audit.write(state.engine, "submission", "refused", who=account, address=address(request),
                    unit=unit, files=outcome.files, problems=outcome.total)
    return outcome


def give_back_memory() -> None:
    """Return the memory an upload's reading held to the system: first what only the cyclic
    collector frees (the error's frames hold the records read), then what glibc keeps in the
    worker thread's arena and does not give back by itself. Without this each large upload
    left up to 100 MB with the server, and a few of them gigabytes."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator returns memory by itself
        pass


def failed(engine: Any, action: str, **entry: Any) -> None:
    """The audit row of a failed action: its reference, not the error (the office reads the
    log in the portal). The database may be what failed: then the row is lost, and the server's
    log has the reference twice."""
    try:
        audit.write(engine, action, "failed", **entry)
    except SQLAlchemyError as error:
        incidents.log.error("参考编号 %s：审计记录无法写入（%s）", entry.get("reference"),
                            incidents.detail_of(error).splitlines()[0])


def _loads(request: Request) -> anyio.CapacityLimiter:
    """The app's own limiter of submissions (made in its event loop, on first use)."""
    state = request.app.state
    if getattr(state, "loads", None) is None:
        state.loads = anyio.CapacityLimiter(LOADS_AT_ONCE)
    return state.loads


def year_of(request: Request, required: bool = False) -> int:
    """`?year=Y`, else the year of the newest recorded check, else this year."""
    text = request.query_params.get("year")
    if not text:
        if required:
            raise HTTPException(422, "请给出 year（检查年度）")
        newest = portal(request).pipeline.newest_year()
        return newest if newest is not None else dt.date.today().year
    year = whole_number(text)
    if year is None or not 2000 <= year <= 2100:
        raise HTTPException(422, f"year 应为 2000–2100 的年份，而不是 {text[:20]!r}")
    return year


def day_of(request: Request, year: int) -> dt.date:
    """`?as_of=D`, else today while it is within the year checked or the next (when a year's
    deadlines still run), else 31 December of the year."""
    text = request.query_params.get("as_of")
    if text:
        try:
            return as_of_date(text, year)
        except InputError as error:
            raise HTTPException(422, error.problems[0].message) from None
    today = dt.date.today()
    return today if dt.date(year, 1, 1) <= today <= dt.date(year + 1, 12, 31) \
        else dt.date(year, 12, 31)


def days_of(request: Request, default: int | None = None) -> int:
    text = request.query_params.get("days")
    if not text:
        if default is None:
            raise HTTPException(422, "请给出 days（天数）")
        return default
    days = whole_number(text)
    if days is None or not 1 <= days <= 366:
        raise HTTPException(422, "days 应为 1–366 的整数")
    return days


async def record_run(request: Request, account: Account, year: int, as_of: dt.date) -> int:
    state = portal(request)
    try:
        run_id = await run_in_threadpool(state.pipeline.record, year, as_of)
    except (InputError, StoreError, EngineError) as error:
        message, reference = incidents.reported(error, f"{account.name} 的检查")
        failed(state.engine, "check", who=account, address=address(request), year=year,
               as_of=as_of.isoformat(), reference=reference)
        status = 409 if isinstance(error, ChainBroken) else 503 if isinstance(error, StoreError) \
            else 500
        raise HTTPException(status, f"无法检查：{message}") from None
    audit.write(state.engine, "check", who=account, address=address(request), year=year,
                as_of=as_of.isoformat(), run=run_id)
    return run_id


def run_or_404(request: Request, run_id: int) -> Any:
    found = portal(request).pipeline.run(run_id)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    return found


def downloaded(request: Request, account: Account, what: str, **detail: Any) -> None:
    """A download, audited; a HEAD request (a link checker, a proxy) downloads nothing."""
    if request.method == "HEAD":
        return
    audit.write(portal(request).engine, "download", who=account, address=address(request),
                what=what, **detail)
