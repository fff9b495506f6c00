"""The portal under load (issue 12 item 6): a shorter run of bench/portal_load.py — 20 clients
submitting and reading at once for 15 s against one `luoshi serve` over PostgreSQL — with no
error, nothing lost (every 201 stored exactly once, each unit's records those of its last
accepted submission) and the p99 of page loads and reads within 1 s.

Needs LUOSHI_TEST_POSTGRES (CI sets it); marked slow (about a minute and a half)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import POSTGRES_ENV, REPO

pytestmark = pytest.mark.slow


def test_portal_under_load(tmp_path):
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"the load test needs PostgreSQL: {POSTGRES_ENV}=postgresql+psycopg://user@host:port/db")
    out = tmp_path / "load.json"
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "portal_load.py"), "--clients", "20", "--seconds",
         "15", "--units", "150", "--pause", "1", "--admin-url", server, "--json", str(out)],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert out.exists(), completed.stdout + completed.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    report = completed.stdout + completed.stderr
    assert result["error_count"] == 0, report
    assert result["lost"] == [], report
    accepted_units = result["accepted_units"]
    assert accepted_units == 20, report  # every client had submissions accepted
    assert result["kinds"] and all(kind["p99"] <= 1.0 for kind in result["kinds"]
                                   if kind["targeted"]), report
    assert completed.returncode == 0, report
