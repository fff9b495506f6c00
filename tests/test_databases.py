"""Which databases luoshi reads and writes: only its own at this luoshi's schema revision.

Another application's database, one of a newer luoshi, one that lacks a column and one of an
older luoshi (until `luoshi db upgrade`) are refused by every writing command with exit 2 and
left byte for byte as they were; a read-only database (a `?mode=ro` URL, a read-only file and
folder) is read by every reading command and refused by the writing ones."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts import database, store

from .test_versions import upgrade

runner = CliRunner()
# Every command that writes to the database, as a user runs it (the password from stdin).
WRITING = [
    ["load", "{example}"],
    ["load", "{example}", "--replace"],
    ["check", "--year", "2013", "--record", "--format", "json"],
    ["db", "upgrade"],
    ["users", "add", "某人", "--role", "office", "--password-stdin"],
]
# Every command that only reads it.
READING = [
    ["check", "--year", "2013", "--format", "json"],
    ["report", "--year", "2013", "--format", "json"],
    ["history"],
    ["diff"],
    ["explain", "{finding}", "--year", "2013"],
    ["notices", "--year", "2013", "--out", "{out}/notices"],
    ["notices", "--run", "1", "--out", "{out}/recorded"],
    ["submissions"],
    ["submissions", "--files", "1", "--out", "{out}/files"],
    ["changes"],
    ["verify"],
    ["rerun", "1"],
    ["upcoming", "--year", "2013", "--days", "30", "--as-of", "2013-06-01"],
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def filled(args: list[str], **values: str) -> list[str]:
    return [arg.format(**values) for arg in args]


def luoshi(*args: str, db: str):  # noqa: ANN201 (click's Result)
    return runner.invoke(app, [*args, "--db", db], input="口令-1234\n")


def city(folder: Path, example: Path) -> Path:
    """A SQLite store of the example with two recorded checks."""
    path = folder / "city.db"
    assert luoshi("load", str(example), db=str(path)).exit_code == 0
    for as_of in ("2013-06-30", "2013-12-31"):
        assert luoshi("check", "--year", "2013", "--as-of", as_of, "--record", db=str(path)) \
            .exit_code == 1
    return path


def test_the_newest_revision_is_the_one_alembic_finds():
    scripts = ScriptDirectory(str(database.MIGRATIONS))
    assert database.head() == scripts.get_current_head()
    assert list(database.revisions()) == [script.revision for script in
                                          reversed(list(scripts.walk_revisions()))]


# ---- not ours, not ours yet ----------------------------------------------------------------

def run_sql(path: Path, *statements: str) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
    engine.dispose()


def other_application(path: Path) -> None:
    run_sql(path, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO customers VALUES (1, '客户')")


def another_alembic_application(path: Path) -> None:
    run_sql(path, "CREATE TABLE alembic_version (version_num VARCHAR(32))",
            "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY)")


def newer_luoshi(path: Path) -> None:
    run_sql(path, "UPDATE alembic_version SET version_num = '9999'")


def lacking_a_column(path: Path) -> None:
    run_sql(path, "ALTER TABLE loads DROP COLUMN note")


@pytest.mark.parametrize(("make", "says"), [
    (other_application, "不是 luoshi 的数据库（其中已有 customers 表）"),
    (another_alembic_application, "不是 luoshi 的数据库"),
    (newer_luoshi, "更新版本的 luoshi"),
    (lacking_a_column, "结构不完整（缺少 loads.note）"),
], ids=["another application", "another Alembic application", "a newer luoshi",
        "a missing column"])
def test_a_database_not_ours_is_refused_by_every_command_and_left_byte_for_byte(
        make, says, example_path, tmp_path):
    path = tmp_path / "x.db"
    if make is other_application or make is another_alembic_application:
        make(path)
    else:
        shutil.copy(city(tmp_path, example_path), path)
        make(path)
    before = digest(path)
    for args in WRITING + READING[:3]:
        result = luoshi(*filled(args, example=str(example_path), finding="x", out=str(tmp_path)),
                        db=str(path))
        assert result.exit_code == 2, (args, result.output)
        assert "E602" in result.stderr and says in result.stderr, (args, result.stderr)
        assert "没有做任何改动" in result.stderr and "Traceback" not in result.output
        assert digest(path) == before, args


def test_a_database_of_another_application_gets_no_table_of_luoshis(example_path, db_url):
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
    before = sa.inspect(engine).get_table_names()
    for args in WRITING:
        result = luoshi(*filled(args, example=str(example_path)), db=db_url)
        assert result.exit_code == 2 and "E602" in result.stderr, (args, result.output)
    assert sa.inspect(engine).get_table_names() == before
    engine.dispose()


def test_an_older_schema_is_upgraded_only_by_db_upgrade_or_serve(example_path, tmp_path, db_url):
    upgrade(db_url, "0005")
    for args in WRITING[:3] + READING[:2]:
        result = luoshi(*filled(args, example=str(example_path)), db=db_url)
        assert result.exit_code == 2, (args, result.output)
        assert "E602" in result.stderr and "luoshi db upgrade" in result.stderr, result.stderr
    if db_url.startswith("sqlite"):
        path = Path(sa.make_url(db_url).database)
        before = digest(path)
        assert luoshi("load", str(example_path), db=db_url).exit_code == 2
        assert digest(path) == before
    result = luoshi("db", "upgrade", db=db_url)
    assert result.exit_code == 0, result.output
    assert f"从版本 0005 升级到 {database.head()}" in result.stderr
    assert "已是最新" in luoshi("db", "upgrade", db=db_url).stderr
    assert luoshi("load", str(example_path), db=db_url).exit_code == 0

    upgrade(f"sqlite:///{tmp_path / 'served.db'}", "0005")  # serve upgrades at its start
    from luoshi.web.app import create_app

    create_app(str(tmp_path / "served.db"))
    assert store.readable(str(tmp_path / "served.db"))


def test_an_empty_database_becomes_luoshis_at_the_first_load(example_path, tmp_path):
    created = luoshi("db", "upgrade", db=str(tmp_path / "new.db"))
    assert created.exit_code == 0 and "已在空数据库" in created.stderr
    assert luoshi("load", str(example_path), db=str(tmp_path / "first.db")).exit_code == 0
    missing = luoshi("check", "--year", "2013", db=str(tmp_path / "none.db"))
    assert missing.exit_code == 2 and not (tmp_path / "none.db").exists()


# ---- read-only --------------------------------------------------------------------------

def finding_of(path: Path) -> str:
    result = luoshi("check", "--year", "2013", "--format", "json", db=str(path))
    return json.loads(result.stdout)["findings"][0]["id"]


def test_a_read_only_url_serves_every_reading_command_and_refuses_writing(
        example_path, tmp_path):
    path = city(tmp_path, example_path)
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    values = {"example": str(example_path), "finding": finding_of(path), "out": str(tmp_path)}
    (tmp_path / "city.db-wal").unlink(missing_ok=True)
    before = digest(path)
    for args in READING:
        result = luoshi(*filled(args, **values), db=url)
        assert result.exit_code in (0, 1), (args, result.output)
    assert json.loads(luoshi("check", "--year", "2013", "--format", "json", db=url).stdout)[
        "findings"]
    for args in WRITING:
        result = luoshi(*filled(args, **values), db=url)
        assert result.exit_code == 2, (args, result.output)
        assert "E601" in result.stderr and "只读" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert digest(path) == before


def read_only_runner(folder: Path):  # noqa: ANN201
    """How to run `luoshi` so that `folder` really cannot be written: as a user other than root
    the folder and its files are made read-only; as root (whom permissions do not stop) the
    folder is bind-mounted read-only in a mount namespace of the command's own."""
    luoshi_command = [sys.executable, "-m", "luoshi.cli.main"]
    if os.geteuid() != 0:
        for item in folder.iterdir():
            item.chmod(0o444)
        folder.chmod(0o555)
        return lambda args: subprocess.run([*luoshi_command, *args], capture_output=True,
                                           text=True, input="口令-1234\n")
    unshare = shutil.which("unshare")
    wrap = [unshare or "unshare", "--mount", "sh", "-c",
            f'mount --bind -o ro "{folder}" "{folder}" && exec "$@"', "luoshi"]
    probe = subprocess.run([*wrap, "touch", str(folder / "probe")], capture_output=True)
    if unshare is None or probe.returncode == 0 or b"Read-only" not in probe.stderr:
        pytest.skip("as root, a read-only folder needs `unshare --mount` (CAP_SYS_ADMIN)")
    return lambda args: subprocess.run([*wrap, *luoshi_command, *args], capture_output=True,
                                       text=True, input="口令-1234\n")


def test_a_read_only_file_in_a_read_only_folder_is_read_and_never_written(example_path):
    folder = Path(tempfile.mkdtemp(prefix="luoshi-ro-"))
    out = Path(tempfile.mkdtemp(prefix="luoshi-ro-out-"))
    try:
        path = city(folder, example_path)
        values = {"example": str(example_path), "finding": finding_of(path), "out": str(out)}
        store.shared_engine(str(path)).dispose()
        for name in ("city.db-wal", "city.db-shm"):  # as a backup copied onto a mount has none
            (folder / name).unlink(missing_ok=True)
        before = digest(path)
        run = read_only_runner(folder)
        assert run(["--version"]).returncode == 0
        for args in READING:
            result = run([*filled(args, **values), "--db", str(path)])
            assert result.returncode in (0, 1), (args, result.stderr)
        for args in WRITING:
            result = run([*filled(args, **values), "--db", str(path)])
            assert result.returncode == 2, (args, result.stderr)
            assert "E601" in result.stderr and "只读" in result.stderr, (args, result.stderr)
        assert sorted(item.name for item in folder.iterdir()) == ["city.db"]
        assert digest(path) == before
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
