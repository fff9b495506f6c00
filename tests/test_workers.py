"""Workers lose nothing and leave nothing behind: an action that runs long still completes,
every match is reported, and a failed check's workers all end with it, releasing the caller's
pipes (`luoshi check … | tail` returns)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from luoshi.engine.runtime import durable

from .checking import comparable, run_yaml

CITY = """\
units: [{id: u-1, name: 甲局, kind: department}]
rectifications:
""" + "\n".join(f"  - {{id: r-{n}, unit: u-1, problem: 问题, deadline: 2013-0{1 + n % 9}-01}}"
                for n in range(1200))


def test_an_action_past_durables_10_second_limit_still_completes(monkeypatch):
    """durable's own loop gave up on an action that took more than 10 s (a paused or swapping
    worker): the session's remaining actions never ran and the check lost results silently
    (74 of 1,315 findings). The clock here jumps 20 s at every reading."""
    import importlib

    durables_own = importlib.import_module("durable.engine")
    expected = comparable(run_yaml(CITY))
    clock = iter(range(0, 10**9, 20))
    monkeypatch.setattr(durables_own, "_unix_now", lambda: next(clock))
    monkeypatch.setattr(durable, "ACTION_BATCH", 7)  # many actions in each session
    report = run_yaml(CITY)
    assert comparable(report) == expected
    assert len([f for f in report.findings if f.rule == "F403"]) == 1200


def test_an_action_that_raises_fails_the_check(monkeypatch):
    """durable swallowed an action's exception and went on: now the check fails."""
    from luoshi.engine.errors import EngineError

    def broken(*args, **kwargs):
        raise RuntimeError("broken chain")

    monkeypatch.setattr("luoshi.engine.runtime.results.Results.triggers_of", broken)
    try:
        run_yaml(CITY)
    except EngineError as error:
        assert "broken chain" in str(error)
    else:
        raise AssertionError("no error")


SCRIPT = textwrap.dedent("""\
    import os, sys, time
    from luoshi.engine.runtime import forked

    def inner(n):
        time.sleep(600)  # a batch worker still running when its group fails

    def group(n):
        if n == 0:
            time.sleep(0.5)
            raise RuntimeError("group failed")
        forked.run(inner, [1], 1)

    try:
        forked.run(group, [0, 1], 2)
    except RuntimeError:
        print("failed as expected", flush=True)
        sys.exit(2)
    """)


def test_a_failed_checks_workers_end_with_it_and_release_the_callers_pipe():
    """The group workers were killed, but the batch workers they had forked ran on, holding
    the caller's standard output, so a pipe reading it never closed."""
    # Capturing the output waits for end of file: for every process holding the pipe to end.
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=120)
    assert done.returncode == 2
    assert b"failed as expected" in done.stdout
