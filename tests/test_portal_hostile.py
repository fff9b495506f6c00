"""The third hostile round against the portal (issue 21): choices the portal offers that ended
in a 500, answers that told one unit about another, and requests that froze or exhausted the
server. Each test is a case that once failed."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from luoshi.web import actions

from .portal import Browser, app_for, login, make_store


def _answering(app, browser: Browser) -> Browser:  # noqa: ANN001
    """The browser with a client that answers as a server does (a 500, not an exception)."""
    browser.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                                cookies=browser.client.cookies)
    return browser


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The example city (2013) with one recorded check, as the office and a unit see it."""
    db = make_store(tmp_path_factory.mktemp("hostile"))
    app = app_for(db)
    office = login(app, "office1")
    answer = office.post("/api/runs", json={"year": 2013, "as_of": "2013-12-31"},
                         headers={"x-csrf-token": office.csrf})
    assert answer.status_code == 201, answer.text
    return {"db": db, "app": app, "run": answer.json()["id"],
            "office": _answering(app, office), "unit": _answering(app, login(app, "caizheng"))}


# -- 500s for allowed choices ------------------------------------------------------------------

def test_upcoming_with_no_days_is_refused_in_words_not_a_500(city):
    """`days=0` passed the portal's check ("days 应为 0–366 的整数") and failed in the engine
    ("天数应为正整数") as a 500."""
    for who in ("office", "unit"):
        answer = city[who].get("/api/upcoming?days=0&year=2013&as_of=2013-10-01")
        assert answer.status_code == 422, answer.text[:300]
        assert "1–366" in answer.json()["detail"]


def test_upcoming_past_the_years_reach_is_refused_in_words_not_a_500(city):
    """A check of 2013 may be run as of any day of 2013 or 2014; seven days from 28 December
    2014 end past that, and the engine's refusal was a 500."""
    answer = city["unit"].get("/api/upcoming?days=7&year=2013&as_of=2014-12-28")
    assert answer.status_code == 422, answer.text[:300]
    assert "2014-12-31" in answer.json()["detail"] and "至多 3 天" in answer.json()["detail"]


@pytest.mark.parametrize("today", [dt.date(2014, 12, 25), dt.date(2014, 12, 29),
                                   dt.date(2014, 12, 31)])
def test_the_home_page_between_christmas_and_new_year(city, monkeypatch, today):
    """The home page with no parameters checks the newest run's year (2013) as of today; in the
    last week of 2014 its seven-day lights reached into 2015, past what a check of 2013 may
    look at, and every home page was a 500 from 25 to 31 December."""
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
    db = make_store(tmp_path)
    app = app_for(db)
    office = login(app, "office1")
    for _ in range(2):
        assert office.post("/api/runs", json={"year": 2013},
                           headers={"x-csrf-token": office.csrf}).status_code == 201
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
