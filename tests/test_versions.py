"""Versions and scopes: a database of today's schema migrates without loss; `--unit` replaces a
unit's records (withdrawals included) and refuses another owner's; `--replace` replaces all;
a check reads one snapshot. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from luoshi.facts import store
from luoshi.facts.factset import rows_of
from luoshi.facts.kinds import KINDS
from luoshi.facts.problems import InputError
from luoshi.facts.tables import FACT_TABLES
from luoshi.facts.validate import read_facts
from luoshi.engine.runtime.run import check

from .checking import comparable, program

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
    counts = first.counts if isinstance(first.counts, dict) else __import__("json").loads(first.counts)
    assert counts["units"] == {"added": 6, "changed": 0, "removed": 0, "unchanged": 0}
    assert first.scope == "merge" and first.received_at == first.loaded_at
