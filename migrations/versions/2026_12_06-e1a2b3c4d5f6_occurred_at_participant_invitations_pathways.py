"""engagement_transitions.occurred_at (when a step happened, beside when it was recorded), participant
invitations (status, who answered, when), engagements.pathway

Existing transitions happened, as far as anyone knows, when they were recorded; existing participants were added
before invitations existed and take part already; existing engagements are on the device pathway (the only one
there was).

Revision ID: e1a2b3c4d5f6
Revises: e7a1c3b5d9f2
Create Date: 2026-12-06 17:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'e1a2b3c4d5f6'
down_revision: str | None = 'e7a1c3b5d9f2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('engagement_transitions') as batch_op:
        batch_op.add_column(sa.Column('occurred_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.execute("UPDATE engagement_transitions SET occurred_at = at")
    with op.batch_alter_table('engagement_transitions') as batch_op:
        batch_op.alter_column('occurred_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)
    with op.batch_alter_table('engagements') as batch_op:
        batch_op.add_column(sa.Column('pathway', sa.String(length=16), nullable=False, server_default='device'))
    with op.batch_alter_table('engagement_participants') as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), nullable=False, server_default='active'))
        batch_op.add_column(sa.Column('responded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('responded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_engagement_participants_responded_by_id_users'), 'users',
                                    ['responded_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_engagement_participants_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('engagement_participants') as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_participants_status'))
        batch_op.drop_constraint(batch_op.f('fk_engagement_participants_responded_by_id_users'), type_='foreignkey')
        batch_op.drop_column('responded_by_id')
        batch_op.drop_column('responded_at')
        batch_op.drop_column('status')
    with op.batch_alter_table('engagements') as batch_op:
        batch_op.drop_column('pathway')
    with op.batch_alter_table('engagement_transitions') as batch_op:
        batch_op.drop_column('occurred_at')
