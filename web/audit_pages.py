"""审计日志, the auditor's page: every entry, newest first, a page at a time, filtered by account,
unit, action and days; the same entries as CSV or JSON. Each reading is itself an entry."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import actions, audit
from .api import attachment
from .auth import NOT_FOUND, address, portal, require
from .pages import render

PAGE_SIZE = 100


def _filter(request: Request) -> audit.Filter:
    query = request.query_params
    days = {}
    for key, label in (("since", "起始日期"), ("until", "截止日期")):
        text = query.get(key, "").strip()
        try:
            days[key] = dt.date.fromisoformat(text) if text else None
        except ValueError:
            raise HTTPException(422, f"{label}应为日期，如 2026-12-01，而不是 {text[:20]!r}") from None
    action = query.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        raise HTTPException(422, f"未知的操作 {action[:40]!r}")
    return audit.Filter(query.get("user", "").strip()[:64] or None,
                        query.get("unit", "").strip()[:200] or None, action, **days)


async def audit_log(request: Request) -> Response:
    account = require(request, "auditor")
    chosen = _filter(request)
    engine = portal(request).engine
    total = await run_in_threadpool(audit.count, engine, chosen)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(actions.whole_number(request.query_params.get("page", "1")) or 1, pages)
    found = await run_in_threadpool(audit.entries, engine, chosen, (page - 1) * PAGE_SIZE,
                                    PAGE_SIZE)
    audit.write(engine, "audit", who=account, address=address(request),
                filters=chosen.described(), format="page", rows=len(found))
    query = {key: value for key, value in request.query_params.items()
             if key in ("user", "unit", "action", "since", "until") and value}
    return render(request, "audit.html", entries=found, total=total, page=page, pages=pages,
                  size=PAGE_SIZE, chosen=chosen, query=urlencode(query))


async def audit_export(request: Request) -> Response:
    account = require(request, "auditor")
    kind = request.path_params["format"]
    if kind not in ("csv", "json"):
        raise HTTPException(404, NOT_FOUND)
    chosen = _filter(request)
    engine = portal(request).engine
    found = await run_in_threadpool(audit.entries, engine, chosen)
    audit.write(engine, "audit", who=account, address=address(request),
                filters=chosen.described(), format=kind, rows=len(found))
    if kind == "csv":
        return attachment("审计日志.csv", audit.csv_text(found).encode(), "text/csv; charset=utf-8")
    text = json.dumps([audit.plain(entry) for entry in found], ensure_ascii=False, indent=1)
    return attachment("审计日志.json", text.encode(), "application/json")


ROUTES = [
    Route("/audit", audit_log, methods=["GET"]),
    Route("/audit.{format:str}", audit_export, methods=["GET"]),
]
