"""The JSON API (web.md's table): the same rules and the same calls as the pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from luoshi.engine.runtime.run import as_of_date
from luoshi.facts.problems import InputError
from luoshi.facts.store import describe_load

from . import actions
from .auth import NOT_FOUND, check_csrf, own_unit, portal, require
from .security import REPORT_CSP
from .sources import plain_data, plain_load

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(name: str, data: bytes, media_type: str) -> Response:
    """A download under its Chinese name (RFC 6266 filename*), with an ASCII fallback."""
    fallback = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in name)
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
    return Response(data, media_type=media_type, headers={"content-disposition": disposition})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def post_submissions(request: Request) -> Response:
    account = require(request)
    try:
        form = await actions.read_form(request)
    except actions.TooLarge:
        return JSONResponse({"status": "rejected", "message": "上传的文件超过大小上限"}, 413)
    outcome = await actions.submit(request, account, form)
    if outcome.result is None:
        listed = outcome.problems[:actions.MAX_LISTED]
        return JSONResponse({"status": "rejected", "total": outcome.total,
                             "problems": [actions.problem_data(p) for p in listed]}, 422)
    return JSONResponse({"id": outcome.result.load_id, "unit": outcome.unit, "status": "accepted",
                         "counts": outcome.result.counts}, 201)


async def get_submissions(request: Request) -> Response:
    account = require(request)
    unit = None if account.office else account.unit
    loads = await run_in_threadpool(portal(request).pipeline.submissions, unit)
    return JSONResponse([plain_load(describe_load(load)) for load in loads])


async def findings(request: Request) -> Response:
    account = require(request)
    year = actions.year_of(request, required=True)
    day = actions.day_of(request, year)
    unit = None if account.office else account.unit
    data = await run_in_threadpool(portal(request).pipeline.findings, year, day, unit)
    return JSONResponse(plain_data(data))


async def upcoming(request: Request) -> Response:
    account = require(request)
    days = actions.days_of(request)
    year = actions.year_of(request)
    day = actions.day_of(request, year)
    unit = None if account.office else account.unit
    pipeline = portal(request).pipeline
    data = await run_in_threadpool(pipeline.upcoming, year, day, days, unit)
    return JSONResponse(plain_data(data))


async def post_runs(request: Request) -> Response:
    account = require(request, "office")
    check_csrf(request, None)
    try:
        body = json.loads(await actions.read_body(request) or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[…
        raise HTTPException(422, "请求体应为 JSON：{\"year\": 2013, \"as_of\": \"2013-12-31\"}") from None
    if not isinstance(body, dict):
        raise HTTPException(422, "请求体应为 JSON 对象：{\"year\": 2013, \"as_of\": \"2013-12-31\"}")
    unknown = sorted(set(body) - {"year", "as_of"})
    if unknown:  # a misspelt "as_of" must not quietly check as of 31 December
        raise HTTPException(422, f"未知的字段 {unknown[0][:40]!r}，可用的字段：year、as_of")
    year = body.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise HTTPException(422, "year 应为 2000–2100 的年份")
    as_of = body.get("as_of")
    if as_of is not None and not isinstance(as_of, str):  # 2013 is not a day: refused, not 31 December
        raise HTTPException(422, "as_of 应为日期文本，如 \"2013-12-31\"（加引号；省略则为该年 12 月 31 日），"
                                 f"而不是 {json.dumps(as_of, ensure_ascii=False)[:40]}")
    try:
        day = as_of_date(as_of, year)
    except InputError as error:
        raise HTTPException(422, error.problems[0].message) from None
    run_id = await actions.record_run(request, account, year, day)
    recorded = actions.run_or_404(request, run_id)
    return JSONResponse(run_data(recorded), 201)


def run_data(recorded: Any) -> dict[str, Any]:
    errors = sum(f["severity"] == "error" for f in recorded.findings)
    created = recorded.created_at if recorded.created_at.tzinfo else \
        recorded.created_at.replace(tzinfo=dt.UTC)
    return {"id": recorded.id, "created_at": created.isoformat(), "year": recorded.year,
            "as_of": recorded.as_of.isoformat(), "tool_version": recorded.tool_version,
            "inputs_sha256": recorded.inputs_sha256, "policies_sha256": recorded.policies_sha256,
            "load_id": recorded.load_id, "params": recorded.params, "waivers": recorded.waivers,
            "summary": {"errors": errors, "warnings": len(recorded.findings) - errors,
                        "triggers": len(recorded.triggers)},
            "findings": plain_data(recorded.findings), "triggers": plain_data(recorded.triggers)}


async def get_run(request: Request) -> Response:
    require(request, "office")
    return JSONResponse(run_data(actions.run_or_404(request, request.path_params["run"])))


async def notice(request: Request) -> Response:
    account = require(request)
    unit = own_unit(account, request.path_params["unit"])  # before anything is read
    recorded = actions.run_or_404(request, request.path_params["run"])
    found = await run_in_threadpool(portal(request).pipeline.notice, recorded, unit)
    if found is None:
        raise HTTPException(404, NOT_FOUND)
    actions.downloaded(request, account, "notice", run=recorded.id, unit=unit)
    name, data = found
    return attachment(name, data, DOCX)


async def report_html(request: Request) -> Response:
    account = require(request, "office")
    recorded = actions.run_or_404(request, request.path_params["run"])
    text = await run_in_threadpool(portal(request).pipeline.report_html, recorded)
    actions.downloaded(request, account, "report.html", run=recorded.id)
    return Response(text, media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": REPORT_CSP})


async def report_xlsx(request: Request) -> Response:
    account = require(request, "office")
    recorded = actions.run_or_404(request, request.path_params["run"])
    data = await run_in_threadpool(portal(request).pipeline.report_xlsx, recorded)
    actions.downloaded(request, account, "report.xlsx", run=recorded.id)
    return attachment(f"{recorded.year}年度考核评估（检查{recorded.id}）.xlsx", data, XLSX)


ROUTES = [
    Route("/healthz", healthz),
    Route("/api/submissions", post_submissions, methods=["POST"]),
    Route("/api/submissions", get_submissions, methods=["GET"]),
    Route("/api/findings", findings),
    Route("/api/upcoming", upcoming),
    Route("/api/runs", post_runs, methods=["POST"]),
    Route("/api/runs/{run:int}", get_run),
    Route("/api/runs/{run:int}/notices/{unit}", notice),
    Route("/api/runs/{run:int}/report.html", report_html),
    Route("/api/runs/{run:int}/report.xlsx", report_xlsx),
]
