"""The portal's ASGI application (`luoshi serve`): Starlette routes, Jinja2 pages, the store.

Starlette rather than FastAPI: the portal is mostly server-rendered pages and a dozen JSON
routes with hand-written rules (authorisation scoped per unit, CSRF, size limits), so FastAPI's
generated OpenAPI schema and validation layer would add a dependency tree without replacing any
of them; Starlette is the small core FastAPI itself is built on (docs/web.md)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from itsdangerous import TimestampSigner
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from luoshi.engine.errors import EngineError
from luoshi.facts import store
from luoshi.facts.database import ReadOnly
from luoshi.facts.problems import InputError, StoreError

from . import account_pages, accounts, api, audit, audit_pages, incidents, pages
from .auth import NOT_FOUND, Portal
from .pipeline import Pipeline
from .security import BodyLimit, SecurityHeaders, secured
from .throttle import Throttle

MAX_UPLOAD = 20 * 2**20  # bytes of one submission's request
UPLOADS = ("/api/submissions", "/submit")  # the requests that carry files
# Bytes of any other request's body (a login, a form, a check's JSON: a few hundred are sent):
# no one, logged in or not, makes the server take in 20 MB with a login form.
MAX_FORM = 64 * 2**10
# Bytes all files of one submission may unpack to (workbooks are zip archives): above one
# workbook's own cap (192 MB, E107), below what a 2-core, few-GB server reads at once.
MAX_UNPACKED = 256 * 2**20
# Records one submission may hold (`luoshi serve --max-records`): what reading and checking an
# upload holds grows with its records, and 20 MB of short CSV rows are a million of them (a
# refused one held 3 GB). A unit sends tens to hundreds; a city of 700 units has 28,000 in all.
MAX_RECORDS = 50_000
LIGHT_DAYS = 7
PRUNE_SECONDS = 24 * 3600


def create_app(db: str | None = None, config: str | None = None, *,
               max_upload: int = MAX_UPLOAD, light_days: int = LIGHT_DAYS,
               secure_cookies: bool = False, throttle: Throttle | None = None,
               max_unpacked: int = MAX_UNPACKED, max_records: int = MAX_RECORDS) -> Starlette:
    """The portal over store `db` (migrated here), with the policies and settings of `config`
    (default ./luoshi.toml, if any)."""
    engine = store.connect(db)
    try:  # the portal writes every sign-in, submission and audit entry: refused at start
        store.migrate(engine)
        store.refuse_read_only(engine)
        key = os.environ.get("LUOSHI_SECRET_KEY") or accounts.signing_key(engine)
    except (SQLAlchemyError, ReadOnly) as error:
        said = f"数据库 {error.url} 只能读取，不能写入（{error.why}）" if isinstance(error, ReadOnly) \
            else store.describe_error(error, engine)
        raise StoreError(f"{said}。门户要写入登录、报送与审计记录，不能在只读的数据库上启动") from None
    pipeline = Pipeline.start(db, config)
    rules = pipeline.settings.accounts
    state = Portal(engine, pipeline, TimestampSigner(key, salt="luoshi-session"),
                   throttle or Throttle.of(rules), max_upload, light_days, secure_cookies,
                   max_unpacked, rules, max_records)
    audit.prune(engine, pipeline.settings.audit_days)
    static = StaticFiles(directory=Path(__file__).parent / "static")
    routes = [*api.ROUTES, *pages.ROUTES, *account_pages.ROUTES, *audit_pages.ROUTES,
              Mount("/static", static, name="static")]
    app = Starlette(routes=routes, lifespan=_pruning(engine, pipeline.settings.audit_days),
                    exception_handlers={HTTPException: _error, InputError: _failed,  # type: ignore[dict-item]
                                        StoreError: _failed, EngineError: _failed,
                                        Exception: _crashed})
    app.state.portal = state
    app.add_middleware(BodyLimit, limit=min(MAX_FORM, max_upload),
                       larger=dict.fromkeys(UPLOADS, max_upload))
    app.add_middleware(SecurityHeaders)
    return app


def _pruning(engine: Any, days: int) -> Any:
    """While the portal runs, the audit log is pruned once a day (and at start, above)."""
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def daily() -> None:
            while True:
                await anyio.sleep(PRUNE_SECONDS)
                try:
                    await run_in_threadpool(audit.prune, engine, days)
                except Exception as error:  # noqa: BLE001 - tomorrow's pruning tries again
                    incidents.reported(error, "清理审计日志")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(daily)
            yield
            tasks.cancel_scope.cancel()

    return lifespan


def _api(request: Request) -> bool:
    """Answer in JSON: a script's request, not a person's link to a download (a browser asks
    for text/html first)."""
    if not request.url.path.startswith(("/api/", "/healthz")):
        return False
    return not request.headers.get("accept", "").startswith("text/html")


# Chinese for every status the portal can answer with: Starlette's own answers carry English
# text (the router's "Not Found" and "Method Not Allowed", the multipart parser's messages).
STATUS_MESSAGES = {
    400: "请求的格式不正确，无法处理",
    401: "请先登录",
    403: "无权访问",
    404: NOT_FOUND,
    405: "此地址不能这样访问（{method} 请求）：请用页面上的按钮或链接操作",
    409: "当前数据无法完成这项操作",
    413: "请求的内容超过大小上限，未存储任何数据",
    422: "请求的内容不正确",
    429: "请求过于频繁，请稍后再试",
    500: incidents.CRASH,
    503: "服务暂时不可用，请稍后再试",
}
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def message_of(request: Request, error: HTTPException) -> str:
    """The error's own sentence when it is Chinese (the portal's), else the status's."""
    if _CHINESE.search(error.detail or ""):
        return error.detail
    text = STATUS_MESSAGES.get(error.status_code, "请求无法完成（HTTP {code}）")
    return text.format(method=request.method, code=error.status_code)


def allowed(request: Request) -> str:
    """Every method the request's path takes: a path is served by one route per method
    (GET /login, POST /login), and Starlette's router names only the first route's."""
    methods = {"OPTIONS"}
    for route in request.app.routes:
        if isinstance(route, Route) and route.path_regex.match(request.url.path):
            methods.update(route.methods or ())
        elif isinstance(route, Mount) and request.url.path.startswith(route.path + "/"):
            methods.update(("GET", "HEAD"))  # the style sheet
    order = ("GET", "HEAD", "POST", "OPTIONS")
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else 9, m)))


async def _error(request: Request, error: HTTPException) -> Response:
    """JSON for the API, a page for a person; a page that needs a login sends one there.
    A 405 names every method the path takes (Allow), and OPTIONS is answered with them."""
    if error.status_code == 405:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"allow": allowed(request)})
        error = HTTPException(405, error.detail, {**(error.headers or {}), "allow": allowed(request)})
    message = message_of(request, error)
    headers = dict(error.headers or {})
    if _api(request):
        if error.status_code == 401:
            headers["www-authenticate"] = "Bearer"
        return JSONResponse({"detail": message}, error.status_code, headers=headers)
    if error.status_code == 401:
        return RedirectResponse("/login", 303)
    response = pages.render(request, "error.html", error.status_code, status=error.status_code,
                            message=message)
    response.headers.update(headers)
    return response


async def _failed(request: Request, error: Exception) -> Response:
    """What the pipeline could not do (an unreachable database, a damaged stored record, the
    engine): a Chinese sentence and a reference, the error itself only in the server's log."""
    message, _ = incidents.reported(error, f"{request.method} {request.url.path}")
    return await _error(request, HTTPException(503 if isinstance(error, StoreError) else 500,
                                               message))


async def _crashed(request: Request, error: Exception) -> Response:
    """An error nobody foresaw: one Chinese sentence and a reference, the traceback only in the
    server's log (uvicorn writes it right after the reference). Starlette sends this answer
    outside every middleware, so it gets its security headers here; it reads nothing (not even
    who is asking), for the store may be what failed."""
    message, _ = incidents.reported(error, f"{request.method} {request.url.path}，调用栈见下一条")
    code = 503 if incidents.sentence_of(error) == incidents.DATABASE else 500
    if _api(request):
        response: Response = JSONResponse({"detail": message}, code)
    else:
        response = pages.render_as(request, "error.html", code, None, "", status=code,
                                   message=message)
    response.raw_headers = secured(response.raw_headers)
    return response
