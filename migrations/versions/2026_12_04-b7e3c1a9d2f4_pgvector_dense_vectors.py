"""pgvector: whole-text vectors of capabilities in a vector column (PostgreSQL only), exact and HNSW search

Revision ID: b7e3c1a9d2f4
Revises: 676ae412931a
Create Date: 2026-12-04 13:40:00

On PostgreSQL: the ``vector`` extension, ``embeddings.vec vector(512)`` (nullable; row 0 of ``data``, the whole-text
vector, when the stored dim is 512), back-filled here from ``data`` for the rows already stored, and an HNSW index
(cosine) over capabilities' rows. On SQLite: nothing (the dense search stays in process). The column is not on the
SQLModel (see ``app.models.embedding.include_object``).
"""
from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = 'b7e3c1a9d2f4'
down_revision: str | None = '676ae412931a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIM = 512  # app.models.embedding.DENSE_VEC_DIM (not imported: a migration keeps its own constants)
BATCH = 2000


def _literal(v: np.ndarray) -> str:
    return "[" + ",".join(np.char.mod("%.9g", v.astype(np.float32))) + "]"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(f"ALTER TABLE embeddings ADD COLUMN vec vector({DIM})")
    # In the row, not in TOAST: a 2 KB vector next to the other columns passes the TOAST threshold and would be moved
    # out of line, costing three buffer reads per row in an exact scan (measured 4x slower at 5,000 rows).
    op.execute("ALTER TABLE embeddings ALTER COLUMN vec SET STORAGE PLAIN")
    # ... and with it the row passes the default TOAST target (~2 KB) whatever else moves out, so every other text
    # column longer than a TOAST pointer (model_version, text_hash) would be moved out too, and the scan's filter on
    # model_version would read TOAST for every row (measured 9x the buffers). Toast only rows over 4 KB (``data``
    # goes out first and brings them under it).
    op.execute("ALTER TABLE embeddings SET (toast_tuple_target = 4096)")
    # Back-fill: only the first DIM float32 values (row 0) of each stored matrix are read.
    last = 0
    select = sa.text("SELECT id, substring(data FROM 1 FOR :n) FROM embeddings WHERE dim = :dim AND id > :last "
                     "ORDER BY id LIMIT :batch")
    update = sa.text("UPDATE embeddings SET vec = CAST(:v AS vector) WHERE id = :id")
    while True:
        rows = bind.execute(select, {"n": DIM * 4, "dim": DIM, "last": last, "batch": BATCH}).all()
        if not rows:
            break
        bind.execute(update, [{"id": i, "v": _literal(np.frombuffer(b, np.float32))} for i, b in rows])
        last = rows[-1][0]
    op.execute("CREATE INDEX ix_embeddings_vec_hnsw ON embeddings USING hnsw (vec vector_cosine_ops) "
               "WHERE entity = 'capability'")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_embeddings_vec_hnsw")
    op.execute("ALTER TABLE embeddings DROP COLUMN IF EXISTS vec")
    op.execute("ALTER TABLE embeddings RESET (toast_tuple_target)")
