"""The database schema: a table per fact kind, derived from the fact model, and the load log.

Fact tables are built from the pydantic models so the two cannot drift apart: each field is a
column of the matching type. A row is one version of a record, never overwritten: `version_id`,
`record_key` (the id, or the natural key as JSON), `record_source` (`file:line` where this
version was read), `load_id` (the load that brought it), `ended_by` (the load that replaced
or removed it; NULL while it is current) and `row_hash` (`chain.py`). The current state is the open versions, read through a
partial unique index (one open version per key). The Alembic migrations in `migrations/` are frozen copies of this; a test compares
them with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args, get_origin

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .kinds import KINDS, Fact


class Base(DeclarativeBase):
    pass


class Load(Base):
    """One `luoshi load`: when, from whom, which files with their hashes, its scope, and
    counts per kind."""

    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    tool_version: Mapped[str] = mapped_column(sa.String(32))
    # [{"path", "sha256", "size"}] for every file read
    files: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    # {kind: {"added", "changed", "removed", "unchanged"}}
    counts: Mapped[dict[str, dict[str, int]]] = mapped_column(sa.JSON)
    received_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))  # --received
    submitted_by: Mapped[str | None] = mapped_column(sa.String)  # --by
    note: Mapped[str | None] = mapped_column(sa.String)  # --note
    scope: Mapped[str] = mapped_column(sa.String(16))  # SCOPES
    scope_unit: Mapped[str | None] = mapped_column(sa.String)  # the unit of scope "unit"
    # The hash chain (`chain.py`): what the load did to versions, its place and hash
    records_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    manifest: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # chain.RecordsDigest.manifest
    chain_seq: Mapped[int | None] = mapped_column(sa.Integer)
    chain_hash: Mapped[str | None] = mapped_column(sa.String(64))


class LoadFile(Base):
    """The bytes of a file a load read (zlib), so that what a unit sent can be produced again."""

    __tablename__ = "load_files"

    load_id: Mapped[int] = mapped_column(sa.ForeignKey("loads.id"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)  # in `Load.files`
    path: Mapped[str] = mapped_column(sa.String)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


class PolicyText(Base):
    """A policy file's bytes (zlib), by their sha256: a run names the files it used, and a
    catalog used by many runs is stored once."""

    __tablename__ = "policy_texts"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)


# A load's scope: add or update only; replace one unit's records; replace the whole state.
SCOPES = ("merge", "unit", "replace")


def _column_type(annotation: Any) -> sa.types.TypeEngine:
    if get_origin(annotation) is list:
        return sa.JSON()
    options = set(get_args(annotation)) or {annotation}
    options.discard(type(None))
    (python_type,) = options
    if python_type is dt.date:
        return sa.Date()
    if python_type is bool:
        return sa.Boolean()
    if python_type is int:
        return sa.Integer()
    if python_type is float:
        return sa.Float()
    return sa.String()


def _fact_table(model: type[Fact]) -> sa.Table:
    columns: list[sa.Column | sa.Index] = [
        sa.Column("version_id", sa.Integer(), primary_key=True),
        sa.Column("record_key", sa.String(), nullable=False),
        sa.Column("record_source", sa.String(), nullable=False),
        sa.Column("load_id", sa.Integer(), sa.ForeignKey("loads.id"), nullable=False),
        sa.Column("ended_by", sa.Integer(), sa.ForeignKey("loads.id"), nullable=True),
        sa.Column("row_hash", sa.String(64), nullable=True),  # chain.version_hash
    ]
    for name, info in model.model_fields.items():
        nullable = not info.is_required() and info.default is None
        columns.append(sa.Column(name, _column_type(info.annotation), nullable=nullable))
    table = sa.Table(model.KIND, Base.metadata, *columns)
    open_only = table.c.ended_by.is_(None)
    sa.Index(f"ix_{model.KIND}_open", table.c.record_key, unique=True,
             sqlite_where=open_only, postgresql_where=open_only)
    return table


FACT_TABLES: dict[str, sa.Table] = {kind: _fact_table(model) for kind, model in KINDS.items()}


class Run(Base):
    """One recorded `check --record`: what went in, and what came out."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    tool_version: Mapped[str] = mapped_column(sa.String(32))
    year: Mapped[int] = mapped_column(sa.Integer, index=True)
    as_of: Mapped[dt.date] = mapped_column(sa.Date)
    inputs_sha256: Mapped[str] = mapped_column(sa.String(64))  # of the facts checked
    policies_sha256: Mapped[str] = mapped_column(sa.String(64))  # of the policy files used
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    waivers: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)  # as in check's JSON
    triggers: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    load_id: Mapped[int | None] = mapped_column(sa.Integer)  # the newest load the check read
    # [{"folder": "builtin" | "user N", "name", "sha256"}]: the policy files, in `policy_texts`
    policy_files: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    # {"select", "ignore", "unit"}: how the findings were narrowed (None: not narrowed)
    narrowing: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    chain_seq: Mapped[int | None] = mapped_column(sa.Integer)
    chain_hash: Mapped[str | None] = mapped_column(sa.String(64))


# -- the portal (`luoshi serve`, `luoshi users`): accounts, tokens, sessions, the audit log --

ROLES = ("office", "unit")


class User(Base):
    """An account of the portal: the office's staff (`office`), or one unit's clerk (`unit`,
    with the unit it belongs to). Only an argon2 hash of the password is kept."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))  # ROLES
    unit: Mapped[str | None] = mapped_column(sa.String)  # the unit of a `unit` account
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    disabled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class ApiToken(Base):
    """A token for scripts (`Authorization: Bearer …`): only its SHA-256 is kept, so a copy of
    the database gives no usable token; revoked tokens stay, with when."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class WebSession(Base):
    """A browser's login: the cookie carries a random id (signed), the table its SHA-256, the
    CSRF token of its forms and when it expires. A new id at every login: no fixation."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class WebKey(Base):
    """The key the portal signs its cookies with, made at first start (LUOSHI_SECRET_KEY, if
    set, is used instead)."""

    __tablename__ = "web_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))


class AuditEntry(Base):
    """One action, for the office to read (留痕): who, what, when, from where, and the result."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    user_name: Mapped[str | None] = mapped_column(sa.String(64))  # None: nobody logged in
    unit: Mapped[str | None] = mapped_column(sa.String)  # the unit the action concerns
    action: Mapped[str] = mapped_column(sa.String(32))  # audit.ACTIONS
    outcome: Mapped[str] = mapped_column(sa.String(16))  # ok, refused, failed
    address: Mapped[str | None] = mapped_column(sa.String(64))  # the client's IP address
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
