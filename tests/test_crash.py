"""Crash safety and concurrency: a load killed half-way leaves the database as it was; two
loads at once end in one consistent state. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from .test_store import load_paths, stored_rows

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    from luoshi.facts.demo import generate

    path = tmp_path_factory.mktemp("big") / "city.yaml"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(generate(1500, seed=3), Dumper=dumper, allow_unicode=True),
                    encoding="utf-8")
    return path


def _load_process(path: Path, url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "luoshi.cli.main", "load", str(path),
                             "--db", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _writing(url: str, db_file: Path | None) -> bool:
    """Whether a load is inside its transaction, writing rows."""
    if db_file is not None:  # SQLite (WAL): another connection cannot take the write lock
        import sqlite3

        probe = sqlite3.connect(db_file, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND query ILIKE 'INSERT INTO%'")).scalar())
    finally:
        engine.dispose()


def test_a_load_killed_half_way_leaves_the_database_as_it_was(big_file, minimal_path, db_url):
    load_paths([minimal_path], db_url)
    before = stored_rows(db_url)
    db_file = Path(db_url.removeprefix("sqlite:///")) if db_url.startswith("sqlite") else None
    process = _load_process(big_file, db_url)
    deadline = time.monotonic() + 120
    while not _writing(db_url, db_file):
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the load never started writing"
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the transaction
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()  # reaps it and closes its pipes
    assert process.returncode == -signal.SIGKILL
    assert stored_rows(db_url) == before
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM loads")).scalar() == 1
    engine.dispose()


def test_two_loads_at_once_end_in_one_consistent_state(big_file, db_url):
    first, second = _load_process(big_file, db_url), _load_process(big_file, db_url)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [o[1].decode() for o in outputs]
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        counts = connection.execute(sa.text("SELECT counts FROM loads ORDER BY id")).scalars().all()
        units = connection.execute(sa.text("SELECT count(*) FROM units")).scalar()
    engine.dispose()
    counts = [c if isinstance(c, dict) else __import__("json").loads(c) for c in counts]
    assert len(counts) == 2 and units == 1501  # one copy of every record
    assert counts[0]["units"]["added"] == 1501 and counts[1]["units"]["unchanged"] == 1501


def _doubled_twice(number: int) -> list[int]:
    from luoshi.engine.runtime import forked

    return forked.run(lambda n: n * 2, [number, number], 2)  # a worker forking again


def test_workers_forked_from_many_threads_at_once():
    """The portal runs checks in a thread pool, each forking its workers: one thread's fork
    must not reap another's worker (which then failed a good check with exit code None, 2 of
    ~500 requests under load), and a worker forks its own workers without deadlock."""
    import threading

    from luoshi.engine.errors import EngineError
    from luoshi.engine.runtime import forked

    failures: list[str] = []

    def work() -> None:
        for number in range(60):
            try:
                assert forked.run(lambda n: n + 1, [number, number], 2) == [number + 1] * 2
            except EngineError as error:
                failures.append(str(error))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert forked.run(_doubled_twice, [1, 2], 2) == [[2, 2], [4, 4]]
