"""Offline install (docs/deploy.md): deploy/build-wheelhouse.sh packs luoshi and everything it
needs; a fresh virtual environment installs it from that folder alone, with no index, and runs
the bundled example. Slow (it downloads or takes from pip's cache, builds and installs about 40
wheels): CI runs it, `pytest -m 'not slow'` leaves it out."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def offline_env() -> dict[str, str]:
    """The environment without any pip setting that could reach an index or another folder of
    wheels: the install must find everything in the wheelhouse."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(*args, **kwargs):
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)


@pytest.mark.skipif(shutil.which("sha256sum") is None or shutil.which("tar") is None,
                    reason="the wheelhouse script needs sha256sum and tar")
def test_install_from_the_wheelhouse_without_an_index_and_check_the_example(tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    built = run("bash", REPO / "deploy" / "build-wheelhouse.sh", wheelhouse,
                env={**os.environ, "PYTHON": sys.executable}, timeout=1200)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = sorted(path.name for path in wheelhouse.glob("*.whl"))
    names = {name.split("-")[0].lower() for name in wheels}
    assert {"luoshi", "durable_rules", "starlette", "uvicorn", "jinja2", "argon2_cffi",
            "python_multipart", "itsdangerous", "psycopg_binary", "sqlalchemy"} <= names
    assert not [name for name in wheels if name.endswith((".tar.gz", ".zip"))]
    # The engine built from third_party/durable-rules: PyPI's does not import on Python 3.13.
    assert [name for name in wheels if name.startswith("durable_rules-2.0.28+luoshi.1-")]
    assert run("sha256sum", "-c", "--quiet", "SHA256SUMS", cwd=wheelhouse).returncode == 0
    assert "install:" in (wheelhouse / "BUILD-INFO.txt").read_text(encoding="utf-8")

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = run(venv / "bin" / "pip", "install", "--no-index", "--find-links", wheelhouse,
                    "luoshi", env=offline_env(), timeout=600)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    python = venv / "bin" / "python"
    where = run(python, "-c", "import luoshi.cli, starlette, uvicorn, multipart, argon2, "
                              "itsdangerous, jinja2; print(luoshi.cli.__file__)")
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the wheel, not this checkout
    version = run(venv / "bin" / "luoshi", "--version", env=offline_env())
    assert "durable-rules 2.0.28+luoshi.1\n" in version.stdout, version.stdout + version.stderr

    work = tmp_path / "office"
    work.mkdir()
    luoshi = venv / "bin" / "luoshi"
    env = offline_env()
    env.pop("LUOSHI_DB", None)  # the default: luoshi.db in the current folder
    loaded = run(luoshi, "load", REPO / "examples" / "chibi" / "facts.yaml", cwd=work, env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert (work / "luoshi.db").exists()
    checked = run(luoshi, "check", "--year", "2013", cwd=work, env=env)
    assert checked.returncode == 1, checked.stdout[-2000:] + checked.stderr[-2000:]
    findings = json.loads(checked.stdout)["findings"]
    expected = json.loads((REPO / "examples" / "chibi" / "expected.json").read_text(
        encoding="utf-8"))["findings"]
    assert sorted((f["rule"], f["unit"], f["subject"]) for f in findings) == sorted(
        (f["rule"], f["unit"], f["subject"]) for f in expected)
