"""The database schema: a table per fact kind, derived from the fact model, the load log, the
recorded runs and the portal's accounts.

Fact tables are built from the pydantic models so the two cannot drift apart: each field is a
column of the matching type. A row is one version of a record, never overwritten: `version_id`,
`record_key` (the id, or the natural key as JSON), `key_sha256` (its hash, `key_sha256()`),
`record_source` (`file:line` where this version was read), `load_id` (the load that brought
it), `ended_by` (the load that replaced or removed it; NULL while it is current) and `row_hash`
(`chain.py`). The current state is the open versions, one per key: a partial unique index over
the key's hash, not its text, which may be longer than a PostgreSQL index entry can hold (a
回头看 is keyed by all its fields, its plan too). The Alembic
migrations in `migrations/` are frozen copies of this; a test compares them with it.

SQLAlchemy Core only: luoshi reads and writes rows with statements, never through ORM objects,
and not importing the ORM spares every command that opens the store about a tenth of a second
(a unit's `luoshi load` is mostly start-up). A row read comes back as an `sa.Row`, its columns
as attributes (`load.counts`, `run.findings`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, get_args, get_origin

import sqlalchemy as sa

from .kinds import KINDS, Fact, unit_path

metadata = sa.MetaData()
_TIME = sa.DateTime(timezone=True)

# One `luoshi load`: when, from whom, which files with their hashes, its scope, and counts per
# kind.
LOADS = sa.Table(
    "loads", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("loaded_at", _TIME, nullable=False),
    sa.Column("tool_version", sa.String(32), nullable=False),
    sa.Column("files", sa.JSON, nullable=False),  # [{"path", "sha256", "size"}] for every file read
    # {kind: {"added", "changed", "removed", "unchanged"}}
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("received_at", _TIME, nullable=False),  # --received
    sa.Column("submitted_by", sa.String),  # --by
    sa.Column("note", sa.String),  # --note
    sa.Column("scope", sa.String(16), nullable=False),  # SCOPES
    sa.Column("scope_unit", sa.String),  # the unit of scope "unit"
    # The hash chain (`chain.py`): what the load did to versions, its place and hash
    sa.Column("records_sha256", sa.String(64)),
    sa.Column("manifest", sa.LargeBinary),  # chain.RecordsDigest.manifest
    sa.Column("chain_seq", sa.Integer),
    sa.Column("chain_hash", sa.String(64)),
)

# The bytes of a file a load read (zlib), so that what a unit sent can be produced again.
LOAD_FILES = sa.Table(
    "load_files", metadata,
    sa.Column("load_id", sa.Integer, sa.ForeignKey("loads.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # in `loads.files`
    sa.Column("path", sa.String, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

# A policy file's bytes (zlib), by their sha256: a run names the files it used, and a catalog
# used by many runs is stored once.
POLICY_TEXTS = sa.Table(
    "policy_texts", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

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


def owner_columns() -> dict[str, set[str]]:
    """The columns a unit's records are found by (`store`, a unit's submission and re-check):
    each kind's OWNER field, and for an owner reached through another record (an inspection
    result's inspection) that record's field too (the inspection's organizer)."""
    found: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for kind, model in KINDS.items():
        if model.OWNER is None:
            continue
        field, through = unit_path(kind, model.OWNER)
        found[kind].add(field)
        if through is not None:
            target, target_field = through
            found[target].add(target_field)
    return found


def key_sha256(key: str) -> str:
    """What a version's key is found by (the stored format: migration 0007 computes it too)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _fact_table(model: type[Fact], owned_by: set[str]) -> sa.Table:
    columns: list[sa.Column | sa.Index] = [
        sa.Column("version_id", sa.Integer(), primary_key=True),
        sa.Column("record_key", sa.String(), nullable=False),
        sa.Column("key_sha256", sa.String(64), nullable=False),
        sa.Column("record_source", sa.String(), nullable=False),
        sa.Column("load_id", sa.Integer(), sa.ForeignKey("loads.id"), nullable=False),
        sa.Column("ended_by", sa.Integer(), sa.ForeignKey("loads.id"), nullable=True),
        sa.Column("row_hash", sa.String(64), nullable=True),  # chain.version_hash
    ]
    for name, info in model.model_fields.items():
        nullable = not info.is_required() and info.default is None
        columns.append(sa.Column(name, _column_type(info.annotation), nullable=nullable))
    table = sa.Table(model.KIND, metadata, *columns)
    # Open versions only (see `declare_for_postgresql`): one per key, and a unit's by owner.
    open_only = table.c.ended_by.is_(None)
    sa.Index(f"ix_{model.KIND}_open", table.c.key_sha256, unique=True, sqlite_where=open_only)
    for name in sorted(owned_by):
        sa.Index(f"ix_{model.KIND}_{name}", table.c[name], sqlite_where=open_only)
    return table


_OWNED_BY = owner_columns()
FACT_TABLES: dict[str, sa.Table] = {kind: _fact_table(model, _OWNED_BY[kind])
                                    for kind, model in KINDS.items()}


def declare_for_postgresql() -> None:
    """Give the fact tables' indexes their PostgreSQL condition too (open versions only), when
    a PostgreSQL store is opened: declaring it above would import that dialect, 20 ms, into
    every command. The migrations make the indexes on both; this keeps the model complete."""
    for table in FACT_TABLES.values():
        for index in table.indexes:
            index.dialect_options["postgresql"]["where"] = table.c.ended_by.is_(None)


# One recorded `check --record`: what went in, and what came out.
RUNS = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("tool_version", sa.String(32), nullable=False),
    sa.Column("year", sa.Integer, nullable=False, index=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("inputs_sha256", sa.String(64), nullable=False),  # of the facts checked
    sa.Column("policies_sha256", sa.String(64), nullable=False),  # of the policy files used
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("waivers", sa.JSON, nullable=False),
    sa.Column("findings", sa.JSON, nullable=False),  # as in check's JSON
    sa.Column("triggers", sa.JSON, nullable=False),
    sa.Column("load_id", sa.Integer),  # the newest load the check read
    # [{"folder": "builtin" | "user N", "name", "sha256"}]: the policy files, in `policy_texts`
    sa.Column("policy_files", sa.JSON),
    # {"select", "ignore", "unit"}: how the findings were narrowed (None: not narrowed)
    sa.Column("narrowing", sa.JSON),
    sa.Column("chain_seq", sa.Integer),
    sa.Column("chain_hash", sa.String(64)),
)


# -- the portal (`luoshi serve`, `luoshi users`): accounts, tokens, sessions, the audit log --

# Who may do what (docs/web.md): the system administrator manages accounts only, the auditor
# reads the audit log only, the office acts on the data, a unit's clerk on its own unit's.
ROLES = ("admin", "auditor", "office", "unit")

# An account of the portal, of one of ROLES (`unit` with the unit it belongs to). Only an argon2
# hash of the password is kept; the TOTP secret of its second factor is encrypted with a key kept
# outside the database (web/totp.py).
USERS = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),  # ROLES
    sa.Column("unit", sa.String),  # the unit of a `unit` account
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("password_changed_at", _TIME),  # None: before this was kept
    # set by a reset (a password someone else chose): changed at the next login
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=False),
    sa.Column("totp_secret", sa.String(255)),  # encrypted; None: no second factor
    sa.Column("totp_last_step", sa.BigInteger),  # the last code's time step: no code twice
)

# The hashes (argon2) of an account's earlier passwords, newest last: none may be used again.
PASSWORD_HISTORY = sa.Table(
    "password_history", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
)

# A token for scripts (`Authorization: Bearer …`): only its SHA-256 is kept, so a copy of the
# database gives no usable token; revoked tokens stay, with when.
API_TOKENS = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("revoked_at", _TIME),
)

# A browser's login: the cookie carries a random id (signed), the table its SHA-256, the CSRF
# token of its forms, when it ends whatever happens (`expires_at`) and when it was last used
# (idle timeout). A new id at every login and at each step of it: no fixation. `stage`: None
# for a session in force, else the step of the login still to do (web/accounts.py, STAGES).
WEB_SESSIONS = sa.Table(
    "web_sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("expires_at", _TIME, nullable=False),
    sa.Column("last_seen_at", _TIME, nullable=False),
    sa.Column("stage", sa.String(16)),
)

# Failed logins, by `name:…` and `address:…`, for the throttle (web/throttle.py): in the
# database, so that every worker process counts the same and a restart forgets nothing.
LOGIN_FAILURES = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, index=True),
    sa.Column("at", _TIME, nullable=False, index=True),
)

# The logins refused while a name or address was throttled, counted per window (one row per
# key): the audit log gets a row at the first and one with the count when the window is over.
LOGIN_REFUSALS = sa.Table(
    "login_refusals", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("started_at", _TIME, nullable=False),
    sa.Column("ends_at", _TIME, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_at", _TIME, nullable=False),
    sa.Column("names", sa.JSON, nullable=False),  # the first few tried
    sa.Column("addresses", sa.JSON, nullable=False),
)

# The key the portal signs its cookies with, made at first start (LUOSHI_SECRET_KEY, if set,
# is used instead).
WEB_KEYS = sa.Table(
    "web_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
)

# One action, for the auditor to read (留痕): who, what, when, from where, and the result.
AUDIT_LOG = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", _TIME, nullable=False, index=True),
    sa.Column("user_name", sa.String(64), index=True),  # None: nobody logged in
    sa.Column("unit", sa.String, index=True),  # the unit the action concerns
    sa.Column("action", sa.String(32), nullable=False, index=True),  # audit.ACTIONS
    sa.Column("outcome", sa.String(16), nullable=False),  # ok, refused, failed
    sa.Column("address", sa.String(64)),  # the client's IP address
    sa.Column("detail", sa.JSON, nullable=False),
    # its link in the audit log's own hash chain (facts/chain.py): 1, 2, … in the order written
    sa.Column("chain_seq", sa.Integer, unique=True),
    sa.Column("chain_hash", sa.String(64)),
)
