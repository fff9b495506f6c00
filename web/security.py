"""What protects every response and request: security headers, the limit on a body, upload
limits and cleaned file names (the throttle on failed logins is web/throttle.py)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath
from typing import Any

from starlette.exceptions import HTTPException

# No source but the server itself; no frame may hold a page (clickjacking); forms post only here.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# The appraisal report is one self-contained HTML file (its style inline): no script at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` with the headers above, a CSP unless one is set, and no-store unless a
    cache policy is."""
    names = {k.decode().lower() for k, _ in headers}
    added = [(name.encode(), value.encode()) for name, value in HEADERS.items()]
    if "content-security-policy" not in names:
        added.append((b"content-security-policy", CSP.encode()))
    if "cache-control" not in names:
        added.append((b"cache-control", b"no-store"))
    return [*headers, *added]


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, a CSP unless the handler set
    its own, and no caching of anything but the style sheet (pages hold a unit's data)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secured(list(message.get("headers", [])))}
            await send(message)

        await self.app(scope, receive, with_headers)


class TooLarge(HTTPException):
    """The request's body is past the portal's limit: 413 wherever it is not caught."""

    def __init__(self) -> None:
        super().__init__(413, "请求的内容超过大小上限，未存储任何数据")


class BodyLimit:
    """ASGI middleware: no handler reads more than `limit` bytes of a request's body, or the
    larger limit of its path in `larger` (the uploads'). Past it, reading raises `TooLarge`
    (413) before another byte is taken: at the first read if the Content-Length says so, else
    as soon as the bytes received pass it (a chunked upload). A body nobody reads (a request
    refused for its login first) is not read at all."""

    def __init__(self, app: Any, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.limit, self.larger = app, limit, larger or {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        received = 0

        async def limited() -> dict:
            nonlocal received
            if declared.isdigit() and int(declared) > limit:
                raise TooLarge()
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge()
            return message

        await self.app(scope, limited, send)


# What Windows cannot name a file with; control characters (C0, DEL, C1), line and paragraph
# separators (they break a line in a log or a list), and the bidirectional controls, with which
# "报送\u202exslx.yaml" shows as "报送lmay.xlsx" in a page, a list or a terminal.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f<>:\"|?*\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069\ufeff\ud800-\udfff]")


def clean_name(name: str | None, taken: set[str]) -> str:
    """An uploaded file's name as it is shown and stored: its last part only (no folder, so no
    `../`), without control, separator or bidirectional characters (`_UNSAFE`), at most 100
    characters, and unique in its submission."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .") or "上传文件"
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100 - len(suffix) - 1] if suffix else base[:100]
    cleaned = f"{stem}.{suffix}" if suffix else stem
    number = 2
    candidate = cleaned
    while candidate in taken:
        candidate = f"{stem}（{number}）" + (f".{suffix}" if suffix else "")
        number += 1
    taken.add(candidate)
    return candidate


def unpacked_size(data: bytes) -> int:
    """How many bytes a file becomes when read: a zip archive (a workbook) its members' sizes
    as its central directory declares them (zipfile never inflates a member past its declared
    size, so they bound what reading takes; nothing is inflated here), any other file itself."""
    if not data.startswith(b"PK"):
        return len(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return max(len(data), sum(member.file_size for member in archive.infolist()))
    except (zipfile.BadZipFile, OSError, ValueError):
        return len(data)  # not an archive after all: the reader reports the damage


def past_unpacked_limit(files: list[tuple[str, bytes]], limit: int) -> tuple[str, str] | None:
    """The file with which a submission's files would together unpack past `limit` bytes, and
    why, before any is read; else None. Each workbook is within its own cap (E107), yet a batch
    of them inside the request's size could still take gigabytes."""
    total = 0
    for name, data in files:
        total += unpacked_size(data)
        if total > limit:
            mb = 2**20
            return name, (f"这次报送的文件解压后共超过 {limit // mb} MB 的上限（加上本文件后已有 "
                          f"{total / mb:,.0f} MB）：没有读取任何文件；请分几次报送")
    return None
