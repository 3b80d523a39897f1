"""matches.confidence and matches.band: the calibrated probability of a real fit and its band

No company is told of a weak match (notifications read the band); NULL = persisted before calibration.

Revision ID: a3c5e7f9b1d2
Revises: f2b3c4d5e6a7
Create Date: 2026-12-06 17:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a3c5e7f9b1d2'
down_revision: str | None = 'f2b3c4d5e6a7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('matches') as batch_op:
        batch_op.add_column(sa.Column('confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('band', sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('matches') as batch_op:
        batch_op.drop_column('band')
        batch_op.drop_column('confidence')
