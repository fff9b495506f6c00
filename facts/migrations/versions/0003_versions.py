"""Record versions that are never overwritten; loads with received date, submitter, note, scope.

Every fact table becomes a table of versions: `version_id` is the new primary key, `ended_by`
the load that ended a version (NULL: current), and a partial unique index keeps one open version
per `record_key`. The rows stored so far become the open versions, each brought by the load that
last wrote it. Loads gain `received_at` (their `loaded_at`), `submitted_by`, `note`, `scope`
(`merge`: the only scope there was) and counts in the new form (`inserted` -> `added`, `updated` ->
`changed`: a load before this migration could not tell a change from an identical reload).
Runs gain `load_id` (unknown for the runs recorded so far).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The fact tables as of revision 0002 (frozen: this migration must not follow later models).
FACT_TABLES = (
    "units", "persons", "institutions", "tasks", "key_institutions", "leader_links",
    "inspections", "inspection_results", "supporting_systems", "appraisals", "checks",
    "misconduct", "accountability", "warning_measures", "rectifications", "signals", "reviews",
    "education", "lookbacks",
)
_BOOKKEEPING = ("record_key", "record_source", "load_id")


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    _loads(connection)
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('load_id', sa.Integer(), nullable=True))
    for name in FACT_TABLES:
        _versions(connection, name)


def _loads(connection: sa.Connection) -> None:
    # Plain ADD COLUMN, not a batch copy: on SQLite copying `loads` would break the foreign
    # keys of every fact table. NOT NULL columns need a default there; the values are set below.
    op.add_column('loads', sa.Column('received_at', sa.DateTime(timezone=True), nullable=False,
                                     server_default='1970-01-01 00:00:00'))
    op.add_column('loads', sa.Column('submitted_by', sa.String(), nullable=True))
    op.add_column('loads', sa.Column('note', sa.String(), nullable=True))
    op.add_column('loads', sa.Column('scope', sa.String(length=16), nullable=False,
                                     server_default='merge'))
    op.add_column('loads', sa.Column('scope_unit', sa.String(), nullable=True))
    loads = sa.table('loads', sa.column('id', sa.Integer()), sa.column('loaded_at'),
                     sa.column('counts', sa.JSON()), sa.column('received_at'))
    for load_id, counts in connection.execute(sa.select(loads.c.id, loads.c.counts)).all():
        new_counts = {kind: {"added": count.get("inserted", 0), "changed": count.get("updated", 0),
                             "removed": 0, "unchanged": 0}
                      for kind, count in (counts or {}).items()}
        connection.execute(sa.update(loads).where(loads.c.id == load_id)
                           .values(counts=new_counts, received_at=loads.c.loaded_at))
    if connection.dialect.name != "sqlite":  # SQLite cannot drop a default in place
        op.alter_column('loads', 'received_at', server_default=None)
        op.alter_column('loads', 'scope', server_default=None)


def _versions(connection: sa.Connection, name: str) -> None:
    old = sa.Table(name, sa.MetaData(), autoload_with=connection)
    fields = [column for column in old.columns if column.name not in _BOOKKEEPING]
    staging = f"{name}__versions"
    op.create_table(
        staging,
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('record_key', sa.String(), nullable=False),
        sa.Column('record_source', sa.String(), nullable=False),
        sa.Column('load_id', sa.Integer(), nullable=False),
        sa.Column('ended_by', sa.Integer(), nullable=True),
        *(sa.Column(column.name, column.type, nullable=column.nullable) for column in fields),
        sa.ForeignKeyConstraint(['load_id'], ['loads.id']),
        sa.ForeignKeyConstraint(['ended_by'], ['loads.id']),
        sa.PrimaryKeyConstraint('version_id'),
    )
    copied = [*_BOOKKEEPING, *(column.name for column in fields)]
    new = sa.Table(staging, sa.MetaData(), autoload_with=connection)
    connection.execute(sa.insert(new).from_select(
        copied, sa.select(*(old.c[column] for column in copied)).order_by(old.c.record_key)))
    op.drop_table(name)
    op.rename_table(staging, name)
    open_only = sa.text('ended_by IS NULL')
    op.create_index(f'ix_{name}_open', name, ['record_key'], unique=True,
                    sqlite_where=open_only, postgresql_where=open_only)


def downgrade() -> None:
    """Not supported: going back would drop every earlier version of every record."""
    raise NotImplementedError("luoshi migrations never drop data; restore a backup instead")
