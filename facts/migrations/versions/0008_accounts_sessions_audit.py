"""Accounts, sessions and audit for 等保 2.0 level 3 (issue 21, item 4).

Accounts keep when their password changed, whether it must be changed at the next login (after
a reset), and the encrypted secret of their second factor (TOTP) with the last time step used;
their earlier passwords' hashes go to `password_history`. Sessions keep when they were last used
(idle timeout) and the step of a login still to do. The login throttle's failures and refusals
move into the database (`login_failures`, `login_refusals`). The audit log gets indexes for its
filters and its own hash chain: the entries stored so far are linked here, in the order written,
as `luoshi.facts.chain` links them on writing. Roles are kept: an `office` account stays one
(the new `admin` and `auditor` accounts are made with `luoshi users add`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from luoshi.facts import chain

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', _TIME, nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('must_change_password', server_default=None)
    op.create_table('password_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', _TIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('password_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_history_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', _TIME, nullable=True))
        batch_op.add_column(sa.Column('stage', sa.String(length=16), nullable=True))
    op.execute("UPDATE web_sessions SET last_seen_at = created_at")
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.alter_column('last_seen_at', existing_type=_TIME, nullable=False)

    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', _TIME, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_key'), ['key'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_at'), ['at'], unique=False)
    op.create_table('login_refusals',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('started_at', _TIME, nullable=False),
    sa.Column('ends_at', _TIME, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_at', _TIME, nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('login_refusals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_refusals_ends_at'), ['ends_at'], unique=False)

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_audit_log_chain_seq', ['chain_seq'])
        batch_op.create_index(batch_op.f('ix_audit_log_user_name'), ['user_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_unit'), ['unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
    _link_audit_entries()


def _link_audit_entries() -> None:
    """The entries written so far, linked in the order written (their ids)."""
    connection = op.get_bind()
    entries = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('at', _TIME),
                       sa.column('user_name'), sa.column('unit'), sa.column('action'),
                       sa.column('outcome'), sa.column('address'), sa.column('detail', sa.JSON),
                       sa.column('chain_seq', sa.Integer), sa.column('chain_hash'))
    previous = chain.GENESIS
    rows = list(connection.execute(sa.select(entries).order_by(entries.c.id)))
    for seq, row in enumerate(rows, start=1):
        previous = chain.audit_link(seq, previous, row)
        connection.execute(sa.update(entries).where(entries.c.id == row.id)
                           .values(chain_seq=seq, chain_hash=previous))


def downgrade() -> None:
    """Not supported: going back would drop the password history and the audit chain."""
    raise NotImplementedError("luoshi migrations never drop data; restore a backup instead")
