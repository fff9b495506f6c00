"""What the portal's tests share: a store with the example city loaded, accounts of every role,
and clients logged in through the real login form."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from luoshi.facts import store
from luoshi.facts.validate import read_facts
from luoshi.web import accounts
from luoshi.web.app import create_app
from luoshi.web.throttle import Throttle

from .conftest import EXAMPLE

PASSWORD = {"office1": "office-pass-1", "caizheng": "Unit-pass-cz", "gonghui": "Unit-pass-gh",
            "admin1": "Admin-pass-1", "auditor1": "Auditor-pass-1"}
UNITS = {"caizheng": "cb-cz", "gonghui": "cb-gh"}
CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def make_store(folder: Path, text: str | None = None, db: str | None = None) -> str:
    """A SQLite store holding the example city (or `text` as facts.yaml), with one account of
    each role (and two unit accounts)."""
    source = folder / "facts.yaml"
    source.write_text(text if text is not None else EXAMPLE.read_text(encoding="utf-8"),
                      encoding="utf-8")
    db = db or f"sqlite:///{folder / 'portal.db'}"
    facts, inputs = read_facts([str(source)])
    store.load(facts, inputs, db)
    engine = store.connect(db)
    for name in ("office1", "admin1", "auditor1"):
        accounts.add_user(engine, name, name[:-1], None, PASSWORD[name])
    for name, unit in UNITS.items():
        accounts.add_user(engine, name, "unit", unit, PASSWORD[name])
    engine.dispose()
    return db


def with_runs(folder: Path, count: int = 1):  # noqa: ANN201 (db, app, office, ids)
    """`make_store`'s store with `count` recorded checks of 2013 (as of 31 December), its app,
    the office logged in, and the runs' ids."""
    db = make_store(folder)
    app = app_for(db)
    office = login(app, "office1")
    ids = []
    for _ in range(count):
        answer = office.post("/api/runs", json={"year": 2013, "as_of": "2013-12-31"},
                             headers={"x-csrf-token": office.csrf})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return db, app, office, ids


@dataclass
class Browser:
    """A TestClient with a session (or none), and the CSRF token its pages carry."""

    client: TestClient
    csrf: str = ""

    def get(self, url: str, **kwargs):  # noqa: ANN201 (httpx's Response)
        return self.client.get(url, **kwargs)

    def post(self, url: str, **kwargs):  # noqa: ANN201
        return self.client.post(url, **kwargs)


def app_for(db: str, **options):  # noqa: ANN201
    return create_app(db, throttle=options.pop("throttle", Throttle()), **options)


def anonymous(app) -> Browser:  # noqa: ANN001
    return Browser(TestClient(app, follow_redirects=False))


def login(app, name: str, password: str | None = None) -> Browser:  # noqa: ANN001
    browser = anonymous(app)
    form = browser.get("/login")
    token = CSRF.search(form.text)[1]
    answer = browser.post("/login", data={"csrf": token, "name": name,
                                          "password": password or PASSWORD[name]})
    assert answer.status_code == 303, answer.text
    home = browser.get("/account")
    browser.csrf = CSRF.search(home.text)[1]
    return browser


@contextlib.contextmanager
def serving(app) -> Iterator[int]:  # noqa: ANN001
    """`app` served by uvicorn (as `luoshi serve` runs it) on a free port of the loopback, in a
    thread; yields the port."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                            log_level="warning", proxy_headers=True))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)
    try:
        yield port
    finally:
        running.should_exit = True
        thread.join(10)


def with_row(workbook: bytes, kind: str, values: dict[str, object]) -> tuple[bytes, str]:
    """A downloaded template with one more record of `kind` (field -> cell value), and where
    that row is (`Sheet!row`)."""
    import io

    import openpyxl

    from luoshi.facts.kinds import KINDS
    from luoshi.facts.template import header_text

    book = openpyxl.load_workbook(io.BytesIO(workbook))
    sheet = book[KINDS[kind].ZH]
    headers = {cell.value: cell.column for cell in sheet[1]}
    row = 3  # the first data row: the next empty one, as a clerk would fill it
    while any(sheet.cell(row=row, column=c).value is not None for c in headers.values()):
        row += 1
    for name, value in values.items():
        sheet.cell(row=row, column=headers[header_text(kind, name)], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), f"{sheet.title}!{row}"
