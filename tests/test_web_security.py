"""The portal's security suite: the access matrix, CSRF, sessions (expiry, fixation), password
and token storage, upload limits, zip bombs, file names, escaping and headers."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
import sqlalchemy as sa

from luoshi.facts import store
from luoshi.facts.tables import API_TOKENS, USERS, WEB_SESSIONS
from luoshi.web import accounts
from luoshi.web.auth import COOKIE
from luoshi.web.security import clean_name
from luoshi.web.throttle import Throttle

from .conftest import EXAMPLE
from .portal import CSRF, PASSWORD, anonymous, app_for, login, make_store, with_row


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    db = make_store(tmp_path_factory.mktemp("security"))
    app = app_for(db)
    office, own, other = login(app, "office1"), login(app, "caizheng"), login(app, "gonghui")
    run = office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    workbook = own.get("/template.xlsx").content
    load = own.post("/api/submissions", headers={"x-csrf-token": own.csrf},
                    files=[("files", ("a.xlsx", workbook))]).json()["id"]
    return {"db": db, "app": app, "office": office, "own": own, "other": other,
            "run": run.json()["id"], "load": load}


def object_urls(portal) -> list[tuple[str, str]]:  # noqa: ANN001
    """Every URL naming an object of unit cb-cz, with the same URL for one that does not exist."""
    run, load = portal["run"], portal["load"]
    return [(f"/submissions/{load}", "/submissions/99999"),
            (f"/api/runs/{run}/notices/cb-cz", f"/api/runs/{run}/notices/no-such-unit"),
            (f"/api/runs/{run}/notices/cb-cz", "/api/runs/99999/notices/cb-gh")]


def test_another_units_objects_are_404_like_missing_ones(portal):
    other, own = portal["other"], portal["own"]
    for url, missing in object_urls(portal):
        assert own.get(url).status_code == 200, url
        answer, none = other.get(url), other.get(missing)
        assert answer.status_code == none.status_code == 404, url
        assert answer.text == none.text  # nothing tells that it exists


def test_a_unit_lists_only_its_own(portal):
    loads = portal["other"].get("/api/submissions").json()
    assert all(item["unit"] == "cb-gh" for item in loads)
    assert portal["load"] not in [item["id"] for item in loads]
    page = portal["other"].get("/submit").text
    assert f"/submissions/{portal['load']}" not in page
    assert "cb-cz" not in portal["other"].get("/notices").text


STATE_CHANGING = [("/submit", "form"), ("/checks", "form"), ("/logout", "form"),
                  ("/api/submissions", "form"), ("/api/runs", "json"),
                  ("/users/gonghui/disable", "form")]


@pytest.mark.parametrize(("url", "body"), STATE_CHANGING)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_cookie_request_without_its_csrf_token_is_403(portal, url, body, token):
    office = portal["office"]
    data = {"csrf": token} if token else {}
    if body == "json":
        headers = {"x-csrf-token": token} if token else {}
        answer = office.post(url, json={"year": 2013}, headers=headers)
    else:
        answer = office.post(url, data={**data, "year": "2013"},
                             files=[("files", ("a.yaml", b"units: []\n"))])
    assert answer.status_code == 403
    assert office.get("/").status_code == 200  # still logged in: nothing was done


def test_login_needs_its_form_token(portal):
    client = anonymous(portal["app"])
    answer = client.post("/login", data={"name": "office1", "password": PASSWORD["office1"]})
    assert answer.status_code == 403 and COOKIE not in answer.cookies
    client.get("/login")  # the login cookie alone, without the form's token, is not enough
    answer = client.post("/login", data={"csrf": "guess", "name": "office1",
                                         "password": PASSWORD["office1"]})
    assert answer.status_code == 403


def test_a_bearer_token_needs_no_csrf(tmp_path):
    db = make_store(tmp_path)
    engine = store.connect(db)
    token = accounts.new_token(engine, "office1")
    client = anonymous(app_for(db))
    answer = client.post("/api/runs", json={"year": 2013},
                         headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    assert client.post("/api/runs", json={"year": 2013},
                       headers={"authorization": "Bearer lst_forged"}).status_code == 401


def test_an_expired_session_is_over(tmp_path):
    db = make_store(tmp_path)
    app = app_for(db)
    browser = login(app, "caizheng")
    assert browser.get("/").status_code == 200
    engine = store.connect(db)
    with engine.begin() as connection:
        connection.execute(sa.update(WEB_SESSIONS).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert browser.get("/").headers["location"] == "/login"
    assert browser.get("/api/submissions").status_code == 401


def test_a_forged_or_planted_cookie_is_nobody(portal):
    client = anonymous(portal["app"])
    client.client.cookies.set(COOKIE, "attacker-chosen-id")
    assert client.get("/api/submissions").status_code == 401


def test_login_makes_a_new_session_id_and_ends_the_old(portal):
    browser = login(portal["app"], "caizheng")
    before = browser.client.cookies[COOKIE]
    form = browser.get("/login")  # logged in: sent home; log in again from a fresh form
    assert form.status_code == 303
    page = anonymous(portal["app"]).get("/login")
    browser.client.cookies.set("luoshi_login", page.cookies["luoshi_login"])
    answer = browser.post("/login", data={"csrf": CSRF.search(page.text)[1], "name": "caizheng",
                                          "password": PASSWORD["caizheng"]})
    assert answer.status_code == 303
    after = browser.client.cookies[COOKIE]
    assert after != before
    stale = anonymous(portal["app"])
    stale.client.cookies.set(COOKIE, before)
    assert stale.get("/api/submissions").status_code == 401  # the old id no longer works


def test_session_cookie_flags(portal):
    page = anonymous(portal["app"]).get("/login")
    client = anonymous(portal["app"])
    client.client.cookies.set("luoshi_login", page.cookies["luoshi_login"])
    answer = client.post("/login", data={"csrf": CSRF.search(page.text)[1], "name": "office1",
                                         "password": PASSWORD["office1"]})
    cookie = next(v for k, v in answer.headers.multi_items()
                  if k == "set-cookie" and v.startswith(COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie


def test_passwords_and_tokens_are_stored_hashed_only(portal):
    engine = store.connect(portal["db"])
    token = accounts.new_token(engine, "gonghui")
    with engine.connect() as connection:
        users = connection.execute(sa.select(USERS.c.name, USERS.c.password_hash)).all()
        tokens = connection.execute(sa.select(API_TOKENS.c.token_sha256)).scalars().all()
        sessions = connection.execute(sa.select(WEB_SESSIONS.c.session_sha256)).scalars().all()
    for name, hashed in users:
        assert hashed.startswith("$argon2id$") and PASSWORD[name] not in hashed
    assert token not in tokens and accounts.sha256(token) in tokens
    assert portal["own"].client.cookies[COOKIE].split(".")[0] not in sessions
    with open(portal["db"].removeprefix("sqlite:///"), "rb") as file:
        raw = file.read()
    for password in PASSWORD.values():
        assert password.encode() not in raw
    assert token.encode() not in raw


def test_failed_logins_are_throttled_and_audited(tmp_path):
    db = make_store(tmp_path)
    app = app_for(db, throttle=Throttle(limit=3, window=600))
    client = anonymous(app)
    for _ in range(3):
        page = client.get("/login")
        answer = client.post("/login", data={"csrf": CSRF.search(page.text)[1],
                                             "name": "caizheng", "password": "wrong-guess"})
        assert answer.status_code == 401
    page = client.get("/login")
    answer = client.post("/login", data={"csrf": CSRF.search(page.text)[1], "name": "caizheng",
                                         "password": PASSWORD["caizheng"]})
    assert answer.status_code == 429 and "分钟后再试" in answer.text
    audit = login(app, "auditor1").get("/audit").text  # another name from the same address
    assert audit.count("登录失败") >= 4


def _engine(folder) -> sa.Engine:  # noqa: ANN001
    engine = store.connect(f"sqlite:///{folder / 'throttle.db'}")
    store.migrate(engine)
    return engine


def test_the_address_limit_stops_guessing_across_names(tmp_path):
    engine = _engine(tmp_path)
    throttle = Throttle(limit=2, window=600, address_limit=3)
    for name in ("a", "b", "c"):
        assert throttle.attempt(engine, name, "10.0.0.9")[0] == 0  # each a failure
    assert throttle.attempt(engine, "d", "10.0.0.9")[0] > 0
    assert throttle.attempt(engine, "d", "10.0.0.8")[0] == 0
    throttle.attempt(engine, "e", "10.0.0.8")
    throttle.attempt(engine, "e", "10.0.0.7")
    assert throttle.attempt(engine, "e", "10.0.0.6")[0] > 0


def test_the_throttle_is_shared_by_every_process_and_survives_a_restart(tmp_path):
    """The throttle counted failures in the memory of one process: each of several worker
    processes gave a guesser its own five tries, and a restart gave five more. The failures
    are now rows of the store: two apps over one store (two workers, or one before and one
    after a restart) count the same."""
    db = make_store(tmp_path)
    first, second = app_for(db), app_for(db)
    for number, app in enumerate([first, second, first, second, first]):
        client = anonymous(app)
        page = client.get("/login")
        answer = client.post("/login", data={"csrf": CSRF.search(page.text)[1],
                                             "name": "caizheng", "password": f"guess-{number}"})
        assert answer.status_code == 401
    restarted = anonymous(app_for(db))
    page = restarted.get("/login")
    answer = restarted.post("/login", data={"csrf": CSRF.search(page.text)[1],
                                            "name": "caizheng", "password": PASSWORD["caizheng"]})
    assert answer.status_code == 429 and "分钟后再试" in answer.text


def test_an_upload_past_the_limit_is_413_and_stores_nothing(tmp_path):
    db = make_store(tmp_path)
    app = app_for(db, max_upload=4096)
    browser = login(app, "caizheng")
    before = len(store.submissions(db))
    big = b"units: []\n" + b"#" * 8000
    api = browser.post("/api/submissions", headers={"x-csrf-token": browser.csrf},
                       files=[("files", ("a.yaml", big))])
    page = browser.post("/submit", data={"csrf": browser.csrf}, files=[("files", ("a.yaml", big))])
    assert api.status_code == page.status_code == 413
    assert "上限" in page.text
    assert len(store.submissions(db)) == before


def _bomb() -> bytes:
    """An "xlsx" whose one part inflates from a few KB to 9 MB."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (9 * 2**20))
    return data.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_opened(portal):
    bomb = _bomb()
    assert len(bomb) < 100_000
    own = portal["own"]
    answer = own.post("/api/submissions", headers={"x-csrf-token": own.csrf},
                      files=[("files", ("bomb.xlsx", bomb))])
    assert answer.status_code == 422
    (problem,) = answer.json()["problems"]
    assert problem["code"] == "E107" and "压缩了" in problem["message"]


@pytest.mark.parametrize("name", ["../../etc/evil.xlsx", "..\\..\\evil.xlsx", "/abs/evil.xlsx",
                                  "C:\\Users\\clerk\\evil.xlsx", "evil\x01.xlsx"])
def test_uploaded_file_names_lose_their_folders(tmp_path, name):
    db = make_store(tmp_path)
    app = app_for(db)
    browser = login(app, "caizheng")
    workbook = browser.get("/template.xlsx").content
    answer = browser.post("/api/submissions", headers={"x-csrf-token": browser.csrf},
                          files=[("files", (name, workbook))])
    assert answer.status_code == 201, answer.text
    (stored,) = store.submissions(db)[0].files
    assert "/" not in stored["path"] and "\\" not in stored["path"] and ".." not in stored["path"]
    assert "\x00" not in stored["path"]
    assert not (tmp_path.parent / "etc").exists()


@pytest.mark.parametrize(("name", "shown"), [
    ("报送\u202exslx.yaml", "报送_xslx.yaml"),  # right-to-left override: showed as 报送lmay.xlsx
    ("报送\u2066x\u2069.xlsx", "报送_x_.xlsx"), ("报\u200f送.xlsx", "报_送.xlsx"),
    ("a\x85b.xlsx", "a_b.xlsx"), ("a\u2028b.xlsx", "a_b.xlsx"), ("\ufeff报送.xlsx", "_报送.xlsx")])
def test_uploaded_file_names_lose_characters_that_disguise_them(name, shown):
    """A name with bidirectional controls, C1 controls or line separators was stored and shown
    as it came: the office read a name other than the file's, or a line broke in a list."""
    assert clean_name(name, set()) == shown


def test_clean_name_keeps_names_unique_and_short():
    taken: set[str] = set()
    assert clean_name("报送.xlsx", taken) == "报送.xlsx"
    assert clean_name("a/报送.xlsx", taken) == "报送（2）.xlsx"
    assert clean_name("", taken) == "上传文件"
    assert len(clean_name("长" * 300 + ".xlsx", taken)) <= 100


HOSTILE = "<script>alert(1)</script>"


def test_every_value_is_escaped(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("赤壁市总工会", HOSTILE)
    db = make_store(tmp_path, text)
    app = app_for(db)
    office = login(app, "office1")
    office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    hostile_unit = login(app, "gonghui")
    workbook, _ = with_row(hostile_unit.get("/template.xlsx").content, "education",
                           {"unit": "cb-gh", "date": "2013-02-30", "title": HOSTILE})
    refused = hostile_unit.post("/submit", data={"csrf": hostile_unit.csrf},
                                files=[("files", (HOSTILE + ".xlsx", workbook))])
    assert refused.status_code == 422
    pages = [refused.text] + [office.get(url).text for url in (
        "/?year=2013", "/submit", "/notices", "/audit", "/checks", "/report", "/users")]
    pages.append(hostile_unit.get("/?year=2013").text)
    pages.append(office.get("/api/runs/1/report.html").text)
    for page in pages:
        assert "<script" not in page
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in page for page in pages[1:3])


@pytest.mark.parametrize("url", ["/login", "/", "/healthz", "/static/style.css", "/no-such",
                                 "/api/findings?year=2013", "/api/runs/1/report.html"])
def test_security_headers_on_every_response(portal, url):
    answer = portal["office"].get(url)
    headers = answer.headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    policy = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "http:" not in policy and "https:" not in policy and "*" not in policy
    assert "script-src 'self'" in policy or "script-src" not in policy and "default-src 'none'" in policy


def test_pages_hold_no_script_and_no_outside_address(portal):
    for url in ("/login", "/", "/submit", "/checks", "/notices", "/report", "/audit", "/users"):
        page = portal["office"].get(url + ("?year=2013" if url == "/" else "")).text
        assert "<script" not in page and "http://" not in page and "https://" not in page
    css = portal["office"].get("/static/style.css").text
    assert "url(" not in css and "@import" not in css


def test_a_pipeline_failure_is_a_sentence_not_a_traceback(tmp_path, monkeypatch, caplog):
    from luoshi.facts.problems import StoreError
    from luoshi.web.pipeline import Pipeline

    def unreachable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise StoreError("无法连接 127.0.0.1:5432")

    db = make_store(tmp_path)
    app = app_for(db)
    office = login(app, "office1")
    monkeypatch.setattr(Pipeline, "state", unreachable)
    monkeypatch.setattr(Pipeline, "findings", unreachable)
    page = office.get("/?year=2013")
    assert page.status_code == 503 and "数据库暂时无法使用" in page.text and "Traceback" not in page.text
    api = office.get("/api/findings?year=2013")
    assert api.status_code == 503 and "数据库暂时无法使用" in api.json()["detail"]
    assert "127.0.0.1" not in page.text + api.text  # the error itself is in the server's log
    reference = re.search(r"参考编号 (\w+)", api.json()["detail"])[1]
    assert any(reference in line and "无法连接 127.0.0.1:5432" in line
               for line in caplog.messages), caplog.messages


def _sample(path: str) -> str:
    """A URL of a route's path, its parameters filled in."""
    return re.sub(r"\{(\w+)(?::int)?\}", lambda m: "1" if m[0].endswith(":int}") else "cb-cz", path)


def test_options_lists_every_method_of_every_route(portal):
    """Each path is served by one route per method (GET /login, POST /login), and Starlette's
    router answered OPTIONS (and a wrong method) from the first route alone: `Allow: HEAD,
    GET` for /login, whose form is sent by POST. OPTIONS now answers 204 with every method the
    path takes, and a 405 names the same."""
    from starlette.routing import Route

    expected: dict[str, set[str]] = {}
    for route in portal["app"].routes:
        if isinstance(route, Route):
            expected.setdefault(_sample(route.path), set()).update(route.methods or ())
    expected["/static/style.css"] = {"GET", "HEAD"}
    assert {"GET", "HEAD", "POST"} <= expected["/login"]
    for url, methods in expected.items():
        for client in (portal["office"], anonymous(portal["app"])):
            answer = client.client.options(url)
            assert answer.status_code == 204 and answer.content == b"", url
            assert set(answer.headers["allow"].split(", ")) == methods | {"OPTIONS"}, url
            wrong = client.client.request("PATCH", url)
            assert wrong.status_code == 405, url
            assert set(wrong.headers["allow"].split(", ")) == methods | {"OPTIONS"}, url
    assert portal["office"].client.options("/no/such/page").status_code == 404
