"""What a command imports: start-up is most of a unit's `luoshi load --unit` (bench/resubmit_bench.py),
so the libraries it does not use stay unimported."""

import subprocess
import sys

from .test_versions import submission_of

# Imported by other commands only: the ORM (the store uses SQLAlchemy Core), migrations (the
# database is at the newest revision), the rules engine, outputs, spreadsheets, the portal, and
# PostgreSQL's dialect (the store here is SQLite).
NOT_FOR_A_LOAD = ("sqlalchemy.orm", "alembic", "sqlalchemy.dialects.postgresql", "durable", "luoshi.engine.runtime",
                  "luoshi.engine.plan", "luoshi.outputs", "openpyxl", "jinja2", "docxtpl",
                  "starlette", "argon2", "rich.progress")


def imported_by(*args: str) -> set[str]:
    """The modules loaded by the end of `luoshi ARGS…`, run as a user runs it."""
    code = ("import sys\nfrom luoshi.cli.main import run\n"
            f"sys.argv = ['luoshi', *{list(args)!r}]\n"
            "try:\n    run()\nexcept SystemExit as end:\n    assert end.code == 0, end.code\n"
            "print(' '.join(sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return set(result.stdout.splitlines()[-1].split())


def test_a_units_resubmission_imports_only_what_it_uses(minimal_path, tmp_path):
    db = str(tmp_path / "city.db")
    first = imported_by("load", str(minimal_path), "--db", db)  # creates the schema
    assert "alembic" in first and "sqlalchemy" in first  # the check below can see imports
    sent = submission_of("u-edu", minimal_path, tmp_path / "edu.yaml", leave_out={"mc-2"},
                         cascade=True)
    modules = imported_by("load", str(sent), "--unit", "u-edu", "--db", db)
    loaded = sorted(name for name in NOT_FOR_A_LOAD
                    if any(module == name or module.startswith(f"{name}.") for module in modules))
    assert loaded == []


def test_version_reads_the_engines_version_without_importing_it():
    modules = imported_by("--version")
    assert not {"durable", "durable_rules_engine", "luoshi.engine"} & modules
