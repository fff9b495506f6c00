"""The portal's ASGI application (`luoshi serve`): Starlette routes, Jinja2 pages, the store.

Starlette rather than FastAPI: the portal is mostly server-rendered pages and a dozen JSON
routes with hand-written rules (authorisation scoped per unit, CSRF, size limits), so FastAPI's
generated OpenAPI schema and validation layer would add a dependency tree without replacing any
of them; Starlette is the small core FastAPI itself is built on (docs/web.md)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from itsdangerous import TimestampSigner
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from luoshi.engine.errors import EngineError
from luoshi.facts import store
from luoshi.facts.problems import InputError, StoreError

from . import accounts, api, incidents, pages
from .auth import NOT_FOUND, Portal
from .pipeline import Pipeline
from .security import SecurityHeaders, Throttle, secured

MAX_UPLOAD = 20 * 2**20  # bytes of one submission's request
# Bytes all files of one submission may unpack to (workbooks are zip archives): above one
# workbook's own cap (192 MB, E107), below what a 2-core, few-GB server reads at once.
MAX_UNPACKED = 256 * 2**20
LIGHT_DAYS = 7


def create_app(db: str | None = None, config: str | None = None, *,
               max_upload: int = MAX_UPLOAD, light_days: int = LIGHT_DAYS,
               secure_cookies: bool = False, throttle: Throttle | None = None,
               max_unpacked: int = MAX_UNPACKED) -> Starlette:
    """The portal over store `db` (migrated here), with the policies and settings of `config`
    (default ./luoshi.toml, if any)."""
    engine = store.connect(db)
    try:  # the portal writes every sign-in, submission and audit entry: refused at start
        store.migrate(engine)
        store.refuse_read_only(engine)
        key = os.environ.get("LUOSHI_SECRET_KEY") or accounts.signing_key(engine)
    except SQLAlchemyError as error:
        raise StoreError(f"{store.describe_error(error, engine)}。门户要写入登录、报送与审计记录，"
                         "不能在只读的数据库上启动") from None
    state = Portal(engine, Pipeline.start(db, config), TimestampSigner(key, salt="luoshi-session"),
                   throttle or Throttle(), max_upload, light_days, secure_cookies, max_unpacked)
    static = StaticFiles(directory=Path(__file__).parent / "static")
    app = Starlette(routes=[*api.ROUTES, *pages.ROUTES, Mount("/static", static, name="static")],
                    exception_handlers={HTTPException: _error, InputError: _failed,  # type: ignore[dict-item]
                                        StoreError: _failed, EngineError: _failed,
                                        Exception: _crashed})
    app.state.portal = state
    app.add_middleware(SecurityHeaders)
    return app


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


async def _error(request: Request, error: HTTPException) -> Response:
    """JSON for the API, a page for a person; a page that needs a login sends one there.
    The error's headers (405's Allow) are kept."""
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
