"""The red team's findings against the portal: each test is an attack that once worked."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import zipfile

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from luoshi.facts import store
from luoshi.web import audit
from luoshi.web.auth import COOKIE
from luoshi.web.security import unpacked_size
from luoshi.web.throttle import Throttle

from .portal import CSRF, PASSWORD, app_for, login, make_store, with_runs


def test_concurrent_guesses_cannot_outrun_the_throttle(tmp_path):
    """Thirty guesses sent at once all passed the check before the first had failed (the
    password is verified in a worker thread): the limit of 5 let 30 through."""
    app = app_for(make_store(tmp_path), throttle=Throttle(limit=5, window=600))

    async def guesses() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            page = await client.get("/login")
        token, cookies = CSRF.search(page.text)[1], dict(page.cookies)

        async def guess(number: int) -> int:  # each its own client: one form, one cookie
            async with httpx.AsyncClient(transport=transport, base_url="http://portal",
                                         cookies=cookies) as client:
                answer = await client.post("/login", data={
                    "csrf": token, "name": "caizheng", "password": f"guess-{number}"})
            return answer.status_code

        return list(await asyncio.gather(*(guess(number) for number in range(30))))

    codes = asyncio.run(guesses())
    assert codes.count(401) == 5 and codes.count(429) == 25


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    app = app_for(make_store(tmp_path_factory.mktemp("redteam")), max_upload=4096)
    office, unit, admin = login(app, "office1"), login(app, "caizheng"), login(app, "admin1")
    for browser in (office, unit, admin):  # answers, not exceptions, as a server gives them
        browser.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                                    cookies=browser.client.cookies)
    return {"app": app, "office": office, "unit": unit, "admin": admin}


def _sound(answer) -> None:  # noqa: ANN001 (httpx's Response)
    assert answer.status_code < 500, (answer.status_code, answer.text[:200])
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


# "²".isdigit() is true but int("²") raises; an id past 2**63 overflows the database's integer.
@pytest.mark.parametrize("url", ["/?year=²", "/api/findings?year=²", "/api/upcoming?days=²",
                                 "/checks/diff?a=²&b=1", "/submissions/99999999999999999999"])
@pytest.mark.parametrize("role", ["office", "unit"])
def test_odd_numbers_in_a_url_are_refused_not_a_crash(portal, url, role):
    _sound(portal[role].get(url))


def test_an_odd_year_in_the_check_form_is_refused_not_a_crash(portal):
    office = portal["office"]
    _sound(office.post("/checks", data={"csrf": office.csrf, "year": "２⁰¹³"}))


def test_a_deeply_nested_run_request_is_refused_not_a_crash(portal):
    office = portal["office"]
    _sound(office.post("/api/runs", content=b"[" * 100_000, headers={"x-csrf-token": office.csrf}))


@pytest.mark.parametrize("role, url", [
    ("office", "/logout"), ("office", "/checks"), ("admin", "/users/gonghui/disable"),
    ("admin", "/users"), ("office", "/api/runs"), ("office", "/account/password"),
    ("office", "/account/totp")])
def test_an_oversized_body_is_413_on_every_form(portal, role, url):
    browser = portal[role]
    answer = browser.post(url, content=b"csrf=" + b"x" * 8192, headers={
        "content-type": "application/x-www-form-urlencoded", "x-csrf-token": browser.csrf})
    _sound(answer)
    assert answer.status_code == 413


def test_an_unforeseen_error_is_a_chinese_answer_with_the_security_headers(portal, monkeypatch):
    """Starlette answers an exception no handler expects outside every middleware: a bare
    "Internal Server Error" without nosniff, CSP or frame-ancestors."""
    from luoshi.web.pipeline import Pipeline

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("/srv/luoshi/secret/path.py: something nobody foresaw")

    monkeypatch.setattr(Pipeline, "submissions", broken)
    for url in ("/submit", "/api/submissions"):
        answer = portal["office"].get(url)
        assert answer.status_code == 500
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert "服务器内部错误" in answer.text and "/srv/" not in answer.text


def test_a_unit_code_is_url_encoded_in_its_notice_link(tmp_path):
    """A unit code is data: in a link's path it was written raw, so `#`, `?` or a space in it
    cut or redirected the link (autoescaping makes it safe HTML, not a safe URL)."""
    from .conftest import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8").replace("cb-wj", "cb wj?#1")
    app = app_for(make_store(tmp_path, text))
    office = login(app, "office1")
    office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    page = office.get("/notices").text
    assert "/notices/cb%20wj%3F%231\"" in page and "/notices/cb wj" not in page
    link = page.split("/notices/cb%20wj%3F%231")[0].rsplit('href="', 1)[1] + "/notices/cb%20wj%3F%231"
    answer = office.get(link)
    assert answer.status_code == 200 and answer.content.startswith(b"PK")


def test_cookies_over_https_are_secure_without_a_flag(tmp_path):
    """deploy/luoshi.service runs the portal behind nginx's TLS without --secure-cookies, so
    the session cookie lacked Secure: a browser then sends it in clear to port 80 (nginx's
    redirect to HTTPS) whenever someone types http://. A request that came over HTTPS (as the
    proxy tells, X-Forwarded-Proto) now always gets Secure cookies."""
    app = app_for(make_store(tmp_path))  # secure_cookies=False, the default
    client = TestClient(app, base_url="https://portal.example", follow_redirects=False)
    page = client.get("/login")
    login_cookie = page.headers["set-cookie"]
    answer = client.post("/login", data={"csrf": CSRF.search(page.text)[1], "name": "office1",
                                         "password": PASSWORD["office1"]})
    session = next(v for k, v in answer.headers.multi_items()
                   if k == "set-cookie" and v.startswith(COOKIE))
    assert "Secure" in login_cookie and "Secure" in session


def test_refused_guesses_under_new_names_take_no_room(tmp_path):
    """Checking a name made an entry for it even when the address was already blocked: cheap
    refused logins, each under a new name, grew the server's memory (now: the store) without
    bound. A refused attempt takes its rows back."""
    from luoshi.facts.tables import LOGIN_FAILURES

    engine = store.connect(f"sqlite:///{tmp_path / 'throttle.db'}")
    store.migrate(engine)
    throttle = Throttle(limit=5, window=600, address_limit=3)
    for number in range(3):
        assert throttle.attempt(engine, f"guess{number}", "10.0.0.9")[0] == 0
    for number in range(200):
        assert throttle.attempt(engine, f"name{number}", "10.0.0.9")[0] > 0
    with engine.connect() as connection:
        keys = connection.execute(sa.select(LOGIN_FAILURES.c.key)).scalars().all()
    assert sorted(keys) == ["address:10.0.0.9"] * 3 + ["name:guess0", "name:guess1", "name:guess2"]


# -- The second pass -------------------------------------------------------------------------

_ENGLISH = ("Not Found", "Method Not Allowed", "Bad Request", "Internal Server Error",
            "Too many", "multipart", "Missing boundary")


def _chinese_page(answer, status: int) -> None:  # noqa: ANN001
    assert answer.status_code == status
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in answer.text and '<section class="card narrow">' in answer.text
    assert not any(text in answer.text for text in _ENGLISH), answer.text[:300]


def _chinese_json(answer, status: int) -> None:  # noqa: ANN001
    assert answer.status_code == status
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    detail = answer.json()["detail"]
    assert re.search(r"[\u4e00-\u9fff]", detail) and not any(t in detail for t in _ENGLISH), detail


@pytest.mark.parametrize("role", ["office", "unit", "anonymous"])
def test_unknown_paths_and_wrong_methods_answer_in_chinese(portal, role):
    """Starlette's router answered an unknown path with "Not Found" and a wrong method with
    "Method Not Allowed", in pages and in the API's JSON alike."""
    client = portal[role].client if role != "anonymous" else TestClient(
        portal["app"], raise_server_exceptions=False, follow_redirects=False)
    _chinese_page(client.get("/no/such/page"), 404)
    _chinese_page(client.get("/static/no-such.css"), 404)
    _chinese_json(client.get("/api/no-such-thing"), 404)
    _chinese_json(client.get("/api/runs/abc"), 404)
    wrong = client.get("/logout")
    _chinese_page(wrong, 405)
    assert wrong.headers["allow"] == "POST, OPTIONS"
    _chinese_page(client.delete("/checks"), 405)
    _chinese_json(client.put("/api/runs"), 405)
    _chinese_json(client.delete("/api/submissions"), 405)


@pytest.mark.parametrize("body", [b"--x\r\nnot a part", b""])
def test_a_broken_multipart_form_answers_in_chinese(portal, body):
    """The multipart parser's refusals ("Missing boundary in multipart.", "Too many files...")
    reached the user as they were."""
    office = portal["office"]
    headers = {"content-type": "multipart/form-data", "x-csrf-token": office.csrf}
    _chinese_page(office.post("/submit", content=body, headers=headers), 400)
    _chinese_json(office.post("/api/submissions", content=body, headers=headers), 400)


def test_too_many_files_are_refused_in_chinese(tmp_path):
    office = login(app_for(make_store(tmp_path)), "office1")
    files = [("files", (f"f{number}.csv", b"a\n")) for number in range(51)]
    answer = office.post("/api/submissions", files=files, headers={"x-csrf-token": office.csrf})
    _chinese_json(answer, 400)
    assert "50 个文件" in answer.json()["detail"]


def test_the_crash_page_is_the_portals_error_page(portal, monkeypatch):
    """A person met a crash as bare text; now it is the portal's Chinese error page."""
    from luoshi.web.pipeline import Pipeline

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(Pipeline, "submissions", broken)
    _chinese_page(portal["unit"].get("/submit"), 500)


def _thin_workbook(inflated: int) -> bytes:
    """A "workbook" whose sheet inflates from a few KB to `inflated` bytes: below every cap of
    one workbook (192 MB, and no 200-fold part above 8 MB)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * inflated)
    return data.getvalue()


def test_many_workbooks_cannot_unpack_past_the_total_cap_together(tmp_path, monkeypatch):
    """Each workbook was checked alone: forty of 7.5 MB each (a few KB on the wire) passed the
    request's 20 MB and every workbook's cap, then were inflated one by one, 300 MB together.
    Now the declared sizes are added up before any file is read."""
    from luoshi.web import pipeline

    db = make_store(tmp_path)
    unit = login(app_for(db), "caizheng")  # the default cap, 256 MB
    before = len(store.submissions(db))
    files = [("files", (f"第{number:02}批.xlsx", _thin_workbook(7_500_000)))
             for number in range(1, 41)]
    assert sum(len(content) for _, (_, content) in files) < 2**20

    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a file was read")

    monkeypatch.setattr(pipeline, "read_uploads", never)
    answer = unit.post("/api/submissions", files=files, headers={"x-csrf-token": unit.csrf})
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["code"] == "E107" and problem["path"] == "第36批.xlsx"  # 36 × 7.5 > 256 MB
    assert "256 MB" in problem["message"] and "分几次报送" in problem["message"]
    page = unit.post("/submit", data={"csrf": unit.csrf}, files=files)
    assert page.status_code == 422 and "第36批.xlsx" in page.text and "256 MB" in page.text
    assert len(store.submissions(db)) == before
    entry = audit.entries(store.connect(db), limit=1)[0]
    assert (entry.action, entry.outcome, entry.detail["problems"]) == ("submission", "refused", 1)


def test_the_total_cap_is_a_setting_and_counts_plain_files_too(tmp_path):
    db = make_store(tmp_path)
    unit = login(app_for(db, max_unpacked=3 * 2**20), "caizheng")
    workbook = unit.get("/template.xlsx").content
    assert unpacked_size(workbook) > len(workbook)
    headers = {"x-csrf-token": unit.csrf}
    answer = unit.post("/api/submissions", headers=headers, files=[
        ("files", ("a.xlsx", workbook)), ("files", ("b.csv", b"#" * (3 * 2**20)))])
    assert answer.json()["problems"][0]["path"] == "b.csv"
    assert unit.post("/api/submissions", headers=headers,
                     files=[("files", ("a.xlsx", workbook))]).status_code == 201


def test_the_unpacked_size_is_read_from_the_directory_not_by_inflating():
    bomb = _thin_workbook(50 * 2**20)
    assert unpacked_size(bomb) == 50 * 2**20 + len("<Types/>")
    assert unpacked_size(b"PK\x03\x04 but no archive") == 19
    assert unpacked_size(b"units: []\n") == 10


@pytest.mark.parametrize(("given", "limit"), [([], 256 * 2**20), (["--max-unpacked-mb", "8"], 8 * 2**20)])
def test_luoshi_serve_takes_the_total_cap(tmp_path, monkeypatch, given, limit):
    import uvicorn
    from typer.testing import CliRunner

    from luoshi.cli.main import app as cli

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(app))
    result = CliRunner().invoke(cli, ["serve", "--db", make_store(tmp_path), *given])
    assert result.exit_code == 0, result.output
    assert started[0].state.portal.max_unpacked == limit



def test_luoshi_serve_on_a_read_only_database_is_e601(tmp_path, monkeypatch, db_url):
    """Issue 21: `serve` on a database it can only read said "内部错误" (or started, and failed
    at the first sign-in): the portal writes every sign-in, submission and audit entry."""
    import sqlalchemy as sa
    import uvicorn
    from typer.testing import CliRunner

    from luoshi.cli.main import app as cli

    make_store(tmp_path, db=db_url)
    if db_url.startswith("sqlite"):
        read_only = f"sqlite:///file:{tmp_path / 'test.db'}?mode=ro&uri=true"
    else:
        engine = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            name = engine.url.database
            connection.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        engine.dispose()
        read_only = db_url
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    result = CliRunner().invoke(cli, ["serve", "--db", read_only])
    assert result.exit_code == 2, result.output
    assert "E601" in result.output and "只能读取，不能写入" in result.output, result.output
    assert "不能在只读的数据库上启动" in result.output and "内部错误" not in result.output

def _login_failures(db: str) -> list:  # noqa: ANN001
    return [e for e in audit.entries(store.connect(db)) if e.action == "login_failed"]


def _guess(app, name: str, count: int) -> list[int]:  # noqa: ANN001
    """`count` wrong passwords through the login form (`name` with `{}`: a new name each)."""
    client = TestClient(app)
    page = client.get("/login")
    codes = []
    for number in range(count):
        page = client.post("/login", data={"csrf": CSRF.search(page.text)[1],
                                           "name": name.format(number), "password": "wrong"})
        codes.append(page.status_code)
    return codes


def _later(monkeypatch, seconds: float) -> None:  # noqa: ANN001
    """The clock of the accounts, the throttle and the audit log, `seconds` ahead."""
    from luoshi.web import accounts, throttle

    moment = accounts.now() + dt.timedelta(seconds=seconds)
    for module in (accounts, throttle, audit):
        monkeypatch.setattr(module, "now", lambda: moment)


def test_throttled_logins_leave_two_audit_rows_with_their_count(tmp_path, monkeypatch):
    """Every refused login wrote its own row, throttled or not: a script looping on the login
    form filled the audit log (and buried what else happened) at the speed of the server. Now
    a window of refusals writes one row at its first and, once it is over, one with the count
    (rows of the chained log are never updated)."""
    db = make_store(tmp_path)
    app = app_for(db, throttle=Throttle(limit=2, window=600))
    codes = _guess(app, "caizheng", 52)
    assert codes[:2] == [401, 401] and set(codes[2:]) == {429}
    rows = _login_failures(db)
    assert len(rows) == 3  # the two wrong passwords, then one as the refusals begin
    assert (rows[0].user_name, rows[0].address, rows[0].outcome, rows[0].detail["reason"]) == \
        ("caizheng", "testclient", "refused", "throttled")
    _later(monkeypatch, 601)
    page = login(app, "auditor1").get("/audit").text  # the next entry closes the window
    rows = _login_failures(db)
    assert len(rows) == 4
    closed = rows[0]
    assert closed.detail["reason"] == "throttled_window" and closed.detail["count"] == 50
    assert closed.detail["names"] == ["caizheng"] and closed.detail["addresses"] == ["testclient"]
    assert "锁定时段内被拒绝的尝试（合计）；次数：50；第一次：" in page
    assert store.verify(db).problems == []


def test_a_throttled_address_trying_new_names_leaves_two_rows(tmp_path, monkeypatch):
    db = make_store(tmp_path)
    app = app_for(db, throttle=Throttle(limit=5, window=600, address_limit=3))
    codes = _guess(app, "guess{}", 40)
    assert codes.count(401) == 3 and codes.count(429) == 37
    assert len(_login_failures(db)) == 4
    _later(monkeypatch, 601)
    audit.write(store.connect(db), "logout", who="x", address=None)
    rows = _login_failures(db)
    assert len(rows) == 5
    assert rows[0].detail["count"] == 37 and rows[0].address == "testclient"
    assert rows[0].detail["names"] == [f"guess{number}" for number in range(3, 13)]  # the first 10


def _text(content: bytes) -> str:
    """An answer as text, a DOCX's or XLSX's parts unpacked."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            content = b"".join(archive.read(name) for name in archive.namelist())
    return content.decode("utf-8", "replace")


def test_no_portal_answer_shows_the_servers_folders(tmp_path):
    """Records loaded with `luoshi load /srv/…/facts.yaml` keep that path as their source: the
    JSON API, the submissions listed, a refused upload's problems citing a stored record, and
    the notices downloaded showed the server's folders (only the home page cut them off)."""
    folder = str(tmp_path)  # make_store loads tmp_path/facts.yaml by its absolute path
    db = make_store(tmp_path)
    app = app_for(db)
    office, unit = login(app, "office1"), login(app, "caizheng")
    run = office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    assert folder in str(store.submissions(db)[0].files)  # what is stored keeps it
    assert run.status_code == 201 and folder not in run.text
    number = run.json()["id"]
    urls = ["/", "/submit", "/notices", "/api/findings?year=2013", "/api/submissions",
            "/api/upcoming?days=30&year=2013&as_of=2013-12-31", f"/api/runs/{number}/notices/cb-cz"]
    office_urls = ["/checks", "/report", "/submissions/1", f"/api/runs/{number}",
                   f"/api/runs/{number}/notices/cb-gh", f"/api/runs/{number}/report.html",
                   f"/api/runs/{number}/report.xlsx", f"/checks/diff?a={number}&b={number}"]
    auditor = login(app, "auditor1")
    for browser, listed in ((office, urls + office_urls), (unit, urls),
                            (auditor, ["/audit", "/audit.csv", "/audit.json"])):
        for url in listed:
            answer = browser.get(url)
            assert answer.status_code == 200, url
            assert folder not in _text(answer.content), url
    assert "facts.yaml:" in _text(office.get(f"/api/runs/{number}/notices/cb-gh").content)

    # cb-cz's submission without its records withdraws cb-ins04, which a stored record names:
    # the office, sending it for cb-cz, reads which record (a unit reads only how many,
    # tests/test_portal_hostile.py).
    withdrawn = [("files", ("空.yaml", b"units: []\n"))]
    api = office.post("/api/submissions", files=withdrawn, data={"unit": "cb-cz"},
                      headers={"x-csrf-token": office.csrf})
    page = office.post("/submit", data={"csrf": office.csrf, "unit": "cb-cz"}, files=withdrawn)
    assert api.status_code == page.status_code == 422
    stored = [p for p in api.json()["problems"] if p["code"] == "E501"]
    assert stored and all(p["path"] == "facts.yaml" for p in stored)
    assert re.fullmatch(r"facts\.yaml:\d+:\d+", stored[0]["where"])
    assert folder not in api.text and folder not in page.text and "已存的记录（facts.yaml）" in page.text


@pytest.mark.parametrize(("source", "path", "line", "col", "sheet"), [
    ("/srv/luoshi/incoming/2013/facts.yaml:153:5", "facts.yaml", 153, 5, None),
    ("/srv/报送/财政局.xlsx:学习教育!C12", "财政局.xlsx", 12, None, "学习教育"),
    ("C:\\报送\\a.csv:7", "a.csv", 7, None, None),
    ("/srv/luoshi/whole-file.yaml", "whole-file.yaml", None, None, None)])
def test_a_stored_records_place_is_read_back_by_file_name(source, path, line, col, sheet):
    from luoshi.facts.problems import Location, Problem
    from luoshi.web.sources import plain_problem

    where = plain_problem(Problem(Location(source), "E501", "…")).where
    assert (where.path, where.line, where.col, where.sheet) == (path, line, col, sheet)


# -- The third pass --------------------------------------------------------------------------

def _reference(text: str) -> str:
    found = re.search(r"参考编号 ([0-9A-F]{8})", text)
    assert found, text[:400]
    return found[1]


def test_a_lost_database_shows_a_reference_not_its_path(tmp_path, caplog):
    """The database's folder gone (a disk unmounted, a wrong LUOSHI_DB): a submission answered
    "数据库无法写入：数据库文件 /srv/…/luoshi.db 不存在" and a page "数据库无法访问：数据库
    sqlite:////srv/… 无法连接或写入：unable to open database file", the driver's words and the
    server's folders for any unit to read. Now a Chinese sentence and a reference; the log has
    the reference with the whole error, and the audit row the reference only."""
    data = tmp_path / "data"
    data.mkdir()
    db = make_store(data)
    app = app_for(db)
    office, unit = login(app, "office1"), login(app, "caizheng")
    workbook = unit.get("/template.xlsx").content
    upload = [("files", ("报送.xlsx", workbook))]
    data.rename(tmp_path / "moved")  # the sessions' open connection still reads the old file
    answers = [unit.post("/api/submissions", files=upload, headers={"x-csrf-token": unit.csrf}),
               unit.post("/submit", data={"csrf": unit.csrf}, files=upload),
               office.get("/?year=2013"), office.get("/api/findings?year=2013"),
               office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf}),
               office.post("/checks", data={"csrf": office.csrf, "year": "2013", "as_of": ""})]
    for answer in answers:
        assert answer.status_code == 503, answer.text[:300]
        assert "数据库暂时无法使用" in answer.text
        for leak in (str(tmp_path), "sqlite", "portal.db", "unable to open", "不存在"):
            assert leak not in answer.text, (leak, answer.text[:300])
        reference = _reference(answer.text)
        logged = [line for line in caplog.messages if reference in line]
        assert logged and str(data) in logged[0], caplog.messages  # the path is in the log
    (tmp_path / "moved").rename(data)
    failures = [e for e in audit.entries(store.connect(db)) if e.outcome == "failed"]
    assert [e.action for e in failures] == ["check", "check", "submission", "submission"]
    assert all(set(e.detail) >= {"reference"} and "error" not in e.detail for e in failures)
    assert _reference(f"参考编号 {failures[-1].detail['reference']}") in answers[0].text


def test_luoshi_serve_logs_the_reference_with_the_error(tmp_path):
    """What IT staff read (luoshi serve's standard error, systemd's journal) names the
    reference a user was shown, with the database's path and the driver's words."""
    from luoshi.web import accounts

    data = tmp_path / "data"
    data.mkdir()
    db = make_store(data)
    token = accounts.new_token(store.connect(db), "office1")
    server, port = _serve(tmp_path, db)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                       headers={"authorization": f"Bearer {token}"})
    try:
        assert api.get("/api/submissions").status_code == 200  # opens the pool
        data.rename(tmp_path / "moved")
        answer = api.get("/api/findings", params={"year": 2013})
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[1]
    assert answer.status_code == 503 and str(tmp_path) not in answer.text
    reference = _reference(answer.json()["detail"])
    line = next(line for line in log.splitlines() if reference in line)
    assert "ERROR luoshi.web" in line and str(data) in line and "GET /api/findings" in line, log


@pytest.mark.parametrize(("damage", "sentence", "logged"), [
    ("UPDATE inspections SET date = 'not a date'", "存储的数据或设置有误", "C003"),
    ("UPDATE runs SET findings = '{\"x\": 1}'", "检查记录 1 在服务器的数据库中已损坏", "C003"),
    ("UPDATE runs SET findings = '[{\"id\": '", "检查记录 1 在服务器的数据库中已损坏", "C003"),
    ("UPDATE loads SET counts = '{\"units\": '", "导入 1 在服务器的数据库中已损坏", "C003")])
def test_a_damaged_store_shows_a_reference_not_the_drivers_words(tmp_path, caplog, damage,
                                                                 sentence, logged):
    """A stored value the driver cannot convert: the pages and the API answered 409 with
    "sqlite:///…/portal.db: C003 数据库中的数据已损坏，无法读取（ValueError: Invalid isoformat
    string: 'not a date'）", the database's name and Python's message. A damaged check record
    (its findings of the wrong shape, or not JSON at all) was a crash, "服务器内部错误" with
    TypeError or JSONDecodeError in the log: now the run is named, with what to do; so is a
    damaged load (its counts), which failed every page that lists submissions."""
    import sqlalchemy as sa

    db, *_ = with_runs(tmp_path, 2)
    engine = sa.create_engine(db)
    with engine.begin() as connection:
        connection.execute(sa.text(damage + (" WHERE id = 1" if "inspections" not in damage else "")))
    engine.dispose()
    app = app_for(db)  # the state kept between requests was read before the damage
    office = login(app, "office1")
    cookies = office.client.cookies
    office.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    office.client.cookies = cookies
    answers = [office.get("/?year=2013"), office.get("/api/findings?year=2013"),
               office.get("/checks"), office.get("/api/runs/1"), office.get("/api/submissions")]
    failed = [answer for answer in answers if answer.status_code != 200]
    assert failed
    for answer in failed:
        assert answer.status_code == 500 and sentence in answer.text, answer.text[:300]
        assert "inspections" in damage or "luoshi verify" in answer.text
        for leak in ("sqlite", "portal.db", "Error", "isoformat", "C003", str(tmp_path)):
            assert leak not in answer.text, (leak, answer.text[:400])
        reference = _reference(answer.text)
        assert any(reference in line and logged in line for line in caplog.messages)
    if "runs" in damage:  # the other run is still there to read
        assert office.get("/api/runs/2").status_code == 200


def test_an_engine_failure_shows_a_reference_not_pythons_words(tmp_path, monkeypatch, caplog):
    """The rule engine's errors carry Python's words (a worker's "KeyError: …", durable_rules'
    own messages): pages and the API showed them as "规则引擎出错：…"; a recorded check let
    them through uncaught."""
    from luoshi.engine.errors import EngineError
    from luoshi.engine.runtime import run

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise EngineError("KeyError: '/srv/luoshi/venv/lib/python3.11/site-packages/x.py'")

    app = app_for(make_store(tmp_path))
    office, unit = login(app, "office1"), login(app, "caizheng")
    monkeypatch.setattr(run, "check", broken)
    answers = [office.get("/?year=2013"), unit.get("/api/findings?year=2013"),
               office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf}),
               office.post("/checks", data={"csrf": office.csrf, "year": "2013", "as_of": ""})]
    for answer in answers:
        assert answer.status_code == 500 and "规则引擎出错" in answer.text, answer.text[:300]
        assert "KeyError" not in answer.text and "/srv/" not in answer.text
        reference = _reference(answer.text)
        assert any(reference in line and "/srv/luoshi/venv" in line for line in caplog.messages)


def test_a_number_too_long_is_refused_in_chinese_not_pythons_words(tmp_path):
    """A JSON number of 4,400 digits: the problem was Python's "Exceeds the limit (4300 digits)
    for integer string conversion …; use sys.set_int_max_str_digits() to increase the limit"."""
    unit = login(app_for(make_store(tmp_path)), "caizheng")
    answer = unit.post("/api/submissions", files=[("files", ("a.json", b"[" + b"9" * 4400 + b"]"))],
                       headers={"x-csrf-token": unit.csrf})
    assert answer.status_code == 422
    [problem] = answer.json()["problems"]
    assert problem["code"] == "E102" and "4400 位的整数" in problem["message"]
    assert "sys." not in answer.text and "Exceeds" not in answer.text


@pytest.mark.parametrize(("body", "words"), [
    ({"year": 2013, "as_of": 2013}, "as_of 应为日期文本"),
    ({"year": 2013, "as_of": 20130630}, "as_of 应为日期文本"),
    ({"year": 2013, "as_of": ["2013-06-30"]}, "as_of 应为日期文本"),
    ({"year": 2013, "as_of": True}, "as_of 应为日期文本"),
    ({"year": 2013, "asof": "2013-06-30"}, "未知的字段 'asof'"),
    ([2013], "请求体应为 JSON 对象")])
def test_a_check_day_that_is_not_a_date_is_refused_not_31_december(portal, body, words):
    """`{"year": 2013, "as_of": 2013}` recorded a check as of 2013-12-31, as did a misspelt
    key: the office believed it had checked as of the day it typed."""
    office = portal["office"]
    answer = office.post("/api/runs", json=body, headers={"x-csrf-token": office.csrf})
    assert answer.status_code == 422 and words in answer.json()["detail"], answer.text
    assert _CJK.search(answer.json()["detail"].split("，")[0])
    ok = office.post("/api/runs", json={"year": 2013, "as_of": None},
                     headers={"x-csrf-token": office.csrf})
    assert ok.status_code == 201 and ok.json()["as_of"] == "2013-12-31"


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _serve(tmp_path, db):  # noqa: ANN001, ANN202
    """A real `luoshi serve` on a free port, ready: (process, port)."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", "from luoshi.cli.main import run; run()", "serve", "--db", db,
         "--port", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200:
                return server, port
        except httpx.TransportError:
            assert server.poll() is None
            time.sleep(0.1)
    raise AssertionError("luoshi serve did not start")


def _raw(port: int, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    server, port = _serve(folder, make_store(folder))
    yield port
    server.terminate()
    server.communicate(timeout=30)


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",  # not a request line
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",  # a header without a colon
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000,  # headers that never end
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS spoken to plain HTTP
])
def test_a_request_uvicorn_cannot_parse_is_answered_in_chinese(served, request_bytes):
    """uvicorn answered malformed HTTP itself with "Invalid HTTP request received.", English
    prose on direct access to the portal."""
    head, _, body = _raw(served, request_bytes).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head[:200]
    assert b"content-type: text/plain; charset=utf-8" in head.lower()
    assert body.decode() == "请求的格式不正确（不是有效的 HTTP 请求），无法处理\n"
    assert httpx.get(f"http://127.0.0.1:{served}/healthz", timeout=10).status_code == 200


def test_a_refused_submission_lists_a_bounded_number_of_problems(tmp_path):
    """A 20 MB table with one wrong column has a million problems: the answer was 180 MB of
    JSON (18 MB per 100,000) and the page a million rows. At most 1,000 are listed, all counted."""
    from luoshi.web.actions import MAX_LISTED

    rows = MAX_LISTED + 500
    table = ("unit,date,form,participants\n" + "cb-cz,2013-02-30,x,y\n" * rows).encode()
    files = [("files", ("education.csv", table))]
    unit = login(app_for(make_store(tmp_path)), "caizheng")
    answer = unit.post("/api/submissions", files=files, headers={"x-csrf-token": unit.csrf})
    total = answer.json()["total"]
    assert answer.status_code == 422 and total >= rows  # one per row, and a few of the file
    assert len(answer.json()["problems"]) == MAX_LISTED
    page = unit.post("/submit", data={"csrf": unit.csrf}, files=files)
    assert page.status_code == 422 and page.text.count("<td><code>E") == MAX_LISTED
    assert f"中有 {total} 个问题" in page.text and f"下面列出前 {MAX_LISTED} 个" in page.text
    assert f"education.csv（{total} 个问题，列出 {MAX_LISTED} 个）" in page.text
