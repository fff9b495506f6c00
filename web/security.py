"""What protects every response and request: security headers, the limit on a body, upload
limits, cleaned file names, and the throttle on failed logins."""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from collections import defaultdict, deque
from dataclasses import dataclass, field
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


@dataclass
class Refusals:
    """The attempts refused while one account name or address (`key`) was throttled, within
    one window from the first: the audit log keeps one row for them (`row`, once written) with
    their count, not one per attempt, so a script cannot flood it. `names` and `addresses`:
    those tried, the first few."""

    key: str
    started: float
    count: int = 0
    names: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    row: int | None = None

    SHOWN = 10  # names or addresses kept (a script may try thousands)

    def add(self, name: str, address: str | None) -> None:
        self.count += 1
        for seen, value in ((self.names, name), (self.addresses, address)):
            if value is not None and value not in seen and len(seen) < self.SHOWN:
                seen.append(value)


class Throttle:
    """Failed logins per account name (`limit`) and per address (`address_limit`, higher: many
    clerks may share one address behind a NAT) within `window` seconds; past either, further
    attempts are refused until the oldest failure ages out (a guess every few minutes makes
    guessing a password hopeless; the right user waits at most `window`)."""

    def __init__(self, limit: int = 5, window: float = 900.0,
                 address_limit: int | None = None) -> None:
        self.limit, self.window = limit, window
        self.address_limit = address_limit or limit * 4
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.refusals: dict[str, Refusals] = {}
        self.lock = threading.Lock()

    def _recent(self, key: str, moment: float) -> deque[float]:
        """The failures of `key` within the window; a key with none is dropped (looking a name
        up must not keep an entry for it: refused guesses under new names would fill memory)."""
        times = self.failures.get(key, deque())
        while times and times[0] <= moment - self.window:
            times.popleft()
        if not times:
            self.failures.pop(key, None)
        return times

    def _waits(self, name: str, address: str | None, moment: float) -> tuple[int, str]:
        """Seconds to wait, and the key (name or address) that makes it longest."""
        waits = [(0, f"name:{name}")]
        for key, limit in ((f"name:{name}", self.limit), (f"address:{address}", self.address_limit)):
            times = self._recent(key, moment)
            if len(times) >= limit:
                waits.append((int(times[-limit] + self.window - moment) + 1, key))
        return max(waits)

    def blocked(self, name: str, address: str | None) -> int:
        """Seconds to wait before another attempt (0: none)."""
        with self.lock:
            return self._waits(name, address, time.monotonic())[0]

    def attempt(self, name: str, address: str | None) -> int:
        """Seconds to wait (0: go ahead). An attempt let through counts as a failure at once,
        in the same lock as the check: guesses sent together cannot all pass before the first
        has failed (a password takes a worker thread a while to verify). `succeeded` takes it
        back."""
        moment = time.monotonic()
        with self.lock:
            wait = self._waits(name, address, moment)[0]
            if not wait:
                for key in (f"name:{name}", f"address:{address}"):
                    self.failures[key].append(moment)
        return wait

    def refused(self, name: str, address: str | None) -> Refusals:
        """A refused attempt counted in the refusals of the name or address that throttles it
        (a new window of them once the last has passed; passed ones are forgotten then)."""
        moment = time.monotonic()
        with self.lock:
            key = self._waits(name, address, moment)[1]
            refusals = self.refusals.get(key)
            if refusals is None or moment >= refusals.started + self.window:
                self.refusals = {k: r for k, r in self.refusals.items()
                                 if moment < r.started + self.window}
                refusals = self.refusals[key] = Refusals(key, moment)
            refusals.add(name, address)
            return refusals

    def failed(self, name: str, address: str | None) -> None:
        moment = time.monotonic()
        with self.lock:
            for key in (f"name:{name}", f"address:{address}"):
                self._recent(key, moment)
                self.failures[key].append(moment)

    def succeeded(self, name: str, address: str | None = None) -> None:
        """The name's failures are forgotten, and the address's count loses the attempt that
        succeeded (`attempt` counted it)."""
        with self.lock:
            self.failures.pop(f"name:{name}", None)
            times = self.failures.get(f"address:{address}")
            if times:
                times.pop()
