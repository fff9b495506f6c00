"""Accounts as 等保 2.0 level 3 asks of the application (issue 21, item 4): passwords changed by
their holder, reset by the administrator, with rules and a history; sessions that end when idle
and after a working day; the second factor (TOTP); re-enabling an account."""

from __future__ import annotations

import datetime as dt
import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from luoshi.cli.main import app as cli
from luoshi.facts import store
from luoshi.facts.tables import USERS, WEB_SESSIONS
from luoshi.web import accounts

from .portal import CSRF, PASSWORD, anonymous, app_for, login, make_store

runner = CliRunner()


@pytest.fixture
def fresh(tmp_path):
    db = make_store(tmp_path)
    return db, app_for(db)


def _login_form(app, name: str, password: str):  # noqa: ANN001, ANN202
    """(browser, the answer to the login form's POST)."""
    browser = anonymous(app)
    page = browser.get("/login")
    answer = browser.post("/login", data={"csrf": CSRF.search(page.text)[1], "name": name,
                                          "password": password})
    return browser, answer


def _form_csrf(page: str) -> str:
    return CSRF.search(page)[1]


# -- passwords ----------------------------------------------------------------------------

def test_users_passwd_sets_a_password_from_stdin_and_ends_the_sessions(fresh):
    db, app = fresh
    unit = login(app, "caizheng")
    token = accounts.new_token(store.connect(db), "caizheng")
    done = runner.invoke(cli, ["users", "passwd", "caizheng", "--password-stdin", "--db", db],
                         input="New-pass-cz1\n")
    assert done.exit_code == 0, done.output
    assert unit.get("/").status_code == 303  # the session ended
    # the token is a separate credential: it stays in force (docs/web.md)
    assert anonymous(app).get("/api/submissions",
                              headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert _login_form(app, "caizheng", PASSWORD["caizheng"])[1].status_code == 401
    login(app, "caizheng", "New-pass-cz1")
    weak = runner.invoke(cli, ["users", "passwd", "caizheng", "--password-stdin", "--db", db],
                         input="alllowercase\n")
    assert weak.exit_code == 2 and "至少 3 类" in weak.output
    unknown = runner.invoke(cli, ["users", "passwd", "nobody", "--password-stdin", "--db", db],
                            input="New-pass-cz2\n")
    assert unknown.exit_code == 2 and "没有用户 nobody" in unknown.output
    entries = runner.invoke(cli, ["audit", "--action", "account", "--format", "json", "--db", db])
    assert '"change": "reset"' in entries.stdout and '"user": "caizheng"' in entries.stdout


def test_a_user_changes_their_own_password_and_their_other_sessions_end(fresh):
    db, app = fresh
    here, elsewhere = login(app, "caizheng"), login(app, "caizheng")
    wrong = here.post("/account/password", data={"csrf": here.csrf, "old": "not-it",
                                                  "new": "Better-pass-1", "again": "Better-pass-1"})
    assert wrong.status_code == 422 and "原密码不正确" in wrong.text
    mismatch = here.post("/account/password", data={
        "csrf": here.csrf, "old": PASSWORD["caizheng"], "new": "Better-pass-1", "again": "x"})
    assert mismatch.status_code == 422 and "不一致" in mismatch.text
    done = here.post("/account/password", data={
        "csrf": here.csrf, "old": PASSWORD["caizheng"], "new": "Better-pass-1",
        "again": "Better-pass-1"})
    assert done.status_code == 200 and "密码已修改" in done.text
    assert here.get("/").status_code == 200  # this session goes on
    assert elsewhere.get("/").status_code == 303  # the other one ended
    login(app, "caizheng", "Better-pass-1")
    page = login(app, "auditor1").get("/audit?action=password").text
    assert "修改密码" in page and "caizheng" in page


def test_password_rules_and_history_come_from_luoshi_toml(tmp_path):
    db = make_store(tmp_path)
    config = tmp_path / "luoshi.toml"
    config.write_text("[accounts]\npassword_min_length = 12\npassword_classes = 4\n"
                      "password_history = 2\n", encoding="utf-8")
    app = app_for(db, config=str(config))
    unit = login(app, "caizheng")
    passwords = [PASSWORD["caizheng"], "First-pass-12", "Second-pass-12", "Third-pass-123"]

    def change(old: str, new: str):  # noqa: ANN202
        return unit.post("/account/password", data={"csrf": unit.csrf, "old": old, "new": new,
                                                     "again": new})

    assert "至少 12 个字符" in change(passwords[0], "Short-1").text
    assert "至少 4 类" in change(passwords[0], "no-upper-case-1").text
    assert "不能包含用户名" in change(passwords[0], "Caizheng-pass-1").text
    for old, new in zip(passwords, passwords[1:], strict=False):
        assert change(old, new).status_code == 200
    # the last two (the current one and the one before) may not come back; the third may
    for earlier in passwords[2:]:
        again = change(passwords[-1], earlier)
        assert again.status_code == 422 and "最近 2 次" in again.text, earlier
    assert change(passwords[-1], passwords[1]).status_code == 200
    with store.connect(db).connect() as connection:
        kept = connection.execute(sa.text("SELECT password_hash FROM password_history")).scalars()
        assert all(value.startswith("$argon2id$") for value in kept)
    bad = tmp_path / "bad.toml"
    bad.write_text("[accounts]\npassword_min_length = 4\n", encoding="utf-8")
    refused = runner.invoke(cli, ["users", "add", "z", "--role", "office", "--password-stdin",
                                  "--db", db, "--config", str(bad)], input="Long-pass-1\n")
    assert refused.exit_code == 2 and "password_min_length 应为 8 到 128" in refused.output


def test_an_administrator_resets_a_password_and_it_must_be_changed(fresh):
    db, app = fresh
    admin, unit = login(app, "admin1"), login(app, "caizheng")
    weak = admin.post("/users/caizheng/reset", data={"csrf": admin.csrf, "password": "short"})
    assert weak.status_code == 422 and "至少 8 个字符" in weak.text
    done = admin.post("/users/caizheng/reset", data={"csrf": admin.csrf, "password": "Temp-pass-99"})
    assert done.status_code == 200 and "已重置 caizheng 的密码" in done.text
    assert unit.get("/").status_code == 303  # its session ended
    browser, answer = _login_form(app, "caizheng", "Temp-pass-99")
    assert answer.headers["location"] == "/login/next"
    assert browser.get("/").status_code == 303  # nothing before the new password
    step = browser.get("/login/next")
    assert "设置新密码" in step.text
    same = browser.post("/login/next", data={"csrf": _form_csrf(step.text), "new": "Temp-pass-99",
                                             "again": "Temp-pass-99"})
    assert same.status_code == 422 and "最近 5 次" in same.text
    done = browser.post("/login/next", data={"csrf": _form_csrf(step.text), "new": "Own-pass-777",
                                             "again": "Own-pass-777"})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert browser.get("/").status_code == 200
    login(app, "caizheng", "Own-pass-777")


def test_a_disabled_account_is_enabled_again(fresh):
    db, app = fresh
    assert runner.invoke(cli, ["users", "disable", "caizheng", "--db", db]).exit_code == 0
    assert _login_form(app, "caizheng", PASSWORD["caizheng"])[1].status_code == 401
    done = runner.invoke(cli, ["users", "enable", "caizheng", "--db", db])
    assert done.exit_code == 0, done.output
    login(app, "caizheng")
    again = runner.invoke(cli, ["users", "enable", "caizheng", "--db", db])
    assert again.exit_code == 2 and "没有停用" in again.output


def test_the_first_administrator_and_auditor_are_made_with_users_add(tmp_path):
    db = make_store(tmp_path)
    for name, role in (("sysadmin", "admin"), ("shenji", "auditor")):
        made = runner.invoke(cli, ["users", "add", name, "--role", role, "--password-stdin",
                                   "--db", db], input="First-pass-1\n")
        assert made.exit_code == 0, made.output
    listed = runner.invoke(cli, ["users", "list", "--db", db]).stdout
    assert "系统管理员" in listed and "审计员" in listed
    refused = runner.invoke(cli, ["users", "token", "sysadmin", "--db", db])
    assert refused.exit_code == 2 and "不签发 API 令牌" in refused.output


# -- sessions ------------------------------------------------------------------------------

def _age_sessions(db: str, **ago: dt.timedelta) -> None:
    moment = dt.datetime.now(dt.UTC)
    with store.connect(db).begin() as connection:
        connection.execute(sa.update(WEB_SESSIONS).values(
            **{column: moment - delta for column, delta in ago.items()}))


def test_an_idle_session_ends_after_idle_minutes(fresh):
    db, app = fresh
    browser = login(app, "caizheng")
    _age_sessions(db, last_seen_at=dt.timedelta(minutes=29))
    assert browser.get("/").status_code == 200  # in use: its idle time starts again
    _age_sessions(db, last_seen_at=dt.timedelta(minutes=31))
    assert browser.get("/").status_code == 303
    assert browser.get("/api/submissions").status_code == 401


def test_idle_and_session_hours_are_settings(tmp_path):
    db = make_store(tmp_path)
    config = tmp_path / "luoshi.toml"
    config.write_text("[accounts]\nidle_minutes = 5\nsession_hours = 2\n", encoding="utf-8")
    app = app_for(db, config=str(config))
    browser = login(app, "caizheng")
    _age_sessions(db, last_seen_at=dt.timedelta(minutes=6))
    assert browser.get("/").status_code == 303
    browser = login(app, "caizheng")
    with store.connect(db).connect() as connection:
        row = connection.execute(sa.select(WEB_SESSIONS)).first()
    lasts = row.expires_at.replace(tzinfo=dt.UTC) - row.created_at.replace(tzinfo=dt.UTC)
    assert lasts == dt.timedelta(hours=2)


# -- the second factor --------------------------------------------------------------------

def _code(secret: str, ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + ahead * 30)


def _enrol_in_portal(browser) -> str:  # noqa: ANN001
    """Enrol from 我的账号; the secret shown on the page."""
    page = browser.get("/account?enrol=1").text
    assert '<img src="data:image/svg+xml' in page  # the QR code, drawn on the server
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)[1].replace(" ", "")
    sealed = re.search(r'name="secret" value="([^"]+)"', page)[1]
    done = browser.post("/account/totp", data={"csrf": browser.csrf, "secret": sealed,
                                                "code": _code(secret)})
    assert done.status_code == 200 and "已绑定双因素验证" in done.text, done.text[-2000:]
    return secret


def test_a_user_enrols_a_second_factor_and_then_logs_in_with_a_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the key file is made next to luoshi.toml (here: none)
    db = make_store(tmp_path)
    app = app_for(db)
    secret = _enrol_in_portal(login(app, "caizheng"))
    assert (tmp_path / "luoshi-secret.key").stat().st_mode & 0o077 == 0
    browser, answer = _login_form(app, "caizheng", PASSWORD["caizheng"])
    assert answer.headers["location"] == "/login/next"
    assert browser.get("/api/submissions").status_code == 401  # the password alone is not a login
    step = browser.get("/login/next")
    wrong = browser.post("/login/next", data={"csrf": _form_csrf(step.text), "code": "000000"})
    assert wrong.status_code == 401 and "验证码不正确" in wrong.text
    code = _code(secret, 1)
    right = browser.post("/login/next", data={"csrf": _form_csrf(step.text), "code": code})
    assert right.status_code == 303 and browser.get("/").status_code == 200
    # the same code does not log in twice (seen over a shoulder)
    other, _ = _login_form(app, "caizheng", PASSWORD["caizheng"])
    step = other.get("/login/next")
    replayed = other.post("/login/next", data={"csrf": _form_csrf(step.text), "code": code})
    assert replayed.status_code == 401
    # the secret is in the database only encrypted
    with store.connect(db).connect() as connection:
        stored = connection.scalar(sa.select(USERS.c.totp_secret).where(USERS.c.name == "caizheng"))
    assert stored.startswith("v1:") and secret not in stored
    raw = (tmp_path / "portal.db").read_bytes()
    assert secret.encode() not in raw
    page = login(app, "auditor1").get("/audit?action=totp").text
    assert "绑定" in page and "caizheng" in page


def test_administrators_must_have_a_second_factor_when_luoshi_toml_says_so(tmp_path):
    db = make_store(tmp_path)
    config = tmp_path / "luoshi.toml"
    config.write_text('[accounts]\ntotp_required = ["admin"]\n', encoding="utf-8")
    app = app_for(db, config=str(config))
    browser, answer = _login_form(app, "admin1", PASSWORD["admin1"])
    assert answer.headers["location"] == "/login/next"
    assert browser.get("/users").status_code == 303  # not before the second factor
    step = browser.get("/login/next").text
    assert "绑定双因素验证" in step and '<img src="data:image/svg+xml' in step
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', step)[1].replace(" ", "")
    sealed = re.search(r'name="secret" value="([^"]+)"', step)[1]
    done = browser.post("/login/next", data={"csrf": _form_csrf(step), "secret": sealed,
                                             "code": _code(secret)})
    assert done.status_code == 303 and browser.get("/users").status_code == 200
    assert (tmp_path / "luoshi-secret.key").exists()  # next to luoshi.toml
    # the administrator cannot take the factor off; a unit's clerk (not required) needs none
    admin = browser
    admin.csrf = _form_csrf(admin.get("/account").text)
    kept = admin.post("/account/totp", data={"csrf": admin.csrf, "off": "1",
                                             "password": PASSWORD["admin1"]})
    assert kept.status_code == 422 and "必须使用双因素验证" in kept.text
    login(app, "caizheng")


def test_the_cli_enrols_and_removes_a_second_factor(tmp_path, monkeypatch):
    from luoshi.web import totp

    monkeypatch.chdir(tmp_path)
    db = make_store(tmp_path)
    started = runner.invoke(cli, ["users", "totp", "caizheng", "--db", db], input="123\n")
    assert started.exit_code == 2 and "验证码不正确" in started.output
    uri = started.stdout.splitlines()[0]
    assert uri.startswith("otpauth://totp/") and "caizheng" in uri and "secret=" in uri
    secret = pyotp.random_base32()
    monkeypatch.setattr(totp, "new_secret", lambda: secret)
    enrolled = runner.invoke(cli, ["users", "totp", "caizheng", "--db", db],
                             input=_code(secret) + "\n")
    assert enrolled.exit_code == 0, enrolled.output
    assert "已绑定" in runner.invoke(cli, ["users", "list", "--db", db]).stdout
    app = app_for(db)
    assert _login_form(app, "caizheng", PASSWORD["caizheng"])[1].headers["location"] == "/login/next"
    off = runner.invoke(cli, ["users", "totp", "caizheng", "--off", "--db", db])
    assert off.exit_code == 0, off.output
    login(app, "caizheng")
