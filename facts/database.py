"""Which database a command opens, and whether luoshi may read or write it.

A database is luoshi's when its Alembic revision is one of the migrations here and, at the
newest one, it has every table and column of the model (`tables.py`). luoshi reads and writes
only a database of this luoshi's revision. It refuses (E602, changing nothing) another
application's database, one of a newer luoshi (an unknown revision), one of the newest revision
that lacks a table or column (built or edited outside luoshi), and an older one until it is
upgraded: `luoshi db upgrade` upgrades it, and so does `luoshi serve` at start; no other command
changes a schema. An empty database (no tables) is made luoshi's by the first command that writes
to it (`luoshi load`, as always; the first account with `luoshi users add`).

Looking only reads: a refused database is left byte for byte as it was. SQLite's write-ahead log,
which changes the file's header, is switched on only once a database is known to be luoshi's and
about to be written.

A SQLite file this process cannot write (a backup on a read-only mount, a file of another user,
`?mode=ro` in the URL) is opened read-only: the read-only commands work on it, and the writing
ones are refused (E601) before they begin.
"""

from __future__ import annotations

import functools
import os
import re
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import sqlalchemy as sa

from .problems import StoreError
from .tables import metadata

# Any constant: migrations and loads into one PostgreSQL database take turns on this lock.
LOAD_LOCK = 7_236_185_033
MIGRATIONS = Path(__file__).parent / "migrations"

# What a database holds (`identify`).
EMPTY, CURRENT, OLDER, NEWER, FOREIGN, INCOMPLETE = (
    "empty", "current", "older", "newer", "foreign", "incomplete")


class SchemaError(StoreError):
    """A database that is not this luoshi's at its revision; nothing was read or written."""

    code = "E602"


class ReadOnly(StoreError):
    """A command that writes was given a database this process can only read; nothing was
    written."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"数据库 {url} 只能读取，不能写入（{why}）：这个命令要写入数据库，没有写入任何"
                         "数据；只读的数据库可以用 check、report 等只读的命令读取")
        self.url, self.why = url, why


@functools.cache
def revisions() -> tuple[str, ...]:
    """Every migration's revision, oldest first, read from the files Alembic reads. Not through
    Alembic's ScriptDirectory: importing it and reading its scripts cost a quarter of a second
    on every command that opens the store (a test holds the two to the same answer)."""
    parent_of: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revision = re.search(r"^revision\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", text, re.M)
        down = re.search(r"^down_revision\b[^=\n]*=\s*(?:['\"]([^'\"]+)['\"]|None)", text, re.M)
        if revision and down:
            parent_of[revision[1]] = down[1]
    child_of = {parent: child for child, parent in parent_of.items()}
    line: list[str] = []
    while (child := child_of.get(line[-1] if line else None)) is not None:
        line.append(child)
    if len(line) != len(parent_of) or len(child_of) != len(parent_of):
        raise RuntimeError(f"luoshi 的迁移不成一条线：{sorted(parent_of.items(), key=str)}")
    return tuple(line)


def head() -> str:
    """The newest revision: the schema this luoshi reads and writes."""
    return revisions()[-1]


@dataclass(frozen=True)
class Schema:
    """What a database holds: `state` (EMPTY, CURRENT, …), its revision, the tables it has, and
    at the newest revision the model's tables and columns it lacks."""

    state: str
    revision: str | None = None
    tables: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def identify(connection: sa.Connection) -> Schema:
    """Read (only read) which schema the database holds."""
    columns = _columns(connection)
    tables = tuple(sorted(columns))
    if not columns:
        return Schema(EMPTY)
    if "alembic_version" not in columns or "version_num" not in columns["alembic_version"]:
        return Schema(FOREIGN, tables=tables)
    found = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) != 1 or not isinstance(found[0], str):
        return Schema(FOREIGN, tables=tables)
    revision = found[0]
    if revision not in revisions():
        # Another application may use Alembic too: only a database with luoshi's log of loads
        # is a newer luoshi's.
        return Schema(NEWER if "loads" in columns else FOREIGN, revision, tables)
    if revision != head():
        return Schema(OLDER, revision, tables)
    missing = tuple(name for table in metadata.sorted_tables for name in (
        [table.name] if table.name not in columns else
        [f"{table.name}.{column.name}" for column in table.columns
         if column.name not in columns[table.name]]))
    return Schema(INCOMPLETE if missing else CURRENT, revision, tables, missing)


def _columns(connection: sa.Connection) -> dict[str, set[str]]:
    """Table -> its columns, in one query (the inspector asks once per table)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        rows: Any = connection.execute(sa.text(
            "SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"))
    elif dialect == "postgresql":
        rows = connection.execute(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"))
    else:
        inspector = sa.inspect(connection)
        rows = [(table, column["name"]) for table in inspector.get_table_names()
                for column in inspector.get_columns(table)]
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def refusal(schema: Schema, url: str) -> SchemaError:
    """Why luoshi neither reads nor writes a database of `schema` (not CURRENT or EMPTY)."""
    if schema.state == FOREIGN:
        shown = "、".join(schema.tables[:5]) + ("等" if len(schema.tables) > 5 else "")
        return SchemaError(f"数据库 {url} 不是 luoshi 的数据库（其中已有 {shown} 表）：luoshi 不读也不写"
                           "别的应用的数据库，没有做任何改动；请用 --db 指向 luoshi 的数据库，"
                           "或一个空的数据库（第一次 luoshi load 在其中建立 luoshi 的结构）")
    if schema.state == NEWER:
        return SchemaError(f"数据库 {url} 的结构版本 {schema.revision} 由更新版本的 luoshi 建立，"
                           f"这个 luoshi 只认识到版本 {head()}，没有做任何改动；请升级 luoshi")
    if schema.state == OLDER:
        return SchemaError(f"数据库 {url} 的结构版本 {schema.revision} 由旧版 luoshi 建立，须先升级到"
                           f"版本 {head()}：先备份，再运行 luoshi db upgrade（luoshi serve 启动时也会"
                           "升级）；没有做任何改动")
    shown = "、".join(schema.missing[:8]) + ("等" if len(schema.missing) > 8 else "")
    return SchemaError(f"数据库 {url} 的结构不完整（缺少 {shown}）：它不是由这个 luoshi 建立的，或在 "
                       "luoshi 之外被改过；luoshi 不读也不写它，没有做任何改动")


# -- SQLite files: read-only or not --------------------------------------------------------

def sqlite_file(url: sa.URL) -> Path | None:
    """The file of a SQLite URL, `file:` URIs (`sqlite:///file:x.db?mode=ro&uri=true`) included;
    None for any other database and for one in memory."""
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if url.query.get("uri") in ("true", "1") and name.startswith("file:"):
        path = unquote(urlsplit(name).path)
        return Path(path) if path and path != ":memory:" else None
    return Path(name)


def read_only(url: sa.URL) -> str | None:
    """Why this process cannot write the SQLite database of `url` (None: it can, or the file is
    not there yet)."""
    path = sqlite_file(url)
    if path is None:
        return None
    if url.query.get("mode") == "ro" or url.query.get("immutable") in ("1", "true"):
        return "地址中写明 mode=ro"
    if not path.exists():
        return None
    if not os.access(path, os.W_OK):
        return "文件只读或属于别的用户"
    if not os.access(path.parent, os.W_OK):  # its journal or write-ahead log cannot be made
        return "所在的文件夹只读"
    return None


def read_only_uri(url: sa.URL) -> str | None:
    """The `file:` URI to open a SQLite file this process cannot write by (None: open it as
    given). With its folder read-only too and no write-ahead log beside it, SQLite could not
    make the shared-memory file it reads such a database through, so it reads the file as
    immutable: through this folder nobody can be writing it."""
    path = sqlite_file(url)
    if path is None or url.query.get("uri") in ("true", "1") or read_only(url) is None:
        return None
    log = path.with_name(path.name + "-wal")
    immutable = not os.access(path.parent, os.W_OK) and not (log.exists() and log.stat().st_size)
    return f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")


# -- before reading, before writing, upgrading ----------------------------------------------

# Engines whose database was seen at the newest revision with every table and column: later
# looks in this process read only its revision (the portal looks before every request's read).
_complete: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def look(connection: sa.Connection) -> Schema:
    """`identify`, once per engine in full; after that only the revision is read."""
    engine = connection.engine
    if engine in _complete:
        revision = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if revision == head():
            return Schema(CURRENT, revision)
    schema = identify(connection)
    if schema.state == CURRENT:
        _complete.add(engine)
    return schema


def migrate(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision: create it in an empty database, upgrade an
    older one (`luoshi db upgrade`, `luoshi serve` at start, in one transaction); refuse,
    changing nothing, a read-only database or one not luoshi's. The revision before (None: the
    database was empty) and after."""
    return _prepare(engine, upgrade=True)


def writable(engine: sa.Engine) -> None:
    """What every command that writes does first: refuse, changing nothing, a read-only
    database or one not this luoshi's at its revision (an older one too: upgrading is an
    explicit step); make an empty one luoshi's."""
    _prepare(engine, upgrade=False)


def _prepare(engine: sa.Engine, upgrade: bool) -> tuple[str | None, str]:
    url = shown(engine)
    why = read_only(engine.url)
    with engine.connect().execution_options(luoshi_read=True) as connection, connection.begin():
        if why is None and connection.dialect.name == "postgresql" and engine not in _complete:
            why = _postgresql_read_only(connection)  # later, a failed write says it
        if why is not None:
            raise ReadOnly(url, why)
        schema = look(connection)
    if schema.state == CURRENT:
        _write_ahead_log(engine)
        return schema.revision, head()
    if not (schema.state == EMPTY or schema.state == OLDER and upgrade):
        raise refusal(schema, url)
    from alembic import command  # only when the schema changes: it costs a fifth of a second
    from alembic.config import Config
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # two first loads must not both create tables
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as error:  # changed meanwhile by a newer luoshi
            raise SchemaError(f"数据库 {url} 的结构版本无法识别，可能刚由更新版本的 luoshi 升级"
                              f"（{error}）；请升级 luoshi") from None
    _write_ahead_log(engine)
    return schema.revision, head()


def _postgresql_read_only(connection: sa.Connection) -> str | None:
    if connection.execute(sa.text("SELECT pg_is_in_recovery()")).scalar():
        return "这是一台只读的备用服务器"
    if connection.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on":
        return "默认只读（default_transaction_read_only）"
    return None


def _write_ahead_log(engine: sa.Engine) -> None:
    """SQLite: a check reads its snapshot while a load writes and commits. Set on the first
    write (it is kept in the file), never on a database luoshi only looked at."""
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] not in ("wal", "memory"):
            cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def shown(engine: sa.Engine) -> str:
    """The database as messages name it, without its password (a `file:` URI as written)."""
    return unquote(engine.url.render_as_string(hide_password=True))


# How SQLite and PostgreSQL say that a database can only be read.
_READ_ONLY = ("readonly database", "read-only transaction", "read-only file system")


def describe_error(error: sa.exc.SQLAlchemyError, engine: sa.Engine) -> str:
    url = shown(engine)
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    if "database is locked" in detail:
        return f"数据库 {url} 正被另一次导入占用，等待 30 秒后仍未释放；请稍后再试（没有写入任何数据）"
    if any(words in detail for words in _READ_ONLY):
        return (f"数据库 {url} 只能读取，不能写入（{detail}）：文件或所在文件夹没有写入权限、"
                "只读挂载、以 mode=ro 打开，或是 PostgreSQL 的只读连接")
    return f"数据库 {url} 无法连接或写入：{detail}"
