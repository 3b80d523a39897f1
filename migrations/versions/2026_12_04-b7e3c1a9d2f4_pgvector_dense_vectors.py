"""pgvector: whole-text vectors of capabilities in a vector column (PostgreSQL only), exact and HNSW search

Revision ID: b7e3c1a9d2f4
Revises: 676ae412931a
Create Date: 2026-12-04 13:40:00
"""
from collections.abc import Sequence

revision: str = 'b7e3c1a9d2f4'
down_revision: str | None = '676ae412931a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the pgvector work


def downgrade() -> None:
    pass
