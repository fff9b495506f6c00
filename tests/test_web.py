"""The portal over HTTP (Starlette's TestClient): every page and API endpoint, for every role
(office, the unit itself, another unit, nobody), answering as web.md says."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from luoshi.cli.main import app as cli
from luoshi.facts import store

from .portal import (
    CSRF,
    PASSWORD,
    UNITS,
    anonymous,
    app_for,
    login,
    make_store,
    with_row,
    with_runs,
)

OWN, OTHER = "caizheng", "gonghui"  # units cb-cz and cb-gh: both have findings in 2013


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One store and app for the read-only tests, with one recorded check of 2013."""
    db, app, office, [run] = with_runs(tmp_path_factory.mktemp("portal"))
    return {"db": db, "app": app, "run": run, "office": office,
            "own": login(app, OWN), "other": login(app, OTHER), "admin": login(app, "admin1"),
            "auditor": login(app, "auditor1"), "anonymous": anonymous(app)}


@pytest.fixture
def fresh(tmp_path):
    db = make_store(tmp_path)
    return db, app_for(db)


def test_healthz_answers_anyone(portal):
    answer = portal["anonymous"].get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


ROLES = ["office", "own", "admin", "auditor", "anonymous"]
PAGES = {  # path: (office, unit, admin, auditor, anonymous); 3xx: where it sends them
    "/": (200, 200, "/users", "/audit", "/login"), "/submit": (200, 200, 403, 403, "/login"),
    "/checks": (200, 403, 403, 403, "/login"), "/notices": (200, 200, 403, 403, "/login"),
    "/report": (200, 403, 403, 403, "/login"), "/audit": (403, 403, 403, 200, "/login"),
    "/users": (403, 403, 200, 403, "/login"), "/template.xlsx": (200, 200, 403, 403, "/login"),
    "/account": (200, 200, 200, 200, "/login"), "/audit.csv": (403, 403, 403, 200, "/login"),
}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_its_rights_say(portal, path, role):
    """Four roles (docs/web.md): the office and the units act on the data; the administrator
    manages accounts only and the auditor reads the audit log only, so that no account both
    acts and reads the trail of what it did."""
    expected = dict(zip(ROLES, PAGES[path], strict=True))[role]
    answer = portal[role].get(path + ("?year=2013" if path == "/" else ""))
    if isinstance(expected, str):
        assert answer.status_code == 303 and answer.headers["location"] == expected
        return
    assert answer.status_code == expected, answer.text[:300]
    if expected == 403:
        assert "无权访问" in answer.text or "只有" in answer.text or "不处理报送数据" in answer.text


def test_the_administrator_and_the_auditor_have_no_business_with_the_api(portal):
    for role in ("admin", "auditor"):
        for url in ("/api/submissions", "/api/findings?year=2013", f"/api/runs/{portal['run']}"):
            assert portal[role].get(url).status_code == 403, (role, url)


def test_the_login_page_is_for_those_not_logged_in(portal):
    assert portal["anonymous"].get("/login").status_code == 200
    assert portal["own"].get("/login").headers["location"] == "/"


def test_office_home_shows_every_unit_with_status_counts_and_lights(portal):
    page = portal["office"].get("/?year=2013&as_of=2013-12-31").text
    for name in ("赤壁市财政局", "赤壁市总工会", "赤壁经济开发区"):
        assert name in page
    assert "未报送" in page and 'class="light red"' in page and 'class="light green"' in page


def test_office_picks_a_unit_to_see_its_findings(portal):
    page = portal["office"].get("/?year=2013&as_of=2013-12-31&unit=cb-gh").text
    assert "赤壁市总工会的问题与提醒" in page and "cb-gh" in page
    assert "赤壁市财政局的违规行为" not in page
    # a unit's account cannot pick another unit: it sees its own
    own = portal["own"].get("/?year=2013&as_of=2013-12-31&unit=cb-gh").text
    assert "本单位的问题与提醒" in own and "赤壁市总工会的" not in own


def test_unit_home_shows_only_its_own_findings_with_their_records(portal):
    page = portal["own"].get("/?year=2013&as_of=2013-12-31").text
    assert "赤壁市财政局" in page and "本单位的问题" in page
    assert "赤壁市总工会" not in page
    assert "facts.yaml:" in page  # the record each finding concerns, where it was read


def test_findings_api_is_check_format_json(portal):
    from luoshi.web.sources import plain_data

    answer = portal["office"].get("/api/findings?year=2013&as_of=2013-12-31")
    assert answer.status_code == 200
    result = CliRunner().invoke(cli, ["check", "--year", "2013", "--as-of", "2013-12-31",
                                      "--db", portal["db"], "--format", "json"])
    expected = plain_data(json.loads(result.stdout))  # the sources without the server's folders
    assert answer.json()["findings"] == expected["findings"]
    assert answer.json()["triggers"] == expected["triggers"]


def test_a_unit_sees_only_the_findings_charged_to_it(portal):
    data = portal["own"].get("/api/findings?year=2013").json()
    assert data["findings"] and {f["unit"] for f in data["findings"]} == {"cb-cz"}
    assert all(t["target_unit"] == "cb-cz" for t in data["triggers"])
    assert portal["anonymous"].get("/api/findings?year=2013").status_code == 401
    assert portal["office"].get("/api/findings").status_code == 422  # year is required


def test_upcoming_api_gives_the_json_of_luoshi_upcoming(portal):
    data = portal["office"].get("/api/upcoming?days=60&year=2013&as_of=2013-10-01").json()
    assert set(data) == {"as_of", "until", "upcoming", "triggers"}
    assert data["as_of"] == "2013-10-01" and data["until"] == "2013-11-30"
    assert all("due_on" in item for item in data["upcoming"])
    assert all("due" in item for item in data["triggers"])  # as in check's JSON
    mine = portal["own"].get("/api/upcoming?days=60&year=2013&as_of=2013-10-01").json()
    assert all(item["unit"] == "cb-cz" for item in mine["upcoming"])
    assert portal["anonymous"].get("/api/upcoming?days=7").status_code == 401
    assert portal["office"].get("/api/upcoming?year=2013").status_code == 422  # days required


def test_runs_are_the_offices(portal):
    run = portal["run"]
    recorded = portal["office"].get(f"/api/runs/{run}")
    assert recorded.status_code == 200
    assert recorded.json()["id"] == run and recorded.json()["findings"]
    assert portal["own"].get(f"/api/runs/{run}").status_code == 403
    assert portal["anonymous"].get(f"/api/runs/{run}").status_code == 401
    assert portal["office"].get("/api/runs/999").status_code == 404
    unit = portal["own"]
    assert unit.post("/api/runs", json={"year": 2013},
                     headers={"x-csrf-token": unit.csrf}).status_code == 403
    assert portal["anonymous"].post("/api/runs", json={"year": 2013}).status_code == 401


def test_post_runs_refuses_a_bad_year(portal):
    office = portal["office"]
    for body in ({"year": "2013"}, {"year": 1999}, {}, {"year": 2013, "as_of": "2012-06-01"}):
        answer = office.post("/api/runs", json=body, headers={"x-csrf-token": office.csrf})
        assert answer.status_code == 422, body


def test_a_notice_is_for_the_office_and_its_unit_only(portal):
    url = f"/api/runs/{portal['run']}/notices/cb-cz"
    for role in ("office", "own"):
        answer = portal[role].get(url)
        assert answer.status_code == 200
        assert answer.content[:2] == b"PK"  # a DOCX
        assert "attachment" in answer.headers["content-disposition"]
    assert portal["other"].get(url).status_code == 404
    assert portal["anonymous"].get(url).status_code == 401
    assert portal["office"].get(f"/api/runs/{portal['run']}/notices/no-such").status_code == 404


def test_the_report_is_the_offices(portal):
    base = f"/api/runs/{portal['run']}/report"
    html = portal["office"].get(base + ".html")
    assert html.status_code == 200 and "赤壁市财政局" in html.text
    xlsx = portal["office"].get(base + ".xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for suffix in (".html", ".xlsx"):
        assert portal["own"].get(base + suffix).status_code == 403
        assert portal["anonymous"].get(base + suffix).status_code == 401


def test_notices_page_lists_a_units_own_notices_only(portal):
    office = portal["office"].get("/notices").text
    own = portal["own"].get("/notices").text
    assert "notices/cb-cz" in office and "notices/cb-gh" in office
    assert "notices/cb-cz" in own and "notices/cb-gh" not in own


NEW_LEARNING = {"unit": "cb-cz", "date": "2013-05-06", "title": "廉政教育专题学习"}


def unit_file(browser) -> bytes:  # noqa: ANN001
    """The unit's template as downloaded (its records) with one more 学习教育 record."""
    return with_row(browser.get("/template.xlsx").content, "education", NEW_LEARNING)[0]


def test_a_unit_submits_its_own_records_by_token(fresh, tmp_path):
    db, app = fresh
    token = CliRunner().invoke(cli, ["users", "token", OWN, "--db", db]).stdout.strip()
    client = anonymous(app)
    auth = {"authorization": f"Bearer {token}"}
    workbook = unit_file(login(app, OWN))
    answer = client.post("/api/submissions", headers=auth,
                         files=[("files", ("学习.xlsx", workbook))])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "accepted" and body["unit"] == "cb-cz"
    assert body["counts"]["education"]["added"] == 1
    listed = client.get("/api/submissions", headers=auth).json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert listed[0]["files"][0]["path"] == "学习.xlsx"
    assert client.get("/api/submissions").status_code == 401



def test_two_uploads_of_the_same_name_are_both_read_as_their_kind(fresh):
    """Issue 21: a second `education.csv` in one submission was kept as "education（2）.csv"
    and refused as the unknown category 'education（2）'. A copy's name ("（2）", " (2)",
    " - 副本") still names its kind."""
    db, app = fresh
    office = login(app, "office1")  # adds to what is stored (a unit's submission replaces it)
    first = "unit,date,title\ncb-cz,2013-05-06,廉政教育一\n".encode()
    second = "单位,日期,主题\ncb-cz,2013-06-06,廉政教育二\n".encode("gb18030")
    answer = office.post("/api/submissions", headers={"x-csrf-token": office.csrf},
                         files=[("files", ("education.csv", first)),
                                ("files", ("education.csv", second))])
    assert answer.status_code == 201, answer.text
    assert answer.json()["counts"]["education"]["added"] == 2
    listed = office.get("/api/submissions").json()[0]["files"]
    assert [f["path"] for f in listed] == ["education.csv", "education（2）.csv"]
    titles = {row["title"] for row in store.read_rows(db)["education"] if row["unit"] == "cb-cz"}
    assert {"廉政教育一", "廉政教育二"} <= titles

def test_a_refused_submission_lists_every_problem_and_stores_nothing(fresh):
    db, app = fresh
    unit = login(app, OWN)
    before = len(store.submissions(db))
    bad = "education:\n  - {unit: cb-gh, date: 2013-05-06, title: 别人的}\n  - {unit: cb-cz, date: 2013-13-01, title: 日期错}\n"
    answer = unit.post("/api/submissions", headers={"x-csrf-token": unit.csrf},
                       files=[("files", ("a.yaml", bad.encode())), ("files", ("b.txt", b"x"))])
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == "rejected"
    codes = {(p["path"], p["code"]) for p in body["problems"]}
    assert ("b.txt", "E002") in codes and ("a.yaml", "E306") in codes
    assert all(set(p) >= {"path", "line", "col", "kind", "field", "code", "message"}
               for p in body["problems"])
    assert len(store.submissions(db)) == before
    audit = login(app, "auditor1").get("/audit").text
    assert "拒绝" in audit and "报送" in audit


def test_another_units_record_is_refused(fresh):
    db, app = fresh
    unit = login(app, OWN)
    bad = "education:\n  - {unit: cb-gh, date: 2013-05-06, title: 别人的}\n"
    answer = unit.post("/api/submissions", headers={"x-csrf-token": unit.csrf},
                       files=[("files", ("a.yaml", bad.encode()))])
    assert answer.status_code == 422
    assert [p["code"] for p in answer.json()["problems"]] == ["E502"]


def test_office_may_submit_for_a_unit_or_replace(fresh):
    db, app = fresh
    office = login(app, "office1")
    workbook = unit_file(login(app, OWN))
    answer = office.post("/api/submissions", data={"unit": "cb-cz"},
                         headers={"x-csrf-token": office.csrf},
                         files=[("files", ("a.xlsx", workbook))])
    assert answer.status_code == 201 and answer.json()["unit"] == "cb-cz"
    assert store.submissions(db)[0].scope == "unit"
    both = office.post("/api/submissions", data={"unit": "cb-cz", "replace": "true"},
                       headers={"x-csrf-token": office.csrf},
                       files=[("files", ("a.xlsx", workbook))])
    assert both.status_code == 422


def test_the_submit_page_lists_problems_by_file_and_sheet_row(fresh):
    db, app = fresh
    unit = login(app, OWN)
    workbook, where = with_row(unit.get("/template.xlsx").content, "education",
                               {**NEW_LEARNING, "date": "2013-02-30"})
    answer = unit.post("/submit", data={"csrf": unit.csrf},
                       files=[("files", ("报送.xlsx", workbook))])
    assert answer.status_code == 422
    assert "报送.xlsx" in answer.text and where in answer.text and "E306" in answer.text
    assert "未存储任何数据" in answer.text


def test_the_template_of_a_unit_holds_its_own_codes_only(portal):
    import openpyxl

    own = openpyxl.load_workbook(io.BytesIO(portal["own"].get("/template.xlsx").content))
    text = " ".join(str(cell.value) for sheet in own.worksheets for row in sheet.iter_rows()
                    for cell in row if cell.value is not None)
    assert "cb-cz" in text and "cb-gh" not in text


def test_office_runs_a_check_from_the_page_and_diffs_two(fresh):
    db, app = fresh
    office = login(app, "office1")
    first = office.post("/checks", data={"csrf": office.csrf, "year": "2013", "as_of": "2013-06-30"})
    second = office.post("/checks", data={"csrf": office.csrf, "year": "2013", "as_of": "2013-12-31"})
    assert first.status_code == second.status_code == 303
    page = office.get(second.headers["location"]).text
    assert "已完成并记录第 2 次检查" in page
    diff = office.get("/checks/diff?a=1&b=2")
    assert diff.status_code == 200 and "新出现" in diff.text and "检查日不同" in diff.text
    assert office.get("/checks/diff?a=1&b=9").status_code == 404
    assert login(app, OWN).get("/checks/diff?a=1&b=2").status_code == 403


def test_a_submission_page_is_its_units_and_the_offices(fresh):
    db, app = fresh
    unit = login(app, OWN)
    done = unit.post("/submit", data={"csrf": unit.csrf},
                     files=[("files", ("a.xlsx", unit_file(unit)))])
    assert done.status_code == 200 and "已接收" in done.text
    load = store.submissions(db)[0].id
    assert unit.get(f"/submissions/{load}").status_code == 200
    assert login(app, "office1").get(f"/submissions/{load}").status_code == 200
    assert login(app, OTHER).get(f"/submissions/{load}").status_code == 404
    home = unit.get("/?year=2013").text
    assert "已报送" in home


def test_audit_log_records_who_what_when_where(fresh):
    db, app = fresh
    unit = login(app, OWN)
    unit.get("/template.xlsx")
    anonymous(app).post("/login", data={"csrf": "x", "name": OWN, "password": "wrong"})
    page = login(app, "auditor1").get("/audit").text
    for words in ("登录", "下载", OWN, "testclient", "内容：报送模板"):  # details in Chinese
        assert words in page
    assert "what=" not in page


def test_a_records_source_is_shown_without_the_servers_folders():
    from luoshi.web.templating import source_name

    assert source_name("/srv/报送/2013/财政局.yaml:153:5") == "财政局.yaml:153:5"
    assert source_name("C:\\报送\\财政局.xlsx:12") == "财政局.xlsx:12"
    assert source_name("报送.xlsx:学习教育!4") == "报送.xlsx:学习教育!4"


def test_users_command_adds_lists_disables_and_revokes(tmp_path):
    db = make_store(tmp_path)
    runner = CliRunner()
    added = runner.invoke(cli, ["users", "add", "clerk", "--role", "unit", "--unit", "cb-wj",
                                "--password-stdin", "--db", db], input="Long-password\n")
    assert added.exit_code == 0, added.output
    for args, words in ((["--role", "unit", "--unit", "nowhere"], "没有编号为"),
                        (["--role", "boss"], "角色"), (["--role", "office", "--unit", "cb-cz"], "不要给出")):
        refused = runner.invoke(cli, ["users", "add", "x", *args, "--password-stdin", "--db", db],
                                input="Long-password\n")
        assert refused.exit_code == 2 and words in refused.output
    short = runner.invoke(cli, ["users", "add", "y", "--role", "office", "--password-stdin",
                                "--db", db], input="short\n")
    assert short.exit_code == 2 and "至少" in short.output
    listed = runner.invoke(cli, ["users", "list", "--db", db])
    assert "clerk" in listed.stdout and "单位 cb-wj" in listed.stdout
    app = app_for(db)
    token = runner.invoke(cli, ["users", "token", "clerk", "--db", db]).stdout.strip()
    auth = {"authorization": f"Bearer {token}"}
    client = anonymous(app)
    assert client.get("/api/submissions", headers=auth).status_code == 200
    assert runner.invoke(cli, ["users", "revoke", "clerk", "--db", db]).exit_code == 0
    assert client.get("/api/submissions", headers=auth).status_code == 401
    browser = login(app, "clerk", "Long-password")
    assert runner.invoke(cli, ["users", "disable", "clerk", "--db", db]).exit_code == 0
    assert browser.get("/").status_code == 303  # the session ended with the account
    assert "已停用" in runner.invoke(cli, ["users", "list", "--db", db]).stdout
    assert runner.invoke(cli, ["users", "disable", "nobody", "--db", db]).exit_code == 2


def test_version_does_not_import_the_web_stack():
    import subprocess
    import sys

    code = ("import sys; from luoshi.cli.main import run; sys.argv=['luoshi','--version'];\n"
            "try: run()\nexcept SystemExit: pass\n"
            "print([m for m in ('starlette','uvicorn','argon2','luoshi.web') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().endswith("[]")


def test_units_of_the_accounts_exist(portal):
    assert set(UNITS.values()) <= {row["id"] for row in store.read_rows(portal["db"])["units"]}


def test_luoshi_serve_starts_the_portal(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    db = make_store(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-c", "from luoshi.cli.main import run; run()", "serve", "--db", db,
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    assert json.loads(answer.read()) == {"status": "ok"}
                    assert answer.headers["x-frame-options"] == "DENY"
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.1)
        else:
            pytest.fail("luoshi serve did not answer")
    finally:
        server.terminate()
        server.wait(10)


def test_upcoming_gives_what_falls_due_with_its_day(portal):
    import datetime as dt

    from luoshi.web.pipeline import Pipeline

    pipeline = Pipeline.start(portal["db"])
    data = pipeline.upcoming(2013, dt.date(2013, 9, 25), 10, None)
    overdue = [item for item in data["upcoming"] if item["rule"] == "F403"]
    # cb-rect03: its deadline, the last day it is in time (docs/upcoming.md)
    assert [item["due_on"] for item in overdue] == ["2013-09-30"]
    assert data["until"] == "2013-10-05"
    now = pipeline.findings(2013, dt.date(2013, 9, 25), None)
    assert not {item["id"] for item in data["upcoming"]} & {f["id"] for f in now["findings"]}


def test_lights_red_yellow_green():
    import datetime as dt

    from luoshi.web.lights import lights

    day = dt.date(2013, 9, 25)
    findings = {"findings": [{"unit": "a", "severity": "error"}, {"unit": "c", "severity": "warning"}],
                "triggers": [{"target_unit": "d", "due": "2013-09-20"},
                             {"target_unit": "e", "due": "2013-09-28"}]}
    upcoming = {"until": "2013-10-02", "upcoming": [{"unit": "b"}], "triggers": []}
    assert lights(findings, upcoming, ["a", "b", "c", "d", "e"], day) == {
        "a": "red", "b": "yellow", "c": "green", "d": "red", "e": "yellow"}


def test_the_portal_on_each_database(db_url, tmp_path):
    """SQLite and PostgreSQL: accounts, a unit's submission, a recorded check, its notice."""
    app = app_for(make_store(tmp_path, db=db_url))
    office, unit = login(app, "office1"), login(app, OWN)
    run = office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    assert run.status_code == 201
    sent = unit.post("/api/submissions", headers={"x-csrf-token": unit.csrf},
                     files=[("files", ("a.xlsx", unit_file(unit)))])
    assert sent.status_code == 201
    assert unit.get(f"/api/runs/{run.json()['id']}/notices/cb-cz").status_code == 200
    assert login(app, OTHER).get(f"/submissions/{sent.json()['id']}").status_code == 404
    assert "已报送" in office.get("/?year=2013").text
    # the accounts' tables: the throttle, a password changed, the audit log and its chain
    guess = anonymous(app)
    form = guess.get("/login")
    refused = guess.post("/login", data={"csrf": CSRF.search(form.text)[1], "name": OWN,
                                         "password": "wrong"})
    assert refused.status_code == 401
    changed = unit.post("/account/password", data={"csrf": unit.csrf, "old": PASSWORD[OWN],
                                                    "new": "Changed-pass-1", "again": "Changed-pass-1"})
    assert changed.status_code == 200
    page = login(app, "auditor1").get("/audit?action=login_failed").text
    assert "共 1 条" in page and OWN in page
    verdict = store.verify(db_url)
    assert verdict.audit_seq > 5 and not [p for p in verdict.problems if "审计日志" in p]


def test_the_administrator_disables_and_enables_an_account_in_the_portal(fresh):
    db, app = fresh
    admin, unit, office = login(app, "admin1"), login(app, OTHER), login(app, "office1")
    assert admin.post(f"/users/{OTHER}/disable", data={}).status_code == 403  # no CSRF token
    assert unit.post(f"/users/{OWN}/disable", data={"csrf": unit.csrf}).status_code == 403
    assert office.post(f"/users/{OWN}/disable", data={"csrf": office.csrf}).status_code == 403
    done = admin.post(f"/users/{OTHER}/disable", data={"csrf": admin.csrf})
    assert done.status_code == 200 and f"已停用账号 {OTHER}" in done.text
    assert unit.get("/").status_code == 303  # its session is over
    assert admin.post("/users/nobody/disable", data={"csrf": admin.csrf}).status_code == 422
    assert admin.post("/users/admin1/disable", data={"csrf": admin.csrf}).status_code == 422
    assert "已停用" in admin.get("/users").text
    assert admin.post(f"/users/{OTHER}/enable", data={"csrf": admin.csrf}).status_code == 200
    login(app, OTHER)  # in use again
    page = login(app, "auditor1").get("/audit?action=account").text
    assert "停用" in page and "启用" in page and "admin1" in page


def test_an_upload_is_kept_byte_for_byte_and_fetched_back_identical(fresh, tmp_path):
    db, app = fresh
    unit = login(app, OWN)
    workbook = unit_file(unit)
    note = "education:\n  - {unit: cb-cz, date: 2013-07-01, title: 原件保存}\n".encode()
    answer = unit.post("/api/submissions", headers={"x-csrf-token": unit.csrf},
                       files=[("files", ("学习.xlsx", workbook)), ("files", ("补充.yaml", note))])
    assert answer.status_code == 201, answer.text
    load = answer.json()["id"]
    sent = {"学习.xlsx": workbook, "补充.yaml": note}

    fetched = CliRunner().invoke(cli, ["submissions", "--files", str(load), "--out",
                                       str(tmp_path / "back"), "--db", db])
    assert fetched.exit_code == 0, fetched.output
    assert {name: (tmp_path / "back" / name).read_bytes() for name in sent} == sent
    verified = CliRunner().invoke(cli, ["verify", "--db", db])
    assert verified.exit_code == 0 and "哈希链完好" in verified.stdout, verified.output

    page = unit.get(f"/submissions/{load}").text
    for position, data in enumerate(sent.values()):
        link = f"/submissions/{load}/files/{position}"
        assert f'href="{link}"' in page
        for browser in (unit, login(app, "office1")):
            download = browser.get(link)
            assert download.status_code == 200 and download.content == data
            assert "attachment" in download.headers["content-disposition"]
        assert login(app, OTHER).get(link).status_code == 404  # another unit's: not there
    assert unit.get(f"/submissions/{load}/files/2").status_code == 404
    assert "报送的原始文件" in login(app, "auditor1").get("/audit").text
