"""clinical specialties of needs and capabilities

Revision ID: b4d6f8a0c2e4
Revises: a9c8e7d6b5f4
Create Date: 2026-12-06 20:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'b4d6f8a0c2e4'
down_revision: str | None = 'a9c8e7d6b5f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    # existing needs keep an empty list: the matcher then reads their department (matching.specialties)
    for table in ('needs', 'capabilities'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('specialties', _JSON, nullable=False, server_default='[]'))


def downgrade() -> None:
    for table in ('needs', 'capabilities'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('specialties')
