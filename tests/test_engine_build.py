"""The rules engine luoshi installs: durable-rules 2.0.28 built from third_party/durable-rules,
PyPI's release with the one fix Python 3.13 needs (docs/deploy.md). Slow: each test builds or
downloads a package (pip's index, or its cache); CI runs them on every Python it tests."""

import filecmp
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "third_party" / "durable-rules"

pytestmark = pytest.mark.slow

# A rule as luoshi's backend runs one (engine/runtime/durable.py): the C core directly, facts
# asserted in a batch, every action drained. The store callback is one of the five calls the
# fix changed: durable calls it, through PyObject_CallObject, for every fact it stores.
RUN_A_RULE = textwrap.dedent("""
    import json
    from importlib import metadata

    import durable_rules_engine as engine

    rules = {"overdrawn": {"all": [{"m": {"$and": [{"type": "account"},
                                                   {"$lt": {"balance": 0}}]}}]}}
    handle = engine.create_ruleset("build_check", json.dumps(rules))
    stored = []
    engine.set_store_message_callback(handle, lambda *message: stored.append(message[2]) or 0)
    engine.assert_facts(handle, json.dumps([
        {"sid": "s1", "id": "a1", "type": "account", "balance": -5},
        {"sid": "s1", "id": "a2", "type": "account", "balance": 7}]))
    fired = []
    pending = engine.start_action(handle)
    while pending:
        fired.append(json.loads(pending[1]))
        engine.complete_and_start_action(handle, pending[2])
        pending = engine.start_action(handle)
    print(json.dumps({"fired": fired, "stored": stored,
                      "version": metadata.version("durable-rules")}))
""")


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)


def test_the_vendored_engine_builds_imports_and_runs_a_rule_on_this_python(tmp_path):
    """On Python 3.13, PyPI's own build compiles and then fails here at `import`
    (undefined symbol: PyEval_CallObject)."""
    # A clean copy: an install from the checkout leaves build/ there, whose objects setuptools
    # would take as up to date, whatever the source says.
    source = tmp_path / "durable-rules"
    shutil.copytree(SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    built = run(sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps",
                "--wheel-dir", tmp_path / "wheels", source, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv).check_returncode()
    python = venv / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--disable-pip-version-check", "--no-index",
                    "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]
    # Warnings are errors: a deprecation in the engine's own Python code would show here.
    result = run(python, "-W", "error", "-c", RUN_A_RULE, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {
        "fired": [{"overdrawn": {"m": {"sid": "s1", "id": "a1", "type": "account",
                                       "balance": -5}}}],
        "stored": ["a1", "sid-s1"],  # the matched fact, and the session's state
        "version": "2.0.28+luoshi.1",
    }
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert wheel.name.startswith(f"durable_rules-2.0.28+luoshi.1-{tag}-{tag}-"), wheel.name


def test_the_vendored_source_is_pypis_release_with_the_documented_fix(tmp_path):
    """third_party/vendor-durable-rules.sh downloads PyPI's release (its hash checked) and
    applies the fix: the result is, file for file, the folder in the repository."""
    fresh = tmp_path / "durable-rules"
    made = run("bash", REPO / "third_party" / "vendor-durable-rules.sh", fresh,
               env={**os.environ, "PYTHON": sys.executable}, timeout=600)
    assert made.returncode == 0, made.stderr[-2000:]
    tracked = run("git", "-C", REPO, "ls-files", "third_party/durable-rules")
    if tracked.returncode == 0 and tracked.stdout:
        names = sorted(Path(line).relative_to("third_party/durable-rules").as_posix()
                       for line in tracked.stdout.splitlines())
    else:  # not a git checkout: what the release has, in the folder
        names = sorted(path.relative_to(fresh).as_posix() for path in fresh.rglob("*")
                       if path.is_file())
    assert names == sorted(path.relative_to(fresh).as_posix() for path in fresh.rglob("*")
                           if path.is_file())
    match, mismatch, errors = filecmp.cmpfiles(fresh, SOURCE, names, shallow=False)
    assert (mismatch, errors) == ([], [])
    assert "PyEval_CallObject" not in (SOURCE / "src" / "rulespy" / "rules.c").read_text()
