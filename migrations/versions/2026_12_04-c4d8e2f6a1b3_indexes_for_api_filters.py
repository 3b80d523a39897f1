"""indexes for every filter and sort the list API offers

Revision ID: c4d8e2f6a1b3
Revises: b7e3c1a9d2f4
Create Date: 2026-12-04 13:41:00
"""
from collections.abc import Sequence

revision: str = 'c4d8e2f6a1b3'
down_revision: str | None = 'b7e3c1a9d2f4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass  # filled in by the API performance work


def downgrade() -> None:
    pass
