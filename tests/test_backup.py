"""Backups as docs/deploy.md tells an office to take them, restored into a fresh database: the
recorded runs (`luoshi history`), the submissions and a new check are the same there.

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


def test_sqlite_backup_and_restore(example_path, tmp_path):
    live = tmp_path / "luoshi.db"
    before = recorded(str(live), example_path)
    backup = tmp_path / "backup" / "luoshi-2013-12-31.db"
    backup.parent.mkdir()
    if shutil.which("sqlite3"):
        done = subprocess.run(["sqlite3", str(live), f".backup '{backup}'"], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
    else:
        with sqlite3.connect(live) as source, sqlite3.connect(backup) as target:
            source.backup(target)
    # Restoring is copying the backup into place, with the portal stopped.
    restored = tmp_path / "restored" / "luoshi.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    with sqlite3.connect(restored) as connection:
        assert connection.execute("pragma integrity_check").fetchone() == ("ok",)
    assert state(str(restored)) == before
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
        dump = tmp_path / "luoshi.dump"
        done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump),
                               "--dbname", _libpq(live_url)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{restored_name}"'))
        done = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname",
                               _libpq(restored_url), str(dump)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        restored = restored_url.render_as_string(hide_password=False)
        assert state(restored) == before
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
