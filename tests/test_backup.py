"""Backups as docs/deploy.md tells an office to take them, restored into a fresh database: the
recorded runs (`luoshi history`), the submissions and a new check are the same there; after
`luoshi db after-restore --before` no session or token of the backup works, and accounts
disabled (or whose password changed) since the backup are disabled.

PostgreSQL: `pg_dump -Fc` and `pg_restore` (runs with LUOSHI_TEST_POSTGRES, in databases of
its own named luoshi_ops_*). SQLite: `sqlite3 DB ".backup FILE"` (Python's sqlite3 backup, the
same SQLite online-backup API, where the sqlite3 program is not installed).
"""

import json
import os
import shutil
import sqlite3
import subprocess
import uuid

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts import store

runner = CliRunner()


def luoshi(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def state(db: str) -> dict:
    """What an office reads back from a database: runs, submissions, and a check."""
    history = luoshi("history", "--db", db)
    assert history.exit_code == 0, history.output
    submissions = luoshi("submissions", "--db", db, "--format", "json")
    assert submissions.exit_code == 0, submissions.output
    check = luoshi("check", "--year", "2013", "--db", db, "--format", "json")
    assert check.exit_code == 1, check.output
    data = json.loads(check.stdout)
    return {"history": history.stdout, "submissions": json.loads(submissions.stdout),
            "findings": data["findings"], "triggers": data["triggers"]}


def recorded(db: str, example_path) -> dict:
    assert luoshi("load", example_path, "--db", db, "--by", "王芳").exit_code == 0
    run = luoshi("check", "--year", "2013", "--db", db, "--record", "--format", "json")
    assert run.exit_code == 1, run.output
    before = state(db)
    assert "检查记录（1 次）" in before["history"] and len(before["findings"]) > 20
    return before


def same_after_a_second_run(db: str) -> None:
    """A run recorded after the restore compares with the restored one: nothing new, nothing
    resolved (the restored run is a real run of the store, not just text)."""
    assert luoshi("check", "--year", "2013", "--db", db, "--record",
                  "--format", "json").exit_code == 1
    diff = luoshi("diff", "--db", db, "--format", "json")
    assert diff.exit_code == 0, diff.output
    changes = json.loads(diff.stdout)
    assert changes["new"] == [] and changes["resolved"] == [] and changes["open"]


# ---- accounts: what a backup brings back ----------------------------------------------------

class Accounts:
    """A live portal's accounts at the time of a backup: a logged-in office, a unit's script
    token, and three unit accounts; then, after the backup, what the office did to them."""

    def __init__(self, db: str) -> None:
        from luoshi.web import accounts

        from .portal import app_for, login

        engine = store.connect(db)
        for name, unit in (("caizheng", "cb-cz"), ("gonghui", "cb-gh"), ("wenjian", "cb-wj")):
            accounts.add_user(engine, name, "unit", unit, f"Kl-{name[:2]}-口令-1")
        accounts.add_user(engine, "office1", "office", None, "Of-口令-Zw1")
        self.token = luoshi("users", "token", "caizheng", "--db", db).stdout.strip()
        self.old_token = luoshi("users", "token", "wenjian", "--db", db).stdout.strip()
        self.cookies = dict(login(app_for(db), "office1", "Of-口令-Zw1").client.cookies)
        engine.dispose()

    def after_the_backup(self, db: str) -> None:
        """The office disables an account, revokes a token, and a password is changed."""
        from argon2 import PasswordHasher

        assert luoshi("users", "disable", "gonghui", "--db", db).exit_code == 0
        assert luoshi("users", "revoke", "wenjian", "--db", db).exit_code == 0
        engine = store.connect(db)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE users SET password_hash = :h WHERE name = 'caizheng'"),
                               {"h": PasswordHasher().hash("Cz-口令-Zw2")})
            connection.execute(sa.text("DELETE FROM web_sessions"))  # the office logged out
        engine.dispose()
        added = runner.invoke(app, ["users", "add", "xinren", "--role", "office",
                                    "--password-stdin", "--db", db], input="Xr-口令-Zw1\n")
        assert added.exit_code == 0, added.output

    def none_comes_back(self, restored: str, live: str) -> None:
        """What `luoshi db after-restore --before` leaves: no session, no token, the accounts
        disabled since the backup and the one whose password changed disabled."""
        from starlette.testclient import TestClient

        from .portal import app_for

        app = app_for(restored)
        browser = TestClient(app, follow_redirects=False, cookies=self.cookies)
        assert browser.get("/submit").status_code == 200  # the backup brought the session back
        scripted = {"authorization": f"Bearer {self.old_token}"}
        assert browser.get("/api/submissions", headers=scripted).status_code == 200
        done = luoshi("db", "after-restore", "--db", restored, "--before", live)
        assert done.exit_code == 0, done.output
        assert "已结束 1 个登录会话，吊销 2 个 API 令牌" in done.stderr
        assert "重新停用的账号：gonghui" in done.stderr
        assert "改过口令、已停用的账号（重置口令后再启用）：caizheng" in done.stderr
        assert "恢复的数据库中没有的账号（需要时重新建立）：xinren" in done.stderr
        assert browser.get("/submit").headers.get("location") == "/login"
        for token in (self.token, self.old_token):
            assert browser.get("/api/submissions", headers={
                "authorization": f"Bearer {token}"}).status_code == 401
        listing = luoshi("users", "list", "--db", restored).stdout
        states = {line.split()[1]: line for line in listing.splitlines() if "cb-" in line}
        assert "已停用" in states["caizheng"] and "已停用" in states["gonghui"]
        assert "在用" in states["wenjian"]
        again = luoshi("db", "after-restore", "--db", restored)  # harmless a second time
        assert again.exit_code == 0 and "已结束 0 个登录会话，吊销 0 个" in again.stderr
        assert "无从得知" in again.stderr
        audit = store.connect(restored)
        with audit.connect() as connection:
            changes = [detail for (detail,) in connection.execute(sa.text(
                "SELECT detail FROM audit_log WHERE action = 'account'"))]
        audit.dispose()
        assert sum("after_restore" in str(detail) for detail in changes) == 2


def test_sqlite_backup_and_restore(example_path, tmp_path):
    live = tmp_path / "luoshi.db"
    before = recorded(str(live), example_path)
    users = Accounts(str(live))
    backup = tmp_path / "backup" / "luoshi-2013-12-31.db"
    backup.parent.mkdir()
    if shutil.which("sqlite3"):
        done = subprocess.run(["sqlite3", str(live), f".backup '{backup}'"], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
    else:
        with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
            source.backup(target)
    users.after_the_backup(str(live))
    # Restoring is copying the backup into place, with the portal stopped, the replaced
    # database kept beside it; then `luoshi db after-restore --before` it.
    restored = tmp_path / "restored" / "luoshi.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
    assert state(str(restored)) == before
    users.none_comes_back(str(restored), str(live))
    same_after_a_second_run(str(restored))


def _libpq(url: sa.URL) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.skipif(shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
                    reason="the PostgreSQL backup test needs pg_dump and pg_restore")
def test_postgresql_dump_and_restore(example_path, tmp_path):
    server = os.environ.get("LUOSHI_TEST_POSTGRES")
    if not server:
        pytest.skip("PostgreSQL tests need LUOSHI_TEST_POSTGRES=postgresql+psycopg://user@host:port/db")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    suffix = uuid.uuid4().hex[:10]
    live_name, restored_name = f"luoshi_ops_live_{suffix}", f"luoshi_ops_restored_{suffix}"
    live_url = admin.url.set(database=live_name)
    restored_url = admin.url.set(database=restored_name)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{live_name}"'))
        live = live_url.render_as_string(hide_password=False)
        before = recorded(live, example_path)
        users = Accounts(live)
        dump = tmp_path / "luoshi.dump"
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump),
                               "--dbname", _libpq(live_url)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        users.after_the_backup(live)
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{restored_name}"'))
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname",
                               _libpq(restored_url), str(dump)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        restored = restored_url.render_as_string(hide_password=False)
        assert state(restored) == before
        users.none_comes_back(restored, live)
        same_after_a_second_run(restored)
        # New rows get new ids after the restore: the sequences came back with the data.
        assert luoshi("load", example_path, "--db", restored).exit_code == 0
        listing = json.loads(luoshi("submissions", "--db", restored, "--format", "json").stdout)
        assert [item["id"] for item in listing][:2] == [2, 1]
    finally:
        with admin.connect() as connection:
            for name in (live_name, restored_name):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
