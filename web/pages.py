"""The pages of the data (Chinese, server-rendered, no script): 首页, 报送, 检查, 文书, 考核 (登录
and 账号 are web/account_pages.py, 审计日志 web/audit_pages.py). Each handler parses, authorises
and calls `actions` / the pipeline, then renders."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from luoshi.facts.problems import InputError
from luoshi.facts.store import ELSEWHERE
from luoshi.outputs.formats import json_format

from . import actions, audit
from .accounts import Account
from .api import XLSX, attachment
from .auth import NOT_FOUND, check_csrf, portal, require, who
from .lights import LIGHTS, lights
from .sources import source_name
from .templating import environment

STATUS = {"none": "未报送", "refused": "被退回", "ok": "已报送"}


def render(request: Request, template: str, code: int = 200, /, **context: Any) -> HTMLResponse:
    account = who(request)
    return render_as(request, template, code, account, getattr(request.state, "csrf", None) or "",
                     **context)


def render_as(request: Request, template: str, code: int, account: Account | None, csrf: str,
              /, **context: Any) -> HTMLResponse:
    """A page for `account` (None: read nothing of the store, not even who is asking, as the
    crash page must: the store may be what failed)."""
    text = environment().get_template(template).render(
        account=account, csrf=csrf, path=request.url.path, **context)
    return HTMLResponse(text, code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, 303)


# -- 首页 ---------------------------------------------------------------------------------

def _overview(request: Request, account: Account, year: int, day: Any,
              focus: str | None) -> dict[str, Any]:
    """What the 首页 shows, computed in a worker thread."""
    state = portal(request)
    pipeline = state.pipeline
    unit = None if account.office else account.unit
    report = pipeline.report(year, day, unit)
    found = json_format.as_data(report)
    coming = pipeline.upcoming(year, day, state.light_days, unit)
    units = [unit] if unit else report.units
    colours = lights(found, coming, units, day)
    states = audit.submission_states(state.engine, unit)
    loaded = {load.scope_unit for load in pipeline.submissions(unit)}
    table = []
    for key in units:
        outcome = states.get(key, ("ok", None) if key in loaded else ("none", None))
        mine = [f for f in found["findings"] if f["unit"] == key]
        table.append({"unit": key, "name": report.unit_names.get(key, key),
                      "status": outcome[0], "at": outcome[1], "light": colours.get(key, "green"),
                      "errors": sum(f["severity"] == "error" for f in mine),
                      "warnings": sum(f["severity"] == "warning" for f in mine)})
    # The office's page lists the findings of the unit it picks (all at once would be thousands).
    listed = [f for f in found["findings"] if unit or f["unit"] == focus]
    return {"empty": False, "table": table, "findings": listed, "upcoming": coming,
            "names": report.unit_names, "focus": focus if focus in units else None}


# Where each role starts: the administrator's and the auditor's work is not the data.
START = {"admin": "/users", "auditor": "/audit"}


async def home(request: Request) -> Response:
    found = who(request)
    if found is not None and found.role in START:
        return redirect(START[found.role])
    account = require(request)
    year = actions.year_of(request)
    day = actions.day_of(request, year)
    focus = request.query_params.get("unit") if account.office else None
    data = await run_in_threadpool(_overview, request, account, year, day, focus)
    return render(request, "home.html", year=year, day=day, days=portal(request).light_days,
                  STATUS=STATUS, LIGHTS=LIGHTS, **data)


# -- 报送 ---------------------------------------------------------------------------------

def _units(request: Request) -> list[tuple[str, str]]:
    pipeline = portal(request).pipeline
    return [(row["id"], row["name"]) for row in pipeline.rows()["units"]]


async def submit_form(request: Request, outcome: actions.Submitted | None = None,
                      status: int = 200, error: str | None = None) -> Response:
    account = require(request)
    unit = None if account.office else account.unit
    pipeline = portal(request).pipeline
    loads = await run_in_threadpool(pipeline.submissions, unit)
    units = await run_in_threadpool(_units, request) if account.office else []
    groups: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, int] = {}
    uploaded = set(outcome.files) if outcome else set()
    for number, problem in enumerate(outcome.problems if outcome else []):
        path = problem.where.path  # an uploaded file, else a stored record cited (E501)
        heading = path if path in uploaded or path == ELSEWHERE else f"已存的记录（{path}）"
        counts[heading] = counts.get(heading, 0) + 1
        if number < actions.MAX_LISTED:
            groups.setdefault(heading, []).append(actions.problem_data(problem))
    return render(request, "submit.html", status, loads=loads[:20], units=units, outcome=outcome,
                  groups=groups, counts=counts, listed=actions.MAX_LISTED, error=error)


async def submit(request: Request) -> Response:
    account = require(request)
    try:
        form = await actions.read_form(request)
    except actions.TooLarge:
        return await submit_form(request, status=413, error=(
            f"上传的文件共超过 {portal(request).max_upload // 2**20} MB 的上限，未存储任何数据；"
            "请分几次报送，或把大表另存为 CSV"))
    outcome = await actions.submit(request, account, form)
    return await submit_form(request, outcome, 200 if outcome.result else 422)


async def _own_load(request: Request, account: Account) -> Any:
    """The load of the path, if the account may see it (a unit: its own submissions only)."""
    unit = None if account.office else account.unit
    load_id = request.path_params["load"]
    found = await run_in_threadpool(portal(request).pipeline.submissions, unit, load_id) \
        if load_id <= actions.MAX_ID else None
    if not found:  # another unit's, or none: the same answer
        raise HTTPException(404, NOT_FOUND)
    return found[0]


async def submission(request: Request) -> Response:
    account = require(request)
    return render(request, "submission.html", load=await _own_load(request, account))


async def submitted_file(request: Request) -> Response:
    """A file of a submission, byte for byte as it was sent."""
    account = require(request)
    load = await _own_load(request, account)
    position = request.path_params["position"]
    if position >= len(load.files):
        raise HTTPException(404, NOT_FOUND)
    try:
        kept = await run_in_threadpool(portal(request).pipeline.submitted_files, load.id)
    except InputError:  # a load from before files were kept: only its name, size and sha256
        raise HTTPException(404, "这次导入早于保存文件内容的 luoshi 版本，数据库中只有文件名、大小与 "
                                 "SHA-256") from None
    name = source_name(kept[position].path)
    actions.downloaded(request, account, "original", load=load.id, files=name)
    return attachment(name, kept[position].data, "application/octet-stream")


async def template(request: Request) -> Response:
    account = require(request)
    unit = None if account.office else account.unit
    data = await run_in_threadpool(portal(request).pipeline.template, unit)
    actions.downloaded(request, account, "template", unit=unit)
    return attachment(f"报送模板{'（' + unit + '）' if unit else ''}.xlsx", data, XLSX)


# -- 检查 ---------------------------------------------------------------------------------

def _summary(run: sa.Row[Any]) -> dict[str, Any]:
    errors = sum(f["severity"] == "error" for f in run.findings)
    return {"run": run, "errors": errors, "warnings": len(run.findings) - errors,
            "triggers": len(run.triggers)}


async def checks(request: Request) -> Response:
    require(request, "office")
    year = actions.year_of(request)
    runs = await run_in_threadpool(portal(request).pipeline.runs)
    return render(request, "checks.html", runs=[_summary(r) for r in runs[:50]], year=year,
                  day=actions.day_of(request, year), created=request.query_params.get("run"))


async def run_check(request: Request) -> Response:
    account = require(request, "office")
    form = await actions.read_form(request)
    check_csrf(request, form.get("csrf"))
    year = actions.whole_number(str(form.get("year") or ""))
    if year is None or not 2000 <= year <= 2100:
        raise HTTPException(422, "检查年度应为 2000–2100 的年份")
    try:
        day = actions.as_of_date(str(form.get("as_of") or "") or None, year)
    except actions.InputError as error:
        raise HTTPException(422, error.problems[0].message) from None
    run_id = await actions.record_run(request, account, year, day)
    return redirect(f"/checks?run={run_id}")


async def diff(request: Request) -> Response:
    require(request, "office")
    first, second = (actions.whole_number(request.query_params.get(key, "")) for key in "ab")
    if first is None or second is None:
        raise HTTPException(422, "请选择要比较的两次检查")
    older, newer = actions.run_or_404(request, first), actions.run_or_404(request, second)
    changes = portal(request).pipeline.diff(older, newer)
    return render(request, "diff.html", older=older, newer=newer, changes=changes)


# -- 文书、考核 ----------------------------------------------------------------------------

async def notices(request: Request) -> Response:
    account = require(request)
    pipeline = portal(request).pipeline
    runs = await run_in_threadpool(pipeline.runs)
    listed = []
    for recorded in runs[:20]:
        units = pipeline.notice_units(recorded)
        if not account.office:
            units = [unit for unit in units if unit == account.unit]
        if units:
            listed.append({"run": recorded, "units": units})
    names = dict(await run_in_threadpool(_units, request))
    return render(request, "notices.html", listed=listed, names=names)


async def report(request: Request) -> Response:
    require(request, "office")
    runs = await run_in_threadpool(portal(request).pipeline.runs)
    return render(request, "report.html", runs=[_summary(r) for r in runs[:50]])


ROUTES = [
    Route("/", home),
    Route("/submit", submit_form, methods=["GET"]),
    Route("/submit", submit, methods=["POST"]),
    Route("/submissions/{load:int}", submission),
    Route("/submissions/{load:int}/files/{position:int}", submitted_file),
    Route("/template.xlsx", template),
    Route("/checks", checks, methods=["GET"]),
    Route("/checks", run_check, methods=["POST"]),
    Route("/checks/diff", diff),
    Route("/notices", notices),
    Route("/report", report),
]
