"""Initial schema: a table per fact kind and the load log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('loads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tool_version', sa.String(length=32), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('accountability',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('basis', sa.String(), nullable=False),
    sa.Column('target_unit', sa.String(), nullable=False),
    sa.Column('target_person', sa.String(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('measure', sa.String(), nullable=True),
    sa.Column('re', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('appraisals',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.Column('in_performance_review', sa.Boolean(), nullable=False),
    sa.Column('in_responsibility_check', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('checks',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('education',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('title', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('inspection_results',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('inspection', sa.String(), nullable=False),
    sa.Column('institution', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('effect', sa.String(), nullable=True),
    sa.Column('progress', sa.String(), nullable=True),
    sa.Column('reason', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('inspections',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('organizer', sa.String(), nullable=False),
    sa.Column('target_unit', sa.String(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('scope', sa.String(), nullable=False),
    sa.Column('mode', sa.String(), nullable=False),
    sa.Column('special', sa.Boolean(), nullable=False),
    sa.Column('institutions', sa.JSON(), nullable=False),
    sa.Column('led_by', sa.String(), nullable=True),
    sa.Column('re_supervision', sa.Boolean(), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('institutions',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('lead_unit', sa.String(), nullable=True),
    sa.Column('cooperating_units', sa.JSON(), nullable=False),
    sa.Column('important_measure', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('adopted_on', sa.Date(), nullable=True),
    sa.Column('revised_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('key_institutions',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('institution', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('leader_links',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('person', sa.String(), nullable=False),
    sa.Column('institution', sa.String(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('lookbacks',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('plan', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('misconduct',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('person', sa.String(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('institution', sa.String(), nullable=True),
    sa.Column('description', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('persons',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('post', sa.String(), nullable=True),
    sa.Column('discipline_leader', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('rectifications',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('person', sa.String(), nullable=True),
    sa.Column('problem', sa.String(), nullable=False),
    sa.Column('inspection', sa.String(), nullable=True),
    sa.Column('institution', sa.String(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('reviews',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('institution', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('outcome', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('signals',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('about', sa.String(), nullable=True),
    sa.Column('summary', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('supporting_systems',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('established_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('tasks',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('institution', sa.String(), nullable=False),
    sa.Column('unit', sa.String(), nullable=True),
    sa.Column('leader', sa.String(), nullable=True),
    sa.Column('person', sa.String(), nullable=True),
    sa.Column('requirement', sa.String(), nullable=True),
    sa.Column('ledger', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('units',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('parent', sa.String(), nullable=True),
    sa.Column('party_secretary', sa.String(), nullable=True),
    sa.Column('main_leader', sa.String(), nullable=True),
    sa.Column('responsible_body', sa.String(), nullable=True),
    sa.Column('discipline_organ', sa.String(), nullable=True),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )
    op.create_table('warning_measures',
    sa.Column('record_key', sa.String(), nullable=False),
    sa.Column('record_source', sa.String(), nullable=False),
    sa.Column('load_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('basis', sa.String(), nullable=False),
    sa.Column('person', sa.String(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['load_id'], ['loads.id'], ),
    sa.PrimaryKeyConstraint('record_key')
    )


def downgrade() -> None:
    """Not supported: going back would drop the stored facts."""
    raise NotImplementedError("luoshi migrations never drop data; restore a backup instead")
