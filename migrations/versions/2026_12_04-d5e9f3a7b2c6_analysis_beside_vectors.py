"""embeddings.analysis: each text's analysis (tokens, spans, glossary mentions) beside its vectors

Loading the match index then needs no tokenising: with 100,000 capabilities that was most of a start-up.

Revision ID: d5e9f3a7b2c6
Revises: c4d8e2f6a1b3
Create Date: 2026-12-04 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd5e9f3a7b2c6'
down_revision: str | None = 'c4d8e2f6a1b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('embeddings') as batch_op:
        batch_op.add_column(sa.Column('analysis', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('embeddings') as batch_op:
        batch_op.drop_column('analysis')
