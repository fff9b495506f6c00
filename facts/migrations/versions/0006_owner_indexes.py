"""Indexes by owner: a unit's open records of each kind are found without reading the kind.

A unit's submission (`load --unit`) and a unit's re-check look up the unit's stored records of
every kind by the field that names its owner (`tasks.unit`, `inspections.organizer`, …, and
for an owner reached through another record, that record's field: `inspection_results
.inspection`, `persons.unit`). Without an index each lookup read every open version of the kind
(about 1 ms a kind at 3,000 units, growing with the city). Partial like `ix_<kind>_open`:
only open versions are indexed, so the history of ended versions costs them nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# As `luoshi.facts.tables.owner_columns()` gave them at this revision (frozen).
OWNER_COLUMNS = {
    "persons": ('unit',),
    "institutions": ('lead_unit',),
    "tasks": ('unit',),
    "key_institutions": ('unit',),
    "leader_links": ('person',),
    "inspections": ('organizer',),
    "inspection_results": ('inspection',),
    "supporting_systems": ('unit',),
    "appraisals": ('unit',),
    "checks": ('unit',),
    "misconduct": ('unit',),
    "accountability": ('target_unit',),
    "warning_measures": ('basis',),
    "rectifications": ('unit',),
    "signals": ('unit',),
    "reviews": ('institution',),
    "education": ('unit',),
    "lookbacks": ('unit',),
}


def upgrade() -> None:
    """Upgrade schema."""
    open_only = sa.text('ended_by IS NULL')
    for table, columns in OWNER_COLUMNS.items():
        for column in columns:
            op.create_index(f'ix_{table}_{column}', table, [column],
                            sqlite_where=open_only, postgresql_where=open_only)


def downgrade() -> None:
    """Downgrade schema."""
    for table, columns in OWNER_COLUMNS.items():
        for column in columns:
            op.drop_index(f'ix_{table}_{column}', table_name=table)
