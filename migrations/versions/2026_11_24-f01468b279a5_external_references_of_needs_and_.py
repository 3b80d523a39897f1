"""external references of needs and capabilities

Revision ID: f01468b279a5
Revises: c8d0fdacc086
Create Date: 2026-11-24 05:25:55.022862
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'f01468b279a5'
down_revision: str | None = 'c8d0fdacc086'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_capabilities_external_ref'), ['external_ref'], unique=False)

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_needs_external_ref'), ['external_ref'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_external_ref'))
        batch_op.drop_column('external_ref')

    with op.batch_alter_table('capabilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capabilities_external_ref'))
        batch_op.drop_column('external_ref')


