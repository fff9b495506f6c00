"""The hash chain, the submitted files' bytes, the policy texts of runs, and keys of all fields.

Every record version gains `row_hash`, loads `records_sha256`, `manifest`, `chain_seq` and
`chain_hash`,
runs `chain_seq`, `chain_hash`, `policy_files` and `narrowing`; the rows stored so far get their
hashes here, computed as `luoshi.facts.chain` computes them on writing (its formulas are part of
the stored format), loads and runs linked in the order they were written. New tables:
`load_files` (the bytes of each load's files, zlib; none for the loads before this migration)
and `policy_texts` (policy files by sha256). Reviews and lookbacks, identified by all their
fields (facts.md), get record keys of all fields (a subset before, so no two open ones collide).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import datetime as dt
import json
from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

from luoshi.facts import chain

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The fact tables as of revision 0003 (frozen: this migration must not follow later models).
FACT_TABLES = (
    "units", "persons", "institutions", "tasks", "key_institutions", "leader_links",
    "inspections", "inspection_results", "supporting_systems", "appraisals", "checks",
    "misconduct", "accountability", "warning_measures", "rectifications", "signals", "reviews",
    "education", "lookbacks",
)
_BOOKKEEPING = ("version_id", "record_key", "record_source", "load_id", "ended_by", "row_hash")
NEW_KEYS = {"reviews": ("institution", "date", "kind", "outcome"),
            "lookbacks": ("unit", "date", "plan")}
_BATCH = 2000


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    for name in FACT_TABLES:
        op.add_column(name, sa.Column('row_hash', sa.String(length=64), nullable=True))
    op.add_column('loads', sa.Column('records_sha256', sa.String(length=64), nullable=True))
    op.add_column('loads', sa.Column('manifest', sa.LargeBinary(), nullable=True))
    op.add_column('loads', sa.Column('chain_seq', sa.Integer(), nullable=True))
    op.add_column('loads', sa.Column('chain_hash', sa.String(length=64), nullable=True))
    op.add_column('runs', sa.Column('policy_files', sa.JSON(), nullable=True))
    op.add_column('runs', sa.Column('narrowing', sa.JSON(), nullable=True))
    op.add_column('runs', sa.Column('chain_seq', sa.Integer(), nullable=True))
    op.add_column('runs', sa.Column('chain_hash', sa.String(length=64), nullable=True))
    op.create_table(
        'load_files',
        sa.Column('load_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['load_id'], ['loads.id']),
        sa.PrimaryKeyConstraint('load_id', 'position'),
    )
    op.create_table(
        'policy_texts',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('sha256'),
    )
    for name, key in NEW_KEYS.items():
        _rekey(connection, name, key)
    digests: dict[int, chain.RecordsDigest] = {}
    for name in FACT_TABLES:
        _hash_versions(connection, name, digests)
    _link(connection, digests)


def _key(values: list[Any]) -> str:
    """As `factset.record_key` writes a natural key."""
    return json.dumps([value.isoformat() if isinstance(value, dt.date) else value
                       for value in values], ensure_ascii=False)


def _rekey(connection: sa.Connection, name: str, key: tuple[str, ...]) -> None:
    table = sa.Table(name, sa.MetaData(), autoload_with=connection)
    rows = connection.execute(sa.select(table.c.version_id, *(table.c[k] for k in key))).all()
    update = sa.update(table).where(table.c.version_id == sa.bindparam("version_")) \
        .values(record_key=sa.bindparam("key_"))
    changes = [{"version_": row[0], "key_": _key(list(row[1:]))} for row in rows]
    for start in range(0, len(changes), _BATCH):
        connection.execute(update, changes[start:start + _BATCH])


def _hash_versions(connection: sa.Connection, name: str,
                   digests: dict[int, chain.RecordsDigest]) -> None:
    table = sa.Table(name, sa.MetaData(), autoload_with=connection)
    fields = [column.name for column in table.columns if column.name not in _BOOKKEEPING]
    update = sa.update(table).where(table.c.version_id == sa.bindparam("version_")) \
        .values(row_hash=sa.bindparam("hash_"))
    changes = []
    for row in connection.execute(sa.select(table).order_by(table.c.version_id)):
        values = row._mapping
        content = chain.version_hash(name, row.load_id, row.record_key, row.record_source,
                                     values, fields)
        digests.setdefault(row.load_id, chain.RecordsDigest()).brought(name, row.record_key,
                                                                       content)
        if row.ended_by is not None:
            digests.setdefault(row.ended_by, chain.RecordsDigest()).ended(
                name, row.record_key, row.load_id)
        changes.append({"version_": row.version_id,
                        "hash_": content if row.ended_by is None else chain.ended(content,
                                                                                  row.ended_by)})
    for start in range(0, len(changes), _BATCH):
        connection.execute(update, changes[start:start + _BATCH])


def _link(connection: sa.Connection, digests: dict[int, chain.RecordsDigest]) -> None:
    """Loads and runs in the order they were written (their times; a load before a run of
    the same moment)."""
    metadata = sa.MetaData()
    loads = sa.Table('loads', metadata, autoload_with=connection)
    runs = sa.Table('runs', metadata, autoload_with=connection)
    links = [(_utc(row.loaded_at), 0, row.id, "load", row) for row in connection.execute(sa.select(loads))]
    links += [(_utc(row.created_at), 1, row.id, "run", row) for row in connection.execute(sa.select(runs))]
    previous = chain.GENESIS
    for seq, (_, _, row_id, what, row) in enumerate(sorted(links, key=lambda link: link[:3]), 1):
        if what == "load":
            digest = digests.get(row_id, chain.RecordsDigest())
            records = digest.hexdigest()
            previous = chain.link_hash("load", seq, previous, chain.load_content(row), records)
            connection.execute(sa.update(loads).where(loads.c.id == row_id).values(
                records_sha256=records, manifest=digest.manifest(), chain_seq=seq,
                chain_hash=previous))
        else:
            previous = chain.link_hash("run", seq, previous, chain.run_content(row))
            connection.execute(sa.update(runs).where(runs.c.id == row_id).values(
                chain_seq=seq, chain_hash=previous))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=None) if value.tzinfo is None else \
        value.astimezone(dt.UTC).replace(tzinfo=None)


def downgrade() -> None:
    """Not supported: luoshi migrations never drop data."""
    raise NotImplementedError("luoshi migrations never drop data; restore a backup instead")
