"""Versions and scopes: a database of today's schema migrates without loss; `--unit` replaces a
unit's records (withdrawals included) and refuses another owner's; `--replace` replaces all;
a check reads one snapshot. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import sqlalchemy as sa
import yaml
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.runtime.run import check
from luoshi.facts import store
from luoshi.facts.factset import rows_of
from luoshi.facts.kinds import KINDS, references
from luoshi.facts.validate import read_facts

from .checking import comparable, problem_lines, program

MIGRATIONS = Path(store.__file__).parent / "migrations"


def upgrade(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def load_like_revision_0002(url: str, path: Path) -> None:
    """What `luoshi load` stored before versions: one row per record key, in tables reflected
    from the database (so the test does not depend on today's models)."""
    facts, inputs = read_facts([str(path)])
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        metadata = sa.MetaData()
        metadata.reflect(connection)
        loads = metadata.tables["loads"]
        load_id = connection.execute(sa.insert(loads).values(
            loaded_at=dt.datetime(2013, 4, 1, tzinfo=dt.UTC), tool_version="0.1.0",
            files=[{"path": item.path, "sha256": item.sha256, "size": item.size} for item in inputs],
            counts={kind: {"records": n, "inserted": n, "updated": 0}
                    for kind, n in facts.counts().items()},
        ).returning(loads.c.id)).scalar_one()
        for kind, rows in rows_of(facts).items():
            if rows:
                connection.execute(sa.insert(metadata.tables[kind]), [
                    {**{name: row[name] for name in KINDS[kind].model_fields},
                     "record_key": row["__key__"], "record_source": row["__where__"],
                     "load_id": load_id} for row in rows])
    engine.dispose()


def read_like_revision_0002(url: str):
    """The rows a check read from such a database (`read_rows` as it was)."""
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    result = {}
    with engine.connect() as connection:
        metadata.reflect(connection)
        for kind, model in KINDS.items():
            table = metadata.tables[kind]
            names = [*model.model_fields, "__key__", "__where__"]
            statement = sa.select(*(table.c[name] for name in model.model_fields),
                                  table.c.record_key, table.c.record_source)
            result[kind] = [dict(zip(names, row, strict=True))
                            for row in connection.execute(statement.order_by(table.c.record_key))]
    engine.dispose()
    return result


def findings(rows):
    return comparable(check(rows, program(), 2013))


def test_a_database_of_todays_schema_migrates_with_the_same_findings(example_path, db_url):
    upgrade(db_url, "0002")
    load_like_revision_0002(db_url, example_path)
    before_rows = read_like_revision_0002(db_url)
    before = findings(before_rows)
    assert before["findings"]  # the example has findings to compare

    engine = store.connect(db_url)
    store.migrate(engine)
    engine.dispose()
    after_rows = store.read_rows(db_url)
    assert after_rows.pop("rectification_versions")  # the store's history, read with the state
    for kind in ("reviews", "lookbacks"):  # keyed by all their fields since 0004 (facts.md)
        for row in before_rows[kind]:
            row["__key__"] = json.dumps([str(row[name]) if isinstance(row[name], dt.date) else row[name]
                                         for name in KINDS[kind].KEY], ensure_ascii=False)
        before_rows[kind].sort(key=lambda row: row["__key__"])
        after_rows[kind].sort(key=lambda row: row["__key__"])  # not in the database's collation
    assert after_rows == before_rows  # nothing lost, keys and sources included
    assert findings(after_rows) == before

    facts, inputs = read_facts([str(example_path)])
    result = store.load(facts, inputs, db_url)  # a reload after the migration changes nothing
    assert all(count["unchanged"] == n and count["added"] == count["changed"] == 0
               for count, n in zip(result.counts.values(), facts.counts().values(), strict=True))
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        first = connection.execute(sa.text(
            "SELECT counts, scope, received_at, loaded_at FROM loads WHERE id = 1")).one()
    engine.dispose()
    counts = first.counts if isinstance(first.counts, dict) else json.loads(first.counts)
    assert counts["units"] == {"added": 6, "changed": 0, "removed": 0, "unchanged": 0}
    assert first.scope == "merge" and first.received_at == first.loaded_at


# ---- scopes ---------------------------------------------------------------------------------

runner = CliRunner()


def owner_of(kind: str, row: dict, rows: dict) -> str | None:
    """The unit a row belongs to, by its kind's OWNER path (None: the office's)."""
    path = KINDS[kind].OWNER
    if path is None:
        return None
    first, _, second = path.partition(".")
    if not second:
        return row[first]
    target = references(kind)[first][0]
    return next(other[second] for other in rows[target] if other["id"] == row[first])


def submission_of(unit: str, path: Path, out: Path, leave_out: set[str] = frozenset(),
                  cascade: bool = False) -> Path:
    """Unit `unit`'s records of the file at `path`, without the ids in `leave_out` (and with
    `cascade`, without the records naming them), as YAML."""
    rows = rows_of(read_facts([str(path)])[0])

    def left_out(row):
        return any(value in leave_out for name, value in row.items()
                   if (cascade or name == "id") and isinstance(value, str) and name[0] != "_")

    data = {kind: [{name: row[name] for name in KINDS[kind].model_fields} for row in kind_rows
                   if owner_of(kind, row, rows) == unit and not left_out(row)]
            for kind, kind_rows in rows.items() if KINDS[kind].OWNER is not None}
    out.write_text(yaml.safe_dump({k: v for k, v in data.items() if v}, allow_unicode=True),
                   encoding="utf-8")
    return out


def mentions(report_data: dict, record_id: str) -> bool:
    return record_id in json.dumps(report_data, ensure_ascii=False)


def check_json(url: str, *extra: str) -> dict:
    result = runner.invoke(app, ["check", "--db", url, "--year", "2013", "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def loads_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM loads")).scalar()
    engine.dispose()
    return count


def test_a_units_submission_replaces_its_records_and_withdrawals_leave_the_check(
        example_path, tmp_path, db_url):
    assert runner.invoke(app, ["load", str(example_path), "--db", db_url]).exit_code == 0
    before = check_json(db_url)
    assert mentions(before, "cb-mc01")  # 财政局's misconduct is reported
    withdrawn = {"cb-mc01", "cb-sig01"}  # the misconduct, and the signal about it
    everyone_else = {kind: [row for row in rows if row["__key__"] not in withdrawn]
                     for kind, rows in store.read_rows(db_url).items()}

    # 财政局 resubmits everything it owns but the misconduct record (and the signal that names
    # it); it names persons and institutions stored by the office without sending them.
    sent = submission_of("cb-cz", example_path, tmp_path / "cz.yaml", leave_out={"cb-mc01"},
                         cascade=True)
    result = runner.invoke(app, ["load", str(sent), "--db", db_url, "--unit", "cb-cz",
                                 "--by", "财政局 王芳", "--received", "2013-10-08"])
    assert result.exit_code == 0, result.output
    assert "替换单位 cb-cz 的记录" in result.output
    state = store.read_rows(db_url)
    assert state == everyone_else  # only the withdrawn record left; nobody else's changed
    after = check_json(db_url)
    assert not mentions(after, "cb-mc01")
    assert after["findings"] != before["findings"] or after["triggers"] != before["triggers"]

    (log,) = store.submissions(db_url)[:1]
    assert (log.scope, log.scope_unit, log.submitted_by) == ("unit", "cb-cz", "财政局 王芳")
    assert log.counts["misconduct"] == {"added": 0, "changed": 0, "removed": 1, "unchanged": 0}
    assert sum(count["unchanged"] for count in log.counts.values()) > 5

    # The history keeps what was withdrawn: the check as known after the first load, the
    # change itself, and the submission in the list.
    assert check_json(db_url, "--known-at", "1") == before
    changed = json.loads(runner.invoke(app, ["changes", "--db", db_url, "--format", "json"]).stdout)
    assert changed["added"] == changed["changed"] == []
    assert [(item["kind"], item["id"]) for item in changed["removed"]] == [
        ("misconduct", "cb-mc01"), ("signals", "cb-sig01")]
    assert changed["removed"][0]["record"]["date"] == "2013-09-20"
    by_unit = json.loads(runner.invoke(app, ["changes", "1", "2", "--db", db_url, "--unit", "cb-wj",
                                             "--format", "json"]).stdout)
    assert by_unit == {"added": [], "removed": [], "changed": []}
    listed = json.loads(runner.invoke(app, ["submissions", "--db", db_url, "--format", "json"]).stdout)
    assert [(item["id"], item["scope"], item["unit"], item["by"]) for item in listed] == [
        (2, "unit", "cb-cz", "财政局 王芳"), (1, "merge", None, None)]
    assert listed[0]["received"].startswith("2013-10-0")  # local midnight, shown in UTC
    assert listed[0]["totals"]["removed"] == 2 and len(listed[0]["files"][0]["sha256"]) == 64
    table = runner.invoke(app, ["submissions", "--db", db_url, "--unit", "cb-cz"])
    assert table.exit_code == 0 and "单位报送 cb-cz" in table.stdout and "财政局 王芳" in table.stdout


def test_changes_show_each_changed_field_old_and_new(example_path, tmp_path, db_url):
    runner.invoke(app, ["load", str(example_path), "--db", db_url])
    edited = tmp_path / "facts.yaml"
    edited.write_text(example_path.read_text(encoding="utf-8").replace(
        "date: 2013-09-20", "date: 2013-08-20"), encoding="utf-8")
    assert runner.invoke(app, ["load", str(edited), "--db", db_url]).exit_code == 0
    result = runner.invoke(app, ["changes", "--db", db_url, "--format", "json"])
    assert json.loads(result.stdout)["changed"] == [
        {"kind": "misconduct", "id": "cb-mc01", "fields": {"date": ["2013-09-20", "2013-08-20"]}}]
    table = runner.invoke(app, ["changes", "--db", db_url])
    assert "修改 1" in table.stdout and "2013-09-20" in table.stdout and "2013-08-20" in table.stdout


def test_a_record_of_another_owner_is_refused_at_its_line_and_nothing_is_stored(
        example_path, tmp_path, db_url):
    runner.invoke(app, ["load", str(example_path), "--db", db_url])
    before = store.read_rows(db_url)
    sent = submission_of("cb-cz", example_path, tmp_path / "cz.yaml")
    foreign = ("units:\n- {id: cb-new, name: 新单位, kind: department}\n"
               "education:\n- {unit: cb-wj, date: 2013-05-01, title: 冒名报送}\n")
    (tmp_path / "extra.yaml").write_text(foreign, encoding="utf-8")
    result = runner.invoke(app, ["load", str(sent), str(tmp_path / "extra.yaml"), "--db", db_url,
                                 "--unit", "cb-cz"])
    assert result.exit_code == 2
    lines = problem_lines(result)
    assert any("extra.yaml:2" in line and "E502" in line and "纪委办公室" in line
               for line in lines), lines
    assert any("extra.yaml:4" in line and "E502" in line and "cb-wj" in line
               for line in lines), lines
    assert len(lines) == 2  # the unit's own records pass
    assert store.read_rows(db_url) == before and loads_count(db_url) == 1

    # Nor may a unit take over another unit's record by sending its id.
    sent.write_text("misconduct:\n- {id: cb-mc02, unit: cb-cz, date: 2013-06-20, kind: refusal}\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["load", str(sent), "--db", db_url, "--unit", "cb-cz"])
    assert result.exit_code == 2 and "已由其他单位报送" in result.stderr, result.output
    assert store.read_rows(db_url) == before and loads_count(db_url) == 1


def test_replace_replaces_the_whole_state(example_path, minimal_path, db_url):
    runner.invoke(app, ["load", str(example_path), "--db", db_url])
    result = runner.invoke(app, ["load", str(minimal_path), "--db", db_url, "--replace"])
    assert result.exit_code == 0, result.output
    def contents(rows):
        return {kind: sorted(json.dumps({k: v for k, v in row.items() if k != "__where__"},
                                        default=str, ensure_ascii=False) for row in kind_rows)
                for kind, kind_rows in rows.items() if kind in KINDS}  # the state, not its history

    assert contents(store.read_rows(db_url)) == contents(rows_of(read_facts([str(minimal_path)])[0]))
    assert runner.invoke(app, ["load", str(minimal_path), "--db", db_url, "--replace",
                               "--unit", "x"]).exit_code == 2


def test_docs_list_each_kinds_owner_as_the_models_define_it():
    docs = (Path(__file__).parent.parent / "docs" / "input.md").read_text(encoding="utf-8")
    table = docs.split("<!-- owners -->")[1].split("<!-- /owners -->")[0]
    listed = {line.split("|")[1].split()[0]: line.split("|")[2].strip()
              for line in table.strip().splitlines()[2:]}

    def shown(path):
        if path is None:
            return "纪委办公室"
        first, _, second = path.partition(".")
        return f"经 `{first}` 的 `{second}`" if second else f"`{first}`"

    assert listed == {kind: shown(model.OWNER) for kind, model in KINDS.items()}


# ---- one snapshot per check -----------------------------------------------------------------

def test_a_load_committed_while_a_check_reads_is_wholly_seen_or_not_at_all(
        example_path, tmp_path, db_url, monkeypatch):
    runner.invoke(app, ["load", str(example_path), "--db", db_url])
    extra = tmp_path / "extra.yaml"
    extra.write_text("units:\n- {id: zz-u1, name: 新设单位, kind: department}\n"
                     "persons:\n- {id: zz-p1, name: 新人, unit: zz-u1}\n", encoding="utf-8")
    committed = []

    def load_after_units(kind):  # deterministic: the load commits between two kinds' reads
        if kind == "units" and not committed:
            facts, inputs = read_facts([str(extra)])
            committed.append(store.load(facts, inputs, db_url).load_id)

    monkeypatch.setattr(store, "_after_reading", load_after_units)
    during = store.read_rows(db_url)
    monkeypatch.setattr(store, "_after_reading", None)
    assert committed == [2]  # the load did commit mid-read
    assert "zz-u1" not in {row["id"] for row in during["units"]}
    assert "zz-p1" not in {row["id"] for row in during["persons"]}  # not half of it either
    after = store.read_rows(db_url)
    assert {"zz-u1"} <= {row["id"] for row in after["units"]}
    assert {"zz-p1"} <= {row["id"] for row in after["persons"]}


def test_a_withdrawal_that_would_leave_a_reference_dangling_is_refused(
        example_path, tmp_path, db_url):
    runner.invoke(app, ["load", str(example_path), "--db", db_url])
    before = store.read_rows(db_url)
    # 财政局 withdraws its inspection cb-ins04, on which 开发区's rectification cb-rect02 rests.
    sent = submission_of("cb-cz", example_path, tmp_path / "cz.yaml", leave_out={"cb-ins04"},
                         cascade=True)
    result = runner.invoke(app, ["load", str(sent), "--db", db_url, "--unit", "cb-cz"])
    assert result.exit_code == 2
    line = next(n for n, text in enumerate(example_path.read_text(encoding="utf-8").splitlines(), 1)
                if "id: cb-rect02" in text)
    assert problem_lines(result) == [
        f"{example_path}:{line}:5: rectifications.inspection: E501 已存的记录 cb-rect02 引用 "
        "'cb-ins04'：本次报送撤回了它，须先由该记录的报送单位修改或撤回该记录"]
    # Nor may its own submission still name a record it withdraws.
    sent = submission_of("cb-cz", example_path, tmp_path / "cz.yaml", leave_out={"cb-rect03"})
    result = runner.invoke(app, ["load", str(sent), "--db", db_url, "--unit", "cb-cz"])
    assert result.exit_code == 2 and "E501 所引用的 'cb-rect03' 在本次报送中被撤回" in result.stderr
    assert "signals.about" in result.stderr
    assert store.read_rows(db_url) == before and loads_count(db_url) == 1
