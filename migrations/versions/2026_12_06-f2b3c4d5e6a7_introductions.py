"""introductions (the commission brokers a need to capabilities) and engagements.brokered_by_org_id

Revision ID: f2b3c4d5e6a7
Revises: e1a2b3c4d5f6
Create Date: 2026-12-06 18:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'f2b3c4d5e6a7'
down_revision: str | None = 'e1a2b3c4d5f6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'introductions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.Column('capability_id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('introduced_by_org_id', sa.Integer(), nullable=False),
        sa.Column('introduced_by_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column('comment', sa.Text(), nullable=False),
        sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('engagement_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_introductions_need_id_needs')),
        sa.ForeignKeyConstraint(['capability_id'], ['capabilities.id'],
                                name=op.f('fk_introductions_capability_id_capabilities')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_introductions_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['introduced_by_org_id'], ['organisations.id'],
                                name=op.f('fk_introductions_introduced_by_org_id_organisations')),
        sa.ForeignKeyConstraint(['introduced_by_id'], ['users.id'], name=op.f('fk_introductions_introduced_by_id_users')),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_introductions_answered_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_introductions_decided_by_id_users')),
        sa.ForeignKeyConstraint(['engagement_id'], ['engagements.id'],
                                name=op.f('fk_introductions_engagement_id_engagements')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_introductions')),
        sa.UniqueConstraint('need_id', 'capability_id', name='uq_introductions_need_capability'),
    )
    for col in ('need_id', 'capability_id', 'organisation_id', 'status', 'created_at', 'updated_at'):
        op.create_index(op.f(f'ix_introductions_{col}'), 'introductions', [col], unique=False)
    with op.batch_alter_table('engagements') as batch_op:
        batch_op.add_column(sa.Column('brokered_by_org_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_engagements_brokered_by_org_id_organisations'), 'organisations',
                                    ['brokered_by_org_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('engagements') as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_engagements_brokered_by_org_id_organisations'), type_='foreignkey')
        batch_op.drop_column('brokered_by_org_id')
    for col in ('need_id', 'capability_id', 'organisation_id', 'status', 'created_at', 'updated_at'):
        op.drop_index(op.f(f'ix_introductions_{col}'), table_name='introductions')
    op.drop_table('introductions')
