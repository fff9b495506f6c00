"""The fact store: SQLite by default, PostgreSQL (or any SQLAlchemy database) by URL.

`load` stores a validated fact set in one transaction: every record is inserted, or updated
where its key (id, or natural key) is already stored, so loading the same set twice leaves one
copy; a failure anywhere rolls the whole load back. Every load is logged in `loads`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from .factset import FactSet, Rows, record_key
from .gc_pause import cyclic_gc_paused
from .kinds import KINDS
from .problems import Progress, StoreError
from .readers import InputFile
from .tables import FACT_TABLES, Load
from .version import tool_version

DEFAULT_DB = "luoshi.db"
# Any constant: migrations and loads into one PostgreSQL database take turns on this lock.
_LOAD_LOCK = 7_236_185_033
_BATCH = 2000


def database_url(db: str | None = None) -> str:
    """`--db`, else `LUOSHI_DB`, else ./luoshi.db; a plain path means a SQLite file."""
    value = db or os.environ.get("LUOSHI_DB") or DEFAULT_DB
    return value if "://" in value else f"sqlite:///{value}"


def connect(db: str | None = None) -> sa.Engine:
    url = database_url(db)
    try:
        engine = sa.create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise StoreError(f"数据库地址无效：{url}（{error}）") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock when a transaction begins, so two loads queue up instead of both
        # reading and then deadlocking on the upgrade to a write lock.
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    connection.isolation_level = None  # transactions are begun by the "begin" listener
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # a concurrent load waits instead of failing
    cursor.close()


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest Alembic revision (creating it in an empty database)."""
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # two first loads must not both create tables
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOAD_LOCK})
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as error:  # e.g. a database migrated by a newer luoshi
            raise StoreError(f"数据库的结构版本无法识别，可能由更新版本的 luoshi 建立（{error}）；"
                             "请升级 luoshi") from None


@dataclass(frozen=True)
class LoadResult:
    load_id: int
    counts: dict[str, dict[str, int]]


def load(facts: FactSet, inputs: list[InputFile], db: str | None = None,
         progress: Progress | None = None,
         waiting: Callable[[str], None] | None = None) -> LoadResult:
    """Store `facts` in one transaction; raise `StoreError` (and store nothing) on failure.
    Concurrent loads into one database take turns; `waiting` hears when this one must wait."""
    engine = connect(db)
    try:
        migrate(engine)
        with engine.begin() as connection, cyclic_gc_paused():
            return _load(connection, facts, inputs, progress, waiting)
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None
    finally:
        engine.dispose()


def _load(connection: sa.Connection, facts: FactSet, inputs: list[InputFile],
          progress: Progress | None, waiting: Callable[[str], None] | None) -> LoadResult:
    if connection.dialect.name == "postgresql":
        free = connection.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                                  {"k": _LOAD_LOCK}).scalar()
        if not free:
            if waiting:
                waiting("另一次导入正在写入同一数据库，等待它完成……")
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOAD_LOCK})
    load_id = connection.execute(sa.insert(Load).values(
        loaded_at=dt.datetime.now(dt.UTC),
        tool_version=tool_version(),
        files=[{"path": item.path, "sha256": item.sha256, "size": item.size} for item in inputs],
        counts={},
    ).returning(Load.id)).scalar_one()
    counts: dict[str, dict[str, int]] = {}
    done, total = 0, len(facts)
    for kind in KINDS:
        table = FACT_TABLES[kind]
        stored = set(connection.scalars(sa.select(table.c.record_key)))
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for record in facts.records[kind]:
            row = record.fact.model_dump()
            row.update(record_key=record_key(record.fact), record_source=record.source,
                       load_id=load_id)
            (updates if row["record_key"] in stored else inserts).append(row)
        for start in range(0, len(inserts), _BATCH):
            batch = inserts[start:start + _BATCH]
            connection.execute(sa.insert(table), batch)
            done += len(batch)
            if progress:
                progress("写入", done, total)
        if updates:
            columns = [column.name for column in table.columns if column.name != "record_key"]
            statement = (sa.update(table)
                         .where(table.c.record_key == sa.bindparam("key_"))
                         .values({name: sa.bindparam(name) for name in columns}))
            for start in range(0, len(updates), _BATCH):
                batch = updates[start:start + _BATCH]
                connection.execute(statement, [{**row, "key_": row["record_key"]} for row in batch])
                done += len(batch)
                if progress:
                    progress("写入", done, total)
        counts[kind] = {"records": len(inserts) + len(updates), "inserted": len(inserts),
                        "updated": len(updates)}
    connection.execute(sa.update(Load).where(Load.id == load_id).values(counts=counts))
    return LoadResult(load_id, counts)


def describe_error(error: SQLAlchemyError, engine: sa.Engine) -> str:
    url = engine.url.render_as_string(hide_password=True)
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if "database is locked" in detail:
        return f"数据库 {url} 正被另一次导入占用，等待 30 秒后仍未释放；请稍后再试（没有写入任何数据）"
    return f"数据库 {url} 无法连接或写入：{detail}"


def read_rows(db: str | None = None, local: dict[str, str] | None = None,
              unit_wanted: Callable[[str], bool] | None = None) -> Rows:
    """Every stored record as a plain row (`factset.rows_of`'s form), straight from the
    database: what a check reads, without building a model per record. With `unit_wanted`,
    the kinds in `local` (kind -> its unit field) only for the units wanted (a shard's)."""
    url = sa.engine.make_url(database_url(db))
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Reading must not leave an empty database file behind.
        raise StoreError(f"数据库文件 {url.database} 不存在（先运行 luoshi load 导入数据）")
    engine = connect(db)
    result: Rows = {}
    try:
        with engine.connect() as connection, cyclic_gc_paused():
            if not sa.inspect(connection).has_table("loads"):
                raise StoreError(f"数据库 {database_url(db)} 中还没有导入任何数据（先运行 luoshi load）")
            wanted = None
            for kind, model in KINDS.items():  # units first
                table = FACT_TABLES[kind]
                names = [*model.model_fields, "__key__", "__where__"]
                statement = sa.select(*(table.c[name] for name in model.model_fields),
                                      table.c.record_key, table.c.record_source)
                if unit_wanted and local and kind in local:
                    if wanted is None:
                        wanted = _units_table(connection, [row["id"] for row in result["units"]
                                                           if unit_wanted(row["id"])])
                    statement = statement.where(table.c[local[kind]].in_(sa.select(wanted.c.id)))
                cursor = connection.execute(statement.order_by(table.c.record_key))
                result[kind] = [dict(zip(names, row, strict=True)) for row in cursor]
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None
    finally:
        engine.dispose()
    return result


def _units_table(connection: sa.Connection, ids: list[str]) -> sa.Table:
    """A temporary table of unit ids, for `IN (SELECT …)`: any number of them, unlike bound
    parameters (SQLite allows 32,766 per statement)."""
    table = sa.Table("luoshi_units_wanted", sa.MetaData(),
                     sa.Column("id", FACT_TABLES["units"].c.id.type, primary_key=True),
                     prefixes=["TEMPORARY"])
    table.create(connection)
    if ids:
        connection.execute(table.insert(), [{"id": unit} for unit in ids])
    return table
