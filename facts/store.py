"""The fact store: SQLite by default, PostgreSQL (or any SQLAlchemy database) by URL.

`load` stores a validated fact set in one transaction as new record versions, never
overwriting one: a record whose key (id, or natural key) is stored with the same content is left
as it is (unchanged), one with other content ends the stored version and adds a new one
(changed). The scope says what the set replaces: nothing (merge), one unit's records (unit: the
unit's stored records missing from the set are removed, i.e. their open version is ended), or
everything (replace). A failure anywhere rolls the whole load back. Every load is logged in
`loads` with who sent it, when it was received, its files (their bytes kept in `load_files`),
scope and counts, and linked into the hash chain (`chain.py`) with every version it wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, get_origin

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from . import chain, database, tables
from .database import LOAD_LOCK, describe_error
from .database import migrate as migrate  # for the commands: `store.migrate` brings a schema up
from .factset import FactSet, Record, Row, Rows, record_key
from .gc_pause import cyclic_gc_paused
from .kinds import KINDS, references, unit_path
from .problems import DamagedRecord, InputError, Location, Problem, Progress, StoreError
from .readers import InputFile
from .tables import FACT_TABLES, LOAD_FILES, LOADS
from .version import tool_version

DEFAULT_DB = "luoshi.db"
_BATCH = 2000


def database_url(db: str | None = None) -> str:
    """`--db`, else `LUOSHI_DB`, else ./luoshi.db; a plain path means a SQLite file."""
    value = db or os.environ.get("LUOSHI_DB") or DEFAULT_DB
    return value if "://" in value else f"sqlite:///{value}"


def connect(db: str | None = None, *, pooled: bool = False) -> sa.Engine:
    """A new engine for `db` (the caller disposes of it). `pooled`: PostgreSQL connections are
    kept for reuse and checked before each use; SQLite's are opened per use (cheap, and no
    file is held open)."""
    url = database_url(db)
    options: dict[str, Any] = {}
    if pooled:
        options = {"poolclass": sa.pool.NullPool} if url.startswith("sqlite") else \
            {"pool_pre_ping": True}
    try:
        engine = sa.create_engine(url, json_deserializer=_stored_json, **options)
    except (SQLAlchemyError, ImportError, ValueError) as error:
        raise StoreError(f"数据库地址无效：{url}（{error}）") from None
    if engine.dialect.name == "postgresql":
        tables.declare_for_postgresql()
    if engine.dialect.name == "sqlite":
        read_only = database.read_only_uri(engine.url)
        if read_only is not None:  # opened read-only, under the name it was given

            def open_read_only(_dialect, _record, cargs, cparams) -> None:  # noqa: ANN001
                cargs[:] = [read_only]
                cparams["uri"] = True

            sa.event.listen(engine, "do_connect", open_read_only)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock when a transaction begins, so two loads queue up instead of both
        # reading and then deadlocking on the upgrade to a write lock; a snapshot only reads.
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


class Damaged(str):
    """The text of a JSON column that does not parse (edited by hand in SQL), in place of its
    value: readers that check a row's shape then name the row, and `verify` finds its link
    changed, instead of Python's JSONDecodeError escaping from every read of the table."""


def _stored_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return Damaged(text)


_engines: dict[str, sa.Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(db: str | None = None) -> sa.Engine:
    """This process's engine for `db`, made once and never disposed: a new engine and
    connection per call cost 20–30 ms on PostgreSQL, more than most of the portal's reads
    (docs/performance.md, the portal under load)."""
    url = database_url(db)
    with _engines_lock:
        if url not in _engines:
            _engines[url] = connect(db, pooled=True)
        return _engines[url]


def _sqlite_begin(connection: sa.Connection) -> None:
    reading = connection.get_execution_options().get("luoshi_read")
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


def _sqlite_pragmas(connection, _record) -> None:  # noqa: ANN001 (DB-API objects)
    connection.isolation_level = None  # transactions are begun by the "begin" listener
    cursor = connection.cursor()
    # (The write-ahead log is switched on by `database.writable`: it changes the file.)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")  # a concurrent load waits instead of failing
    cursor.close()


@dataclass(frozen=True)
class LoadResult:
    load_id: int
    counts: dict[str, dict[str, int]]  # kind -> {"added", "changed", "removed", "unchanged"}


@dataclass(frozen=True)
class Submission:
    """Who sent a set and what it replaces: `scope` is one of `tables.SCOPES`."""

    scope: str = "merge"
    unit: str | None = None
    received: dt.datetime | None = None  # default: now
    by: str | None = None
    note: str | None = None
    # Sent by the unit itself (the portal's unit accounts): its problems name no stored record
    # of another unit, so that it learns nothing of them (the office, sending for it, does).
    private: bool = False


def load(facts: FactSet, inputs: list[InputFile], db: str | None = None,
         progress: Progress | None = None,
         waiting: Callable[[str], None] | None = None,
         submission: Submission = Submission()) -> LoadResult:
    """Store `facts` as new versions in one transaction; raise `StoreError` or `InputError`
    (and store nothing) on failure. Concurrent loads into one database take turns; `waiting`
    hears when this one must wait."""
    engine = shared_engine(db)
    try:
        database.writable(engine)
        with engine.begin() as connection, cyclic_gc_paused():
            return _load(connection, facts, inputs, progress, waiting, submission)
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None



def _load(connection: sa.Connection, facts: FactSet, inputs: list[InputFile],
          progress: Progress | None, waiting: Callable[[str], None] | None,
          submission: Submission) -> LoadResult:
    if connection.dialect.name == "postgresql":
        free = connection.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"),
                                  {"k": LOAD_LOCK}).scalar()
        if not free:
            if waiting:
                waiting("另一次导入正在写入同一数据库，等待它完成……")
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
    if submission.scope == "unit":
        assert submission.unit is not None
        refuse_foreign(connection, facts, submission.unit)
    # Every kind is read before any is written: whose records are in scope is decided by the
    # state before this load (a withdrawn inspection still places its results in scope).
    plans = {kind: _plan(connection, kind, facts.records[kind], submission) for kind in KINDS}
    if submission.scope == "unit":
        refuse_dangling(connection, facts, plans, submission.private)
    now = dt.datetime.now(dt.UTC)
    load_id = connection.execute(sa.insert(LOADS).values(
        loaded_at=now, tool_version=tool_version(),
        files=[{"path": item.path, "sha256": item.sha256, "size": item.size} for item in inputs],
        counts={}, received_at=(submission.received or now).astimezone(dt.UTC), submitted_by=submission.by,
        note=submission.note, scope=submission.scope, scope_unit=submission.unit,
    ).returning(LOADS.c.id)).scalar_one()
    for position, item in enumerate(inputs):
        connection.execute(sa.insert(LOAD_FILES).values(load_id=load_id, position=position,
                                                      path=item.path,
                                                      content=chain.compress(item.data)))
    counts: dict[str, dict[str, int]] = {}
    digest = chain.RecordsDigest()
    done, total = 0, len(facts)
    for kind, plan in plans.items():
        table = FACT_TABLES[kind]
        ending = sa.update(table).where(table.c.version_id == sa.bindparam("version_")) \
            .values(ended_by=load_id, row_hash=sa.bindparam("hash_"))
        for start in range(0, len(plan.ended), _BATCH):
            batch_ended = plan.ended[start:start + _BATCH]
            connection.execute(ending, [{"version_": old["version_id"],
                                         "hash_": chain.ended(old["row_hash"], load_id)}
                                        for old in batch_ended])
            for old in batch_ended:
                digest.ended(kind, old["record_key"], old["load_id"])
        for start in range(0, len(plan.inserts), _BATCH):
            batch = plan.inserts[start:start + _BATCH]
            rows = []
            for row in batch:
                row_hash = chain.version_hash(kind, load_id, row["record_key"], row["record_source"], row)
                digest.brought(kind, row["record_key"], row_hash)
                rows.append({**row, "load_id": load_id, "row_hash": row_hash})
            connection.execute(sa.insert(table), rows)
        done += len(facts.records[kind])
        if progress and total:
            progress("写入", done, total)
        counts[kind] = plan.counts
    # Hashed as read back, which is what `verify` reads (times as the database keeps them).
    stored = connection.execute(sa.select(LOADS).where(LOADS.c.id == load_id)).one()
    content = {**chain.load_content(stored), "counts": counts}
    seq, previous = chain.head(connection)
    records = digest.hexdigest()
    link = chain.link_hash("load", seq + 1, previous, content, records)
    connection.execute(sa.update(LOADS).where(LOADS.c.id == load_id).values(
        counts=counts, records_sha256=records, manifest=digest.manifest(), chain_seq=seq + 1,
        chain_hash=link))
    return LoadResult(load_id, counts)


@dataclass
class _Plan:
    """What one kind's load writes: versions to end, rows to insert, and the counts."""

    ended: list[dict[str, Any]]  # the open versions it ends
    inserts: list[dict[str, Any]]
    counts: dict[str, int]
    removed: set[str]  # the keys leaving the current state


def _plan(connection: sa.Connection, kind: str, records: list[Record],
          submission: Submission) -> _Plan:
    table = FACT_TABLES[kind]
    fields = list(KINDS[kind].model_fields)
    submitted = {record_key(record.fact): record for record in records}
    # A unit's stored records of the kind are read with the submitted keys, in one statement
    # (each new statement costs a compilation, and on PostgreSQL a round trip).
    owned = None
    if submission.scope == "unit" and KINDS[kind].OWNER is not None:
        owned = _owned_by(connection, kind, submission.unit)
    stored, in_scope = _open_versions(connection, table, fields, set(submitted),
                                      everything=submission.scope == "replace", owned=owned)
    if submission.scope == "replace":
        in_scope = set(stored)
    if submission.scope == "unit":
        foreign = [record for key, record in submitted.items()
                   if key in stored and key not in in_scope]
        if foreign:
            raise InputError([Problem(record.where, "E502",
                                      f"该记录已由其他单位报送，单位 {submission.unit} 不能修改",
                                      kind) for record in foreign])
    ended: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0}
    for key, record in submitted.items():
        row = record.fact.model_dump()
        old = stored.get(key)
        if old is not None and all(old[name] == row[name] for name in fields):
            counts["unchanged"] += 1
            continue
        if old is not None:
            ended.append(old)
            counts["changed"] += 1
        else:
            counts["added"] += 1
        inserts.append({**row, "record_key": key, "key_sha256": tables.key_sha256(key),
                        "record_source": record.source})
    removed = in_scope - submitted.keys()
    for key in sorted(removed):
        ended.append(stored[key])
        counts["removed"] += 1
    return _Plan(ended, inserts, counts, removed)


# Where the problems of a private submission place the stored records of others it cites.
ELSEWHERE = "已存的其他记录"


def refuse_dangling(connection: sa.Connection, facts: FactSet, plans: dict[str, _Plan],
                    private: bool = False) -> None:
    """A unit may withdraw a record only if nothing left in the state still names it: neither
    a record of the submission nor a stored record this load keeps (say, another unit's
    accountability based on the withdrawn misconduct). Units withdraw no reference kinds, so
    the list fields, which name only those, need no look. `private`: the stored records are
    counted, not named (`Submission.private`)."""
    withdrawn = {kind: plan.removed for kind, plan in plans.items()
                 if plan.removed and KINDS[kind].KEY == ("id",)}
    if not withdrawn:
        return
    problems: list[Problem] = []
    cited: dict[Any, int] = {}  # withdrawn id -> stored records naming it (private)
    for kind in KINDS:
        table = FACT_TABLES[kind]
        for name, targets in references(kind).items():
            ids = set().union(*(withdrawn.get(target, set()) for target in targets))
            if not ids or get_origin(KINDS[kind].model_fields[name].annotation) is list:
                continue
            for record in facts.records[kind]:
                if getattr(record.fact, name) in ids:
                    problems.append(Problem(record.where, "E501",
                                            f"所引用的 {getattr(record.fact, name)!r} 在本次报送中被撤回",
                                            kind, name))
            kept = sa.select(table.c.record_key, table.c.record_source, table.c[name]).where(
                _open(table), table.c[name].in_(sorted(ids)),
                table.c.version_id.not_in([old["version_id"] for old in plans[kind].ended] or [-1]))
            submitted = {record_key(record.fact) for record in facts.records[kind]}
            for key, source, value in connection.execute(kept):
                if key in submitted:  # reported at its line in the submission above
                    continue
                if private:
                    cited[value] = cited.get(value, 0) + 1
                    continue
                problems.append(Problem(Location(source), "E501",
                                        f"已存的记录 {key} 引用 {value!r}：本次报送撤回了它，"
                                        "须先由该记录的报送单位修改或撤回该记录", kind, name))
    problems += [Problem(Location(ELSEWHERE), "E501",
                         f"本次报送撤回了 {value!r}，但已存的其他记录中还有 {count} 条引用它，"
                         "不能撤回；请联系惩防办处理引用它的记录") for value, count in sorted(cited.items())]
    if problems:
        raise InputError(problems)


def _open(table: sa.Table) -> sa.ColumnElement[bool]:
    return table.c.ended_by.is_(None)


def _owned_by(connection: sa.Connection, kind: str, unit: str | None) -> sa.ColumnElement[bool]:
    """The condition that a stored record of `kind` belongs to `unit` (its OWNER path read
    through the current state). The records an owner is reached through are looked up first:
    as a subquery, PostgreSQL planned a nested loop over every record while the tables had no
    statistics yet (0.2 s a query in the first minute after a city's load)."""
    table = FACT_TABLES[kind]
    path = KINDS[kind].OWNER
    assert path is not None
    field, through = unit_path(kind, path)
    if through is None:
        return table.c[field] == unit
    target_kind, target_field = through
    target = FACT_TABLES[target_kind]
    ids = connection.scalars(sa.select(target.c.id).where(
        _open(target), target.c[target_field] == unit)).all()
    return table.c[field].in_(sorted(ids))


def _open_versions(connection: sa.Connection, table: sa.Table, fields: list[str],
                   wanted: set[str], everything: bool, owned: sa.ColumnElement[bool] | None = None,
                   ) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """The open versions of the keys `wanted`, of those `owned` (a unit's), or of every key, by
    key; and the keys of those `owned`."""
    if not everything and not wanted and owned is None:  # a kind the set leaves alone
        return {}, set()
    columns = [table.c.version_id, table.c.record_key, table.c.load_id, table.c.row_hash,
               *(table.c[name] for name in fields)]
    names = ["version_id", "record_key", "load_id", "row_hash", *fields]
    every = sa.select(*columns, (owned if owned is not None else sa.false()).label("owned_")) \
        .where(_open(table))
    statement: sa.Select[Any] | sa.CompoundSelect = every
    if not everything and len(wanted) <= _BATCH:  # else reading all is cheaper than many IN lists
        statement = every.where(table.c.key_sha256.in_(sorted(map(tables.key_sha256, wanted))))
        if owned is not None:  # not an OR, which would read the whole kind instead of two indexes
            statement = sa.union_all(statement, every.where(owned))
    stored, in_scope = {}, set()
    for row in connection.execute(statement):
        stored[row.record_key] = dict(zip(names, row[:-1], strict=True))
        if row.owned_:
            in_scope.add(row.record_key)
    return stored, in_scope


def refuse_foreign(connection: sa.Connection, facts: FactSet, unit: str) -> None:
    """Unit `unit`'s submission holds only its own records: any other is bad input at its
    file:line. An owner reached through another record (an inspection result's inspection)
    is looked up in the submission, else in the stored state."""
    known_units = {fact.id for fact in facts.facts("units")}  # type: ignore[attr-defined]  # kinds with an id
    if unit not in known_units and not _stored_values(connection, "units", "id", {unit}):
        raise InputError([Problem(Location("load"), "C001",
                                  f"单位 {unit!r} 不存在：既不在已存数据中，也不在本次报送中")])
    problems: list[Problem] = []
    for kind, model in KINDS.items():
        records = facts.records[kind]
        if not records:
            continue
        if model.OWNER is None:
            problems.extend(Problem(record.where, "E502",
                                    f"{model.ZH}由纪委办公室统一报送，不属于单位 {unit} 的报送范围",
                                    kind) for record in records)
            continue
        first, path = unit_path(kind, model.OWNER)
        through: dict[str, Any] = {}
        if path is not None:
            target, second = path
            through = {fact.id: getattr(fact, second) for fact in facts.facts(target)}  # type: ignore[attr-defined]  # kinds with an id
            missing = {getattr(record.fact, first) for record in records} - through.keys()
            through |= _stored_values(connection, target, second, missing)
        for record in records:
            owner = getattr(record.fact, first)
            if path is not None:
                owner = through.get(owner)
            if owner != unit:
                field = KINDS[kind].model_fields[first].title
                shown = f"{first}（{field}）" + (f"所指记录的 {path[1]}" if path else "")
                problems.append(Problem(record.where, "E502",
                                        f"记录属于单位 {owner or '（空）'}（按 {shown}），"
                                        f"不属于本次报送的单位 {unit}", kind, first))
    if problems:
        raise InputError(problems)


def _stored_values(connection: sa.Connection, kind: str, field: str,
                   ids: set[Any]) -> dict[str, Any]:
    """id -> `field` of the open versions of `kind` with those ids (none before the first load)."""
    if not ids:
        return {}
    table = FACT_TABLES[kind]
    wanted = sorted(ids - {None})
    found = {}
    for start in range(0, len(wanted), _BATCH):
        statement = sa.select(table.c.id, table.c[field]).where(
            _open(table), table.c.id.in_(wanted[start:start + _BATCH]))
        found.update(dict(connection.execute(statement).all()))
    return found


def stored_ids(db: str | None, wanted: dict[str, set[str]],
               absent_ok: bool = True) -> dict[str, set[str]]:
    """Of the ids `wanted` by kind, those the current state holds: a submission's references
    may name records stored before. A database not made yet holds none; but an absent file, if
    not `absent_ok` (the portal's, made at its start: gone, it must not refuse every reference
    as unknown), is an error."""
    path = database.sqlite_file(sa.engine.make_url(database_url(db)))
    if path is not None and not path.exists() and not absent_ok:
        raise StoreError(f"数据库文件 {path} 不存在（门户启动后被移走或删除？）")
    return reading(db, lambda connection: {kind: set(_stored_values(connection, kind, "id", ids))
                                           for kind, ids in wanted.items()},
                   empty=lambda: {kind: set() for kind in wanted})


def refuse_read_only(engine: sa.Engine) -> None:
    """Raise SQLAlchemy's error if this process cannot write `engine`'s database, by a write
    that changes nothing: a read-only file, mount or `mode=ro` URL (SQLite) and a read-only
    transaction or standby (PostgreSQL) all refuse it, where a read would pass."""
    with engine.begin() as connection:
        connection.execute(sa.update(LOADS).where(sa.false()).values(note=None))


# A test's hook, called after each kind is read (the deterministic "load mid-read" of the
# snapshot test); None in use.
_after_reading: Callable[[str], None] | None = None


def read_rows(db: str | None = None, local: dict[str, str] | None = None,
              unit_wanted: Callable[[str], bool] | None = None,
              known_at: int | None = None, seen: dict[str, int] | None = None) -> Rows:
    """The current state (or, with `known_at`, the state right after that load) as plain rows
    (`factset.rows_of`'s form), straight from the database: what a check reads, without building
    a model per record. With `unit_wanted`, the kinds in `local` (kind -> its unit field) only
    for the units wanted (a shard's). All kinds are read in one snapshot: a load committed
    meanwhile is wholly seen or not at all; `seen["load_id"]` is set to the newest load it holds."""
    def read(connection: sa.Connection) -> Rows:
        rows = _read_rows(connection, local, unit_wanted, known_at)
        if seen is not None:
            seen["load_id"] = known_at or connection.scalar(sa.select(sa.func.max(LOADS.c.id))) or 0
        return rows

    return reading(db, read)


def read_newer(db: str | None, rows: Rows, since: int, seen: dict[str, int]) -> Rows:
    """The current state, from `rows`, the state right after load `since` as `read_rows` gave
    it: only the versions later loads brought or ended are read (a portal keeps the state
    and, after a unit's submission, reads its few dozen records instead of the whole city).
    `rows` is left as it is; `seen["load_id"]` is set as by `read_rows`."""
    def read(connection: sa.Connection) -> Rows:
        newest = connection.scalar(sa.select(sa.func.max(LOADS.c.id))) or 0
        seen["load_id"] = newest
        if newest == since:
            return rows
        result = dict(rows)
        # Only the kinds the loads since wrote to (their counts say which): two queries for a
        # unit's typical submission instead of two per kind.
        written = set()
        for counts in connection.scalars(sa.select(LOADS.c.counts).where(LOADS.c.id > since)):
            if not isinstance(counts, dict):  # damaged (verify names it): read every kind
                written = set(KINDS)
                break
            written |= {kind for kind, count in counts.items() if not isinstance(count, dict)
                        or count.get("added") or count.get("changed") or count.get("removed")}
        for kind, model in KINDS.items():
            if kind not in written:
                continue
            table = FACT_TABLES[kind]
            ended = set(connection.scalars(sa.select(table.c.record_key).where(
                table.c.load_id <= since, table.c.ended_by > since)))
            names = [*model.model_fields, "__key__", "__where__"]
            brought = [dict(zip(names, row, strict=True)) for row in connection.execute(
                sa.select(*(table.c[name] for name in model.model_fields), table.c.record_key,
                          table.c.record_source).where(table.c.load_id > since, _open(table)))]
            if ended or brought:
                kept = [row for row in rows.get(kind, ()) if row["__key__"] not in ended]
                result[kind] = sorted(kept + brought, key=lambda row: row["__key__"])
        # The history grows with every load; it is a few rows per rectification, read whole.
        if "rectifications" in written:
            result["rectification_versions"] = _rectification_versions(connection, None)
        return result

    return reading(db, read)


def reading(db: str | None, read: Callable[[sa.Connection], Any],
            empty: Callable[[], Any] | None = None) -> Any:
    """`read(connection)` in one read-only snapshot of a database of this luoshi's revision
    (`database`: any other is refused). A database not made yet (no file, no tables) reads as
    `empty()`, or is refused without one."""
    url = sa.engine.make_url(database_url(db))
    path = database.sqlite_file(url)
    if path is not None and not path.exists():  # reading must not leave an empty file behind
        if empty is not None:
            return empty()
        raise StoreError(f"数据库文件 {path} 不存在（先运行 luoshi load 导入数据）")
    engine = shared_engine(db)
    try:
        with snapshot(engine) as connection, cyclic_gc_paused():
            schema = database.look(connection)
            if schema.state == database.EMPTY and empty is not None:
                return empty()
            if schema.state == database.EMPTY:
                raise StoreError(f"数据库 {database.shown(engine)} 中还没有导入任何数据（先运行 luoshi load）")
            if schema.state != database.CURRENT:
                raise database.refusal(schema, database.shown(engine))
            return read(connection)
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None


def readable(db: str | None) -> bool:
    """Whether the store exists with a schema this luoshi reads (else reading raises)."""
    try:
        return bool(reading(db, lambda connection: True))
    except StoreError:
        return False


def newest_load(db: str | None) -> int:
    """The id of the newest load (0 before any)."""
    return reading(db, lambda connection: connection.scalar(sa.select(sa.func.max(LOADS.c.id))) or 0)


def states(db: str | None, first: int | None, second: int | None) -> tuple[int, int, Rows, Rows]:
    """The two states `luoshi changes` compares, read in one snapshot: right after loads
    `first` and `second` (default: before and after the newest load; `first` alone: with
    the newest), with the load ids they stand for (0: the empty state before any load)."""
    def read(connection: sa.Connection) -> tuple[int, int, Rows, Rows]:
        newest = connection.scalar(sa.select(sa.func.max(LOADS.c.id))) or 0
        if newest == 0:
            raise InputError([Problem(Location("changes"), "C001", "还没有任何导入")])
        a = newest - 1 if first is None else first
        b = newest if second is None else second
        rows: list[Rows] = [_read_rows(connection, None, None, known) if known else
                            {kind: [] for kind in KINDS}
                for known in (a, b)]
        return a, b, rows[0], rows[1]

    return reading(db, read)


def submissions(db: str | None = None, unit: str | None = None,
                load_id: int | None = None) -> list[sa.Row[Any]]:
    """Every load (or every load of unit `unit`'s submissions; or load `load_id` only, if it
    is one of them), newest first."""
    def read(connection: sa.Connection) -> list[sa.Row[Any]]:
        statement = sa.select(LOADS).order_by(LOADS.c.id.desc())
        if unit is not None:
            statement = statement.where(LOADS.c.scope == "unit", LOADS.c.scope_unit == unit)
        if load_id is not None:
            statement = statement.where(LOADS.c.id == load_id)
        return list(connection.execute(statement))

    found = reading(db, read)
    damaged = next((load for load in found if not _sound_load(load)), None)
    if damaged is not None:
        raise DamagedRecord(f"导入 {damaged.id}")
    return found


def _sound_load(load: sa.Row[Any]) -> bool:
    """Whether a load has the shape its readers rely on (`describe_load`, the pages)."""
    if not (isinstance(load.counts, dict) and isinstance(load.files, list)):
        return False
    counts_sound = all(isinstance(count, dict) and all(isinstance(n, int) for n in count.values())
                       for count in load.counts.values())
    files_sound = all(isinstance(item, dict) and "path" in item for item in load.files)
    times_sound = all(isinstance(when, dt.datetime) for when in (load.received_at, load.loaded_at))
    return counts_sound and files_sound and times_sound


COUNTS = ("added", "changed", "removed", "unchanged")


def describe_load(load: sa.Row[Any]) -> dict[str, Any]:
    """A load as `luoshi submissions --format json` and the portal's API give it."""
    totals = {key: sum(count.get(key, 0) for count in load.counts.values()) for key in COUNTS}
    return {"id": load.id, "received": _utc(load.received_at).isoformat(),
            "loaded": _utc(load.loaded_at).isoformat(), "by": load.submitted_by, "note": load.note,
            "scope": load.scope, "unit": load.scope_unit, "files": load.files,
            "counts": load.counts, "totals": totals, "tool_version": load.tool_version}


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored in UTC; SQLite gives it back without a zone."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@contextmanager
def snapshot(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose every statement reads one snapshot: on PostgreSQL a REPEATABLE READ
    read-only transaction, on SQLite one read (deferred) transaction; WAL lets loads commit
    meanwhile without the reader seeing them."""
    options: dict[str, Any] = {"luoshi_read": True}
    if engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def _read_rows(connection: sa.Connection, local: dict[str, str] | None,
               unit_wanted: Callable[[str], bool] | None, known_at: int | None) -> Rows:
    result: Rows = {}
    if known_at is not None and connection.scalar(sa.select(LOADS.c.id).where(LOADS.c.id == known_at)) is None:
        raise InputError([Problem(Location("导入编号"), "C001",
                                  f"没有编号为 {known_at} 的导入（luoshi submissions 列出全部）")])
    wanted: Any = None
    for kind, model in KINDS.items():  # units first
        table = FACT_TABLES[kind]
        names = [*model.model_fields, "__key__", "__where__"]
        statement = sa.select(*(table.c[name] for name in model.model_fields),
                              table.c.record_key, table.c.record_source)
        statement = statement.where(_as_of_load(table, known_at))
        if unit_wanted and local and kind in local:
            if wanted is None:
                wanted = _units_wanted(connection, [row["id"] for row in result["units"]
                                                    if unit_wanted(row["id"])])
            statement = statement.where(table.c[local[kind]].in_(wanted))
        cursor = connection.execute(statement.order_by(table.c.record_key))
        result[kind] = [dict(zip(names, row, strict=True)) for row in cursor]
        if _after_reading:
            _after_reading(kind)
    result["rectification_versions"] = _rectification_versions(connection, known_at)
    return result


def _rectification_versions(connection: sa.Connection, known_at: int | None) -> list[Row]:
    """Every version of every rectification stored by load `known_at` (None: by now), with the
    date its load was received (in local time, as `--received` is given): the history F407
    reads."""
    table = FACT_TABLES["rectifications"]
    statement = sa.select(table.c.id, table.c.closed_on, table.c.load_id, table.c.record_source,
                          LOADS.c.received_at).join(LOADS, LOADS.c.id == table.c.load_id)
    if known_at is not None:
        statement = statement.where(table.c.load_id <= known_at)
    rows = []
    for rectification, closed_on, load_id, source, received in connection.execute(
            statement.order_by(table.c.id, table.c.load_id)):
        received = received.replace(tzinfo=dt.UTC) if received.tzinfo is None else received
        rows.append({"rectification": rectification, "closed_on": closed_on, "load": load_id,
                     "received": received.astimezone().date(),
                     "__key__": json.dumps([rectification, load_id], ensure_ascii=False),
                     "__where__": source})
    return rows


def _as_of_load(table: sa.Table, known_at: int | None) -> sa.ColumnElement[bool]:
    """The versions open right after load `known_at` (None: open now)."""
    if known_at is None:
        return _open(table)
    return sa.and_(table.c.load_id <= known_at,
                   sa.or_(table.c.ended_by.is_(None), table.c.ended_by > known_at))


def _units_wanted(connection: sa.Connection, ids: list[str]) -> Any:
    """What `IN (…)` tests against for any number of unit ids (SQLite allows 32,766 bound
    parameters per statement): on SQLite a temporary table, on PostgreSQL one array parameter
    (a read-only transaction may create no table)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return sa.select(sa.func.unnest(sa.literal(ids, ARRAY(sa.String()))))
    return sa.select(_units_table(connection, ids).c.id)


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


def verify(db: str | None = None) -> chain.Verdict:
    """The hash chain recomputed over every load, record version, kept file and run."""
    return reading(db, chain.verify)


@dataclass(frozen=True)
class KeptFile:
    path: str  # as the submitter's command named it
    sha256: str  # as the load's log recorded it
    data: bytes


def submission_files(db: str | None, load_id: int) -> list[KeptFile]:
    """The files load `load_id` read, byte for byte as they were submitted."""
    def read(connection: sa.Connection) -> list[KeptFile]:
        files = connection.scalar(sa.select(LOADS.c.files).where(LOADS.c.id == load_id))
        if files is None:
            raise InputError([Problem(Location("--files"), "C001",
                                      f"没有编号为 {load_id} 的导入（luoshi submissions 列出全部）")])
        kept = {row.position: row for row in connection.execute(
            sa.select(LOAD_FILES).where(LOAD_FILES.c.load_id == load_id))}
        if files and not kept:
            raise InputError([Problem(Location("--files"), "C001",
                                      f"第 {load_id} 次导入早于保存文件内容的 luoshi 版本，"
                                      "数据库中只有其文件名、大小与 sha256")])
        result = []
        for position, item in enumerate(files):
            if position not in kept:
                raise StoreError(f"第 {load_id} 次导入的文件 {item['path']} 的内容已从数据库中删除"
                                 "（luoshi verify 查看）")
            result.append(KeptFile(item["path"], item["sha256"],
                                   chain.decompress(kept[position].content)))
        return result

    return reading(db, read)
