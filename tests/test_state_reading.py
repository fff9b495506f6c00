"""`store.read_newer`: the portal keeps the state it read and, after a load, reads only the
versions that load brought or ended; the result is exactly what reading it all gives."""

from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts import store

from .test_versions import submission_of

runner = CliRunner()


def by_key(rows):
    return {kind: sorted(kind_rows, key=lambda row: row["__key__"]) for kind, kind_rows in rows.items()}


def test_reading_only_what_later_loads_changed_gives_the_whole_state(example_path, minimal_path,
                                                                     tmp_path, db_url):
    assert runner.invoke(app, ["load", str(example_path), "--db", db_url]).exit_code == 0
    seen: dict[str, int] = {}
    first = store.read_rows(db_url, seen=seen)
    assert seen["load_id"] == 1
    untouched = {kind: list(rows) for kind, rows in first.items()}

    same: dict[str, int] = {}
    assert store.read_newer(db_url, first, 1, same) is first and same["load_id"] == 1

    # A unit withdraws a record (and what names it), then another load adds and changes others.
    sent = submission_of("cb-cz", example_path, tmp_path / "cz.yaml", leave_out={"cb-mc01"},
                         cascade=True)
    assert runner.invoke(app, ["load", str(sent), "--db", db_url, "--unit", "cb-cz"]).exit_code == 0
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db_url]).exit_code == 0
    newer: dict[str, int] = {}
    updated = store.read_newer(db_url, first, 1, newer)
    assert newer["load_id"] == 3
    assert by_key(updated) == by_key(store.read_rows(db_url))
    assert by_key(updated) != by_key(first)
    assert not any(row["__key__"] == "cb-mc01" for row in updated["misconduct"])
    assert first == untouched  # the state given is left as it was
