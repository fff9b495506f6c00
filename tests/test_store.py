"""The store: one transaction, versions never overwritten, the load log, the migrations;
SQLite and PostgreSQL."""

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from luoshi.facts import export, store
from luoshi.facts.kinds import KINDS
from luoshi.facts.tables import FACT_TABLES, LOADS, metadata
from luoshi.facts.validate import read_facts

BOOKKEEPING = ("version_id", "record_source", "load_id", "ended_by", "row_hash")


def stored_rows(url, versions="open"):
    """The open (or, with versions="all", every) stored version of every record, without where
    it came from or which loads brought and ended it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                kind: [
                    {key: value for key, value in row._mapping.items() if key not in BOOKKEEPING}
                    for row in connection.execute(
                        sa.select(table).where(table.c.ended_by.is_(None) if versions == "open"
                                               else sa.true())
                        .order_by(table.c.record_key, table.c.version_id))
                ]
                for kind, table in FACT_TABLES.items()
            }
    finally:
        engine.dispose()


def load_paths(paths, url):
    facts, inputs = read_facts([str(path) for path in paths])
    return store.load(facts, inputs, url)


def test_loading_twice_leaves_one_copy(example_path, db_url):
    first = load_paths([example_path], db_url)
    second = load_paths([example_path], db_url)
    rows = stored_rows(db_url)
    facts, _ = read_facts([str(example_path)])
    assert {kind: len(rows[kind]) for kind in KINDS} == facts.counts()
    assert first.counts == {kind: {"added": count, "changed": 0, "removed": 0, "unchanged": 0}
                            for kind, count in facts.counts().items()}
    assert second.counts == {kind: {"added": 0, "changed": 0, "removed": 0, "unchanged": count}
                             for kind, count in facts.counts().items()}
    assert stored_rows(db_url, versions="all") == rows  # an identical reload adds no version
    assert second.load_id == first.load_id + 1


def test_a_changed_record_gets_a_new_version_and_the_old_one_is_kept(tmp_path, db_url):
    base = ("units:\n  - {id: u1, name: 市纪委, kind: discipline}\n"
            "education:\n  - {unit: u1, date: 2013-04-01, title: 学习}\n")
    (tmp_path / "a.yaml").write_text(base, encoding="utf-8")
    load_paths([tmp_path / "a.yaml"], db_url)
    (tmp_path / "a.yaml").write_text(base.replace("市纪委", "咸宁市纪委") +
                                     "  - {unit: u1, date: 2013-05-01, title: 第二次}\n",
                                     encoding="utf-8")
    result = load_paths([tmp_path / "a.yaml"], db_url)
    rows = stored_rows(db_url)
    assert [row["name"] for row in rows["units"]] == ["咸宁市纪委"]
    assert [row["title"] for row in rows["education"]] == ["学习", "第二次"]
    assert result.counts["education"] == {"added": 1, "changed": 0, "removed": 0, "unchanged": 1}
    assert result.counts["units"] == {"added": 0, "changed": 1, "removed": 0, "unchanged": 0}
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        units = FACT_TABLES["units"]
        versions = connection.execute(sa.select(units.c.name, units.c.load_id, units.c.ended_by)
                                      .order_by(units.c.version_id)).all()
    engine.dispose()
    assert [tuple(row) for row in versions] == [("市纪委", 1, 2), ("咸宁市纪委", 2, None)]


def test_gb18030_csv_and_xlsx_load_to_the_same_rows_as_yaml(example_path, tmp_path, db_url):
    facts, _ = read_facts([str(example_path)])
    export.write_csv(facts, tmp_path / "csv", chinese=True, encoding="gb18030")
    export.write_xlsx(facts, tmp_path / "facts.xlsx", chinese=True)
    load_paths([example_path], db_url)
    from_yaml = stored_rows(db_url)
    for other in (tmp_path / "csv", tmp_path / "facts.xlsx"):
        url = f"sqlite:///{tmp_path / (other.name + '.db')}"
        load_paths([other], url)
        assert stored_rows(url) == from_yaml


def test_every_load_is_logged_with_file_hashes_and_counts(example_path, db_url):
    facts, inputs = read_facts([str(example_path)])
    received = dt.datetime(2013, 4, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    store.load(facts, inputs, db_url, submission=store.Submission(
        received=received, by="赤壁市纪委 李明", note="第一季度报送"))
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        (log,) = connection.execute(sa.select(LOADS)).all()
    engine.dispose()
    assert log.files == [{"path": str(example_path),
                          "sha256": hashlib.sha256(example_path.read_bytes()).hexdigest(),
                          "size": example_path.stat().st_size}]
    assert log.counts["units"] == {"added": 6, "changed": 0, "removed": 0, "unchanged": 0}
    assert log.loaded_at is not None and log.tool_version
    # stored in UTC (SQLite keeps no zone)
    assert log.received_at.replace(tzinfo=dt.UTC) == received.astimezone(dt.UTC)
    assert (log.submitted_by, log.note, log.scope, log.scope_unit) == (
        "赤壁市纪委 李明", "第一季度报送", "merge", None)


def test_a_failure_half_way_stores_nothing(example_path, db_url, monkeypatch):
    load_paths([example_path], db_url)
    before = stored_rows(db_url)
    facts, inputs = read_facts([str(example_path)])
    original = store.record_key
    calls = {"n": 0}

    def failing_key(fact):
        calls["n"] += 1
        if fact.KIND == "rectifications":  # well after units, persons, … were written
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))
        return original(fact)

    monkeypatch.setattr(store, "record_key", failing_key)
    with pytest.raises(store.StoreError, match="disk full"):
        store.load(facts, inputs, db_url)
    assert calls["n"] > 50
    assert stored_rows(db_url) == before
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(LOADS)).scalar() == 1
    engine.dispose()


def test_the_migration_creates_exactly_the_tables_of_the_model(db_url):
    engine = store.connect(db_url)
    store.migrate(engine)
    store.migrate(engine)  # a second run is a no-op
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_the_model_declares_its_partial_indexes_for_postgresql_when_asked():
    from sqlalchemy.dialects import postgresql

    from luoshi.facts import tables

    tables.declare_for_postgresql()  # what opening a PostgreSQL store does
    for table in FACT_TABLES.values():
        for index in table.indexes:
            ddl = str(sa.schema.CreateIndex(index).compile(dialect=postgresql.dialect()))
            assert ddl.endswith("WHERE ended_by IS NULL"), ddl
    assert "ix_inspection_results_inspection" in {
        index.name for index in FACT_TABLES["inspection_results"].indexes}


def test_unreachable_database_is_a_store_error(example_path):
    facts, inputs = read_facts([str(example_path)])
    with pytest.raises(store.StoreError, match="无法连接"):
        store.load(facts, inputs, "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_database_url_defaults(monkeypatch):
    monkeypatch.delenv("LUOSHI_DB", raising=False)
    assert store.database_url() == "sqlite:///luoshi.db"
    assert store.database_url("data/x.db") == "sqlite:///data/x.db"
    monkeypatch.setenv("LUOSHI_DB", "postgresql://h/db")
    assert store.database_url() == "postgresql://h/db"
    assert store.database_url("sqlite:///y.db") == "sqlite:///y.db"


def test_a_database_from_a_newer_luoshi_is_refused_clearly(example_path, tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    load_paths([example_path], url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(store.StoreError, match="更新版本的 luoshi"):
        load_paths([example_path], url)


@pytest.mark.parametrize("length", [3_000, 100_000])
def test_a_long_text_in_a_key_is_stored_on_every_database(length, minimal_path, tmp_path,
                                                           db_url):
    """Lookbacks are keyed by all their fields, the plan too: a long plan is a long key (over
    the 2,704 bytes a PostgreSQL btree entry may hold), found, kept and changed like any other."""
    load_paths([minimal_path], db_url)
    import random

    shuffled = random.Random(length)  # varied text: PostgreSQL compresses a repeated one
    plan = "".join(chr(0x4E00 + shuffled.randrange(20_000)) for _ in range(length))
    sent = tmp_path / "lookbacks.yaml"
    sent.write_text(f"lookbacks:\n  - {{unit: u-edu, date: 2013-09-01, plan: {plan}}}\n"
                    f"  - {{unit: u-edu, date: 2013-09-01, plan: {plan}。}}\n", encoding="utf-8")
    def load_sent():  # noqa: ANN202
        facts, inputs = read_facts([str(sent)], stored=lambda wanted: store.stored_ids(db_url, wanted))
        return store.load(facts, inputs, db_url)

    first = load_sent()
    assert first.counts["lookbacks"]["added"] == 2
    again = load_sent()  # found by its key: unchanged, not added twice
    assert again.counts["lookbacks"] == {"added": 0, "changed": 0, "removed": 0, "unchanged": 2}
    stored = {row["plan"] for row in store.read_rows(db_url)["lookbacks"]}
    assert {plan, plan + "。"} <= stored
    assert store.verify(db_url).problems == []
