"""Shared fixtures: the example fact sets, and databases (SQLite always, PostgreSQL when asked).

PostgreSQL tests run when LUOSHI_TEST_POSTGRES holds a server URL (CI sets it to the server on
127.0.0.1:5432); each test gets a database of its own, dropped afterwards. Without the variable
they are skipped, with the reason shown by `pytest -ra`.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

# In CI the property tests replay the same inputs every run, so a landing never depends on luck;
# on a developer's machine they explore new inputs each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "chibi" / "facts.yaml"
MINIMAL = Path(__file__).resolve().parent / "golden" / "minimal" / "facts.yaml"
POSTGRES_ENV = "LUOSHI_TEST_POSTGRES"


@pytest.fixture(scope="session")
def example_path() -> Path:
    """The bundled example: every kind of record."""
    return EXAMPLE


@pytest.fixture(scope="session")
def minimal_path() -> Path:
    """A copy of ../shared/examples/minimal/facts.yaml, with its expected findings beside it."""
    return MINIMAL


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL of each supported kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}=postgresql+psycopg://user@host:port/db")
    name = f"luoshi_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
