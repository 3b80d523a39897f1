"""Stored vectors: the embeddings of need and capability texts, and the PostgreSQL-only dense vector column."""

from __future__ import annotations

from datetime import datetime

import pgvector.sqlalchemy  # noqa: F401 - registers the 'vector' type (reflection of embeddings.vec)
from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import created_at_field


class Embedding(SQLModel, table=True):
    """Vectors of one need or capability text (row 0 the whole text, then its passages), with the model that made
    them and a hash of the text: recomputed only when the text or the model changes."""

    __tablename__ = "embeddings"
    __table_args__ = (UniqueConstraint("entity", "entity_id", "model_name", name="uq_embeddings_entity_model"),)
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)  # need | capability
    entity_id: int = Field(index=True)
    model_name: str = Field(max_length=80)
    model_version: str = Field(max_length=80)
    text_hash: str = Field(max_length=64)
    dim: int
    rows: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, rows x dim, C order
    # the text's analysis for the index (Matcher.analysis_blob: zlib JSON, versioned); NULL = analyse when loading
    analysis: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = created_at_field()


# PostgreSQL only (migration b7e3c1a9d2f4): ``embeddings.vec vector(512)``, row 0 of ``data`` (the whole-text vector)
# when the model's dim is 512, with an HNSW index (cosine) over capabilities' rows. Not on the model (SQLite has no
# such column): written and read with SQL in app/services/matching/vectors.py; ``include_object`` keeps Alembic's
# comparison (autogenerate, tests/test_migrations.py) from asking to drop it.
DENSE_VEC_DIM = 512
DENSE_VEC_COLUMN = "vec"
DENSE_VEC_INDEX = "ix_embeddings_vec_hnsw"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic ``include_object``: leave out the PostgreSQL-only dense vector column and its index."""
    if type_ == "column" and name == DENSE_VEC_COLUMN and getattr(obj, "table", None) is not None \
            and obj.table.name == "embeddings":
        return False
    return not (type_ == "index" and name == DENSE_VEC_INDEX)

