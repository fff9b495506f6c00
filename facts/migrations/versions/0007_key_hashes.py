"""Open versions found by the SHA-256 of their key, not by its text: long keys are stored too.

`ix_<kind>_open`, the partial unique index that keeps one open version per key, was an index
over `record_key` itself. A PostgreSQL btree entry holds at most 2,704 bytes (a row, 8,191): a
回头看 whose key is all its fields, a 3,000-character plan among them, could not be stored, and
every later submission of it failed the same way. Every version gains `key_sha256`, the SHA-256
of its key (UTF-8, hex), and the index is over it. SQLite, which has no such limit, gets the
same schema. The key's text stays in `record_key`, which the hash chain covers as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
import hashlib
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The fact tables as of revision 0006 (frozen: this migration must not follow later models).
FACT_TABLES = (
    "units", "persons", "institutions", "tasks", "key_institutions", "leader_links",
    "inspections", "inspection_results", "supporting_systems", "appraisals", "checks",
    "misconduct", "accountability", "warning_measures", "rectifications", "signals", "reviews",
    "education", "lookbacks",
)
_BATCH = 2000


def upgrade() -> None:
    """Upgrade schema."""
    connection = op.get_bind()
    open_only = sa.text('ended_by IS NULL')
    for name in FACT_TABLES:
        # Plain ADD COLUMN, not a batch copy of the table; NOT NULL needs a default there.
        op.add_column(name, sa.Column('key_sha256', sa.String(length=64), nullable=False,
                                      server_default=''))
        table = sa.table(name, sa.column('version_id', sa.Integer()),
                         sa.column('record_key', sa.String()), sa.column('key_sha256', sa.String()))
        update = sa.update(table).where(table.c.version_id == sa.bindparam('version_')) \
            .values(key_sha256=sa.bindparam('hash_'))
        changes = [{'version_': version, 'hash_': hashlib.sha256(key.encode()).hexdigest()}
                   for version, key in connection.execute(
                       sa.select(table.c.version_id, table.c.record_key))]
        for start in range(0, len(changes), _BATCH):
            connection.execute(update, changes[start:start + _BATCH])
        if connection.dialect.name == 'postgresql':  # luoshi always writes it
            op.alter_column(name, 'key_sha256', server_default=None)
        op.drop_index(f'ix_{name}_open', table_name=name)
        op.create_index(f'ix_{name}_open', name, ['key_sha256'], unique=True,
                        sqlite_where=open_only, postgresql_where=open_only)


def downgrade() -> None:
    """Not supported: luoshi migrations never drop data."""
    raise NotImplementedError("luoshi migrations never drop data; restore a backup instead")
