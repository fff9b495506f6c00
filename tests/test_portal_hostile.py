"""The third hostile round against the portal (issue 21): choices the portal offers that ended
in a 500, answers that told one unit about another, and requests that froze or exhausted the
server. Each test is a case that once failed."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from luoshi.web import actions

from .conftest import EXAMPLE
from .portal import Browser, app_for, login, make_store, with_runs


def _answering(app, browser: Browser) -> Browser:  # noqa: ANN001
    """The browser with a client that answers as a server does (a 500, not an exception)."""
    browser.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                                cookies=browser.client.cookies)
    return browser


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The example city (2013) with one recorded check, as the office and a unit see it."""
    db, app, office, [run] = with_runs(tmp_path_factory.mktemp("hostile"))
    return {"db": db, "app": app, "run": run,
            "office": _answering(app, office), "unit": _answering(app, login(app, "caizheng"))}


# -- 500s for allowed choices ------------------------------------------------------------------

def test_upcoming_with_no_days_is_refused_in_words_not_a_500(city):
    """`days=0` passed the portal's check ("days 应为 0–366 的整数") and failed in the engine
    ("天数应为正整数") as a 500."""
    for who in ("office", "unit"):
        answer = city[who].get("/api/upcoming?days=0&year=2013&as_of=2013-10-01")
        assert answer.status_code == 422, answer.text[:300]
        assert "1–366" in answer.json()["detail"]


def test_upcoming_late_in_the_next_year_is_answered(city):
    """Seven days from 28 December 2014 for a check of 2013 ran past what a check of 2013 could
    then look at and was a 500; a year is now checked as of any later day (issue 20), so the
    window is answered."""
    answer = city["unit"].get("/api/upcoming?days=7&year=2013&as_of=2014-12-28")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["until"] == "2015-01-04"


@pytest.mark.parametrize("today", [dt.date(2014, 12, 25), dt.date(2014, 12, 29),
                                   dt.date(2014, 12, 31)])
def test_the_home_page_between_christmas_and_new_year(city, monkeypatch, today):
    """The home page with no parameters checks the newest run's year (2013) as of today; in the
    last week of 2014 its seven-day lights reached into 2015, past what a check of 2013 could
    then look at, and every home page was a 500 from 25 to 31 December."""
    class Today(dt.date):
        @classmethod
        def today(cls) -> Today:
            return cls(today.year, today.month, today.day)

    monkeypatch.setattr(actions, "dt", SimpleNamespace(date=Today, timedelta=dt.timedelta))
    for who in ("office", "unit"):
        page = city[who].get("/")
        assert page.status_code == 200, page.text[:300]
        assert f"截至 {today.isoformat()}" in page.text or today.isoformat() in page.text


def test_one_damaged_old_run_leaves_the_home_pages_working(tmp_path):
    """The home page takes its year from the newest recorded check, and checked all fifty
    newest for damage: one run edited outside luoshi failed every unit's home page. The home
    page needs only the newest sound run's year; the office's list of checks still names the
    damaged one."""
    db, *_ = with_runs(tmp_path, 2)
    engine = sa.create_engine(db)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE runs SET findings = '{\"x\": 1}' WHERE id = 1"))
    engine.dispose()
    app = app_for(db)
    office, unit = _answering(app, login(app, "office1")), _answering(app, login(app, "caizheng"))
    for browser in (office, unit):
        page = browser.get("/")
        assert page.status_code == 200, page.text[:300]
        assert "2013" in page.text
    assert "检查记录 1" in office.get("/checks").text


# -- Leaks between units -----------------------------------------------------------------------

PROBES = {  # a unit's record citing a stored record of another unit: (another's id, kind, text)
    "inspection_results": ("cb-ins05", "inspection_results:\n  - {{inspection: {id}, institution: "
                                       "cb-i01, status: implemented}}\n"),
    "warning_measures": ("cb-mc02", "warning_measures:\n  - {{id: cb-wm-probe, basis: {id}, "
                                    "person: cb-p12, date: 2013-07-01, kind: explain}}\n"),
    "rectifications": ("cb-ins05", "rectifications:\n  - {{id: cb-rect-probe, unit: cb-cz, "
                                   "inspection: {id}, problem: 试探}}\n"),
}


def _submit(browser: Browser, name: str, text: str, **data: str):  # noqa: ANN202
    return browser.post("/api/submissions", headers={"x-csrf-token": browser.csrf}, data=data,
                        files=[("files", (name, text.encode()))])


@pytest.mark.parametrize("kind", PROBES)
def test_another_units_record_is_answered_as_a_missing_one(city, kind):
    """财政局 cites a record of 总工会 (its inspection, or 文教局's misconduct): the answer was
    E502 "记录属于单位 cb-gh", or even acceptance, while an id that exists nowhere got E501: so
    a unit could learn which records other units hold, and whose they are. Now a unit's account
    may cite the office's reference records and the stored records that name it; any other id
    gets the very answer a missing one gets. The office, sending for the unit, still reads why."""
    other, text = PROBES[kind]
    unit = city["unit"]
    foreign = _submit(unit, "probe.yaml", text.format(id=other))
    missing = _submit(unit, "probe.yaml", text.format(id="cb-nowhere"))
    assert foreign.status_code == missing.status_code == 422, (foreign.text, missing.text)
    assert foreign.json() == json.loads(missing.text.replace("cb-nowhere", other))
    assert [p["code"] for p in foreign.json()["problems"]] == ["E501"]
    for leak in ("cb-gh", "cb-wj", "属于单位", "其他单位"):
        assert leak not in foreign.text
    if kind != "rectifications":  # the office sending it for 财政局 is told whose it is
        office = _submit(city["office"], "probe.yaml", text.format(id=other), unit="cb-cz")
        assert office.status_code == 422 and "E502" in office.text and "记录属于单位" in office.text


def test_a_unit_still_cites_what_names_it(tmp_path):
    """What a unit may cite: the office's reference records (units, persons, institutions) and
    the stored records that name it, such as 纪委's inspection of it (cb-ins01 targets 财政局)."""
    from .test_versions import submission_of

    unit = login(app_for(make_store(tmp_path)), "caizheng")
    sent = submission_of("cb-cz", EXAMPLE, tmp_path / "cz.yaml").read_text(encoding="utf-8")
    sent = sent.replace("rectifications:\n", "rectifications:\n- {id: cb-rect-own, unit: cb-cz, "
                        "inspection: cb-ins01, institution: cb-i01, person: cb-p12, problem: 自查}\n")
    answer = _submit(unit, "财政局.yaml", sent)
    assert answer.status_code == 201, answer.text[:400]
    assert answer.json()["counts"]["rectifications"]["added"] == 1


def test_a_refused_withdrawal_names_no_record_of_another_unit(tmp_path):
    """财政局 withdraws its inspection cb-ins04, on which 开发区's rectification cb-rect02 rests:
    the refusal named cb-rect02 and the file and line it was loaded from. Now the unit reads
    that the inspection is still cited by other stored records; the office (sending for it, or
    `luoshi load --unit`) still reads which."""
    from .test_versions import submission_of

    db = make_store(tmp_path)
    app = app_for(db)
    unit, office = login(app, "caizheng"), login(app, "office1")
    sent = submission_of("cb-cz", EXAMPLE, tmp_path / "cz.yaml", leave_out={"cb-ins04"},
                         cascade=True).read_text(encoding="utf-8")
    answer = _submit(unit, "财政局.yaml", sent)
    assert answer.status_code == 422, answer.text[:300]
    problems = answer.json()["problems"]
    assert [p["code"] for p in problems] == ["E501"] and "cb-ins04" in problems[0]["message"]
    for leak in ("cb-rect02", "facts.yaml", "rectifications", "cb-kfq", "开发区"):
        assert leak not in answer.text, leak
    page = unit.post("/submit", data={"csrf": unit.csrf},
                     files=[("files", ("财政局.yaml", sent.encode()))])
    assert page.status_code == 422 and "cb-ins04" in page.text
    for leak in ("cb-rect02", "facts.yaml"):
        assert leak not in page.text, leak
    precise = _submit(office, "财政局.yaml", sent, unit="cb-cz")
    assert precise.status_code == 422 and "cb-rect02" in precise.text


# -- Memory and bodies -------------------------------------------------------------------------

def test_the_problems_kept_of_one_input_are_bounded_and_all_counted(monkeypatch):
    """A table with a wrong value in every row has as many problems as rows: a million of them
    for a 20 MB CSV, each kept. Past `MAX_PROBLEMS` they are counted, not kept."""
    from luoshi.facts import problems
    from luoshi.facts.problems import InputError
    from luoshi.facts.validate import read_uploads

    monkeypatch.setattr(problems, "MAX_PROBLEMS", 100)
    rows = "".join(f"u{n},单位{n},not-a-kind\n" for n in range(400))
    with pytest.raises(InputError) as refused:
        read_uploads([("units.csv", ("id,name,kind\n" + rows).encode())])
    assert len(refused.value.problems) == 100 and refused.value.total == 400
    assert {p.code for p in refused.value.problems} == {"E305"}


def _posted(browser: Browser, name: str, data: bytes) -> tuple[object, int, int]:
    """The answer to an upload, the most memory Python held while it was answered (bytes, not
    counting the request), and what it held afterwards."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    answer = browser.post("/api/submissions", headers={"x-csrf-token": browser.csrf},
                          files=[("files", (name, data))])
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return answer, peak - before - 3 * len(data), after - before


def test_a_large_refused_upload_holds_bounded_memory_and_gives_it_back(tmp_path):
    """A refused 20 MB CSV peaked at 3.0 GB (2.9 GB kept): every row was read and kept, and
    with it a problem per row. A submission now reads at most `max_records` records (E107 for
    the rest), keeps at most `MAX_PROBLEMS` problems, and lets each raw record go once it is
    checked; what it held is freed once it is answered. (Memory in bytes Python allocates, a
    correctness bound, not a timing: bench/upload_bench.py measures the server's.)"""
    from luoshi.web.app import MAX_RECORDS

    unit = login(app_for(make_store(tmp_path)), "caizheng")
    rows = 2 * MAX_RECORDS  # every person in a unit that exists nowhere (E501 each)
    data = ("id,name,unit\n" + "".join(f"p{n},张三,nowhere\n" for n in range(rows))).encode()
    answer, peak, kept = _posted(unit, "persons.csv", data)
    assert answer.status_code == 422, answer.text[:300]
    body = answer.json()
    # one E501 per record read, and the E107 where reading stopped
    assert body["total"] == MAX_RECORDS + 1 and len(body["problems"]) == 1000
    assert peak < 100 * 2**20, f"{peak / 2**20:.0f} MB"  # 50,000 records read and checked
    assert kept < 8 * 2**20, f"{kept / 2**20:.0f} MB"


def _asgi(app, method: str, path: str, headers: dict[str, str], chunks: list[bytes]):  # noqa: ANN001, ANN202
    """Call the app directly as a server would: (status, number of body chunks it took)."""
    import anyio

    taken = 0
    status: list[int] = []

    async def receive() -> dict:
        nonlocal taken
        taken += 1
        if taken > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[taken - 1],
                "more_body": taken < len(chunks)}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
             "server": ("portal", 80),
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    anyio.run(app, scope, receive, send)
    return status[0], taken


def test_a_body_past_its_limit_is_refused_before_it_is_read(city):
    """Anyone, before logging in, could make the server take in 20 MB with the login form (the
    limit was the upload's for every form). A request that carries no files may now send 64 KB;
    past its limit a body is refused from its Content-Length before a byte of it is read, and
    while it streams (no Content-Length) as soon as it passes the limit."""
    from luoshi.web import accounts
    from luoshi.web.app import MAX_FORM, MAX_UPLOAD

    app = city["app"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    chunk = b"x" * 65536
    status, taken = _asgi(app, "POST", "/login", {**form, "content-length": str(2**20)},
                          [chunk] * 16)
    assert status in (403, 413) and taken == 0
    status, taken = _asgi(app, "POST", "/login", form, [chunk] * 100)  # streamed, no length
    assert status in (403, 413) and taken <= MAX_FORM // len(chunk) + 1
    token = accounts.new_token(sa.create_engine(city["db"]), "caizheng")
    upload = {"authorization": f"Bearer {token}", "content-type": "multipart/form-data; boundary=x"}
    status, taken = _asgi(app, "POST", "/api/submissions",
                          {**upload, "content-length": str(MAX_UPLOAD + 1)}, [chunk])
    assert status == 413 and taken == 0
    part = (b'--x\r\ncontent-disposition: form-data; name="files"; filename="a.csv"\r\n'
            b"content-type: text/csv\r\n\r\n")
    many = MAX_UPLOAD // len(chunk) + 50
    status, taken = _asgi(app, "POST", "/api/submissions", upload, [part] + [chunk] * many)
    assert status == 413 and taken <= MAX_UPLOAD // len(chunk) + 1


# -- Documents of a recorded run ---------------------------------------------------------------

def _text(content: bytes) -> str:
    """A workbook's cells, a DOCX's parts unpacked, or the answer itself, as text."""
    import io
    import zipfile

    import openpyxl

    if not content.startswith(b"PK"):
        return content.decode("utf-8", "replace")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        if "xl/workbook.xml" in archive.namelist():  # its text as character references
            book = openpyxl.load_workbook(io.BytesIO(content))
            return "\n".join(str(cell.value) for sheet in book for row in sheet.iter_rows()
                             for cell in row)
        return b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8", "replace")


RENAMED = ("units:\n  - {id: cb-cz, name: 赤壁市财政和国资局, kind: department, party_secretary: "
           "cb-p10, main_leader: cb-p11, responsible_body: 内控建设领导小组办公室, "
           "discipline_organ: cb-jw}\n"
           "persons:\n  - {id: cb-p12, name: 邹新凯, unit: cb-cz, post: 国库股股长}\n")


def test_a_recorded_runs_documents_keep_the_names_it_had(tmp_path):
    """A recorded run's notice and report were made with the names in the store at download
    time: after 财政局 was renamed, last year's notice was addressed to the new name. Now they
    print the names of the stored records as they were right after the run's load, in the
    portal and with `luoshi notices --run`."""
    from typer.testing import CliRunner

    from luoshi.cli.main import app as cli

    db, app, office, [number] = with_runs(tmp_path)
    urls = [f"/api/runs/{number}/notices/cb-cz", f"/api/runs/{number}/report.html",
            f"/api/runs/{number}/report.xlsx"]
    before = [_text(office.get(url).content) for url in urls]
    assert all("赤壁市财政局" in text for text in before)
    assert "邹凯（cb-p12）" in before[2]  # the person an accountability names
    renamed = _submit(office, "改名.yaml", RENAMED)  # the office's merge: a rename
    assert renamed.status_code == 201, renamed.text[:300]
    assert "赤壁市财政和国资局" in office.get("/?year=2013&as_of=2013-12-31").text  # it took
    for url, then in zip(urls, before, strict=True):
        now = _text(office.get(url).content)
        assert "赤壁市财政和国资局" not in now and "邹新凯" not in now, url
        assert "赤壁市财政局" in now, url
        if url.endswith("cb-cz"):
            assert now == then  # the very document
    out = tmp_path / "notices"
    result = CliRunner().invoke(cli, ["notices", "--run", str(number), "--db", db, "--out",
                                      str(out), "--format", "md"])
    assert result.exit_code == 0, result.output
    written = "".join(path.read_text(encoding="utf-8") for path in out.glob("*.md"))
    assert "赤壁市财政局" in written and "赤壁市财政和国资局" not in written
    assert "邹新凯" not in written


def test_downloading_a_recorded_runs_documents_checks_nothing(city, monkeypatch):
    """Each notice or report download ran a whole-city check only to find names (3 s at 700
    units, 11.5 s with four at once). Now it reads the run's names; the engine is not asked."""
    from luoshi.engine.runtime import run

    def no_check(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a download checked the city")

    monkeypatch.setattr(run, "check", no_check)
    number = city["run"]
    for browser, url in ((city["office"], f"/api/runs/{number}/notices/cb-gh"),
                         (city["unit"], f"/api/runs/{number}/notices/cb-cz"),
                         (city["office"], f"/api/runs/{number}/report.html"),
                         (city["office"], f"/api/runs/{number}/report.xlsx")):
        answer = browser.get(url)
        assert answer.status_code == 200, (url, answer.text[:300])
