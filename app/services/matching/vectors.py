"""Stored vectors: the ``embeddings`` rows of needs and capabilities (recomputed only when the text or the model
changes), and on PostgreSQL the whole-text vector in ``embeddings.vec`` with its pgvector search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from app.models.common import utcnow
from app.models.embedding import DENSE_VEC_DIM, Embedding
from app.services.matching.documents import entity_of, text_hash
from matching import CapabilityDoc, Matcher, NeedDoc


def load_vectors(session: Session, matcher: Matcher, docs: Sequence[NeedDoc | CapabilityDoc]) -> dict[str, Any]:
    """Stored vectors of ``docs`` that are still valid (same model, version and text), with their stored analyses:
    the payload ``Matcher.upsert_*`` takes ({"model", "version", "vectors": {id: array}, "analysis": {id: bytes}})."""
    out: dict[str, Any] = {"model": matcher.model_name, "version": matcher.vector_version, "vectors": {},
                           "analysis": {}}
    if not docs:
        return out
    entity = entity_of(docs[0])
    rows = session.exec(select(Embedding).where(
        Embedding.entity == entity, Embedding.model_name == matcher.model_name,
        Embedding.entity_id.in_([int(d.id) for d in docs]))).all()
    by_id = {str(r.entity_id): r for r in rows}
    for d in docs:
        r = by_id.get(d.id)
        if r and r.model_version == matcher.vector_version and r.text_hash == text_hash(d):
            out["vectors"][d.id] = np.frombuffer(r.data, dtype=np.float32).reshape(r.rows, r.dim)
            if r.analysis:
                out["analysis"][d.id] = r.analysis
    return out


def store_vectors(session: Session, matcher: Matcher, docs: Sequence[NeedDoc | CapabilityDoc]) -> dict[str, np.ndarray]:
    """Vectors for ``docs``: the stored ones where valid, the rest computed in one batch and stored."""
    docs = list(docs)
    stored = load_vectors(session, matcher, docs)
    have = stored["vectors"]
    unanalysed = {int(d.id): d for d in docs if d.id in have and d.id not in stored["analysis"]}
    if unanalysed:  # stored before analyses were: add them (no re-embedding)
        for r in session.exec(select(Embedding).where(
                Embedding.entity == entity_of(docs[0]), Embedding.model_name == matcher.model_name,
                Embedding.entity_id.in_(list(unanalysed)))).all():
            r.analysis = matcher.analysis_blob(unanalysed[r.entity_id])
            session.add(r)
    missing = [d for d in docs if d.id not in have]
    if missing:
        payload = (matcher.embed_needs(missing) if isinstance(missing[0], NeedDoc)
                   else matcher.embed_capabilities(missing))
        entity = entity_of(missing[0])
        existing = {r.entity_id: r for r in session.exec(select(Embedding).where(
            Embedding.entity == entity, Embedding.model_name == matcher.model_name,
            Embedding.entity_id.in_([int(d.id) for d in missing]))).all()}
        written = []
        for d in missing:
            vec = np.ascontiguousarray(payload["vectors"][d.id], dtype=np.float32)
            row = existing.get(int(d.id)) or Embedding(entity=entity, entity_id=int(d.id),
                                                       model_name=matcher.model_name, model_version="", text_hash="",
                                                       dim=0, rows=0, data=b"")
            row.model_version, row.text_hash = matcher.vector_version, text_hash(d)
            row.rows, row.dim, row.data = int(vec.shape[0]), int(vec.shape[1]), vec.tobytes()
            row.analysis = payload.get("analysis", {}).get(d.id)
            row.created_at = utcnow()
            session.add(row)
            have[d.id] = vec
            written.append((row, vec[0]))
        session.flush()
        store_dense(session, [(row.id, v) for row, v in written])
    return have


# --- whole-text vectors in PostgreSQL (pgvector: embeddings.vec, migration b7e3c1a9d2f4) ---------------------------

_SET_VEC = text("UPDATE embeddings SET vec = :v WHERE id = :id").bindparams(bindparam("v", type_=Vector(DENSE_VEC_DIM)))
_TOP_DENSE = text(
    "SELECT e.entity_id FROM embeddings e JOIN capabilities c ON c.id = e.entity_id "
    "WHERE e.entity = 'capability' AND e.model_name = :m AND e.model_version = :v AND c.status = 'active' "
    "AND e.vec IS NOT NULL ORDER BY e.vec <=> :q LIMIT :c").bindparams(bindparam("q", type_=Vector(DENSE_VEC_DIM)))


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def store_dense(session: Session, rows: Sequence[tuple[int, np.ndarray]]) -> None:
    """PostgreSQL: ``embeddings.vec`` of these rows (embedding id, whole-text vector); NULL when the model's dim is
    not the column's (such rows are simply not found by the pgvector search). SQLite: nothing."""
    if rows and _is_pg(session):
        session.execute(_SET_VEC, [{"id": i, "v": v if len(v) == DENSE_VEC_DIM else None} for i, v in rows])


def dense_top(session: Session, matcher: Matcher, qvec: np.ndarray, c: int, mode: str = "pgvector",
              ef_search: int = 100) -> list[str]:
    """The ``c`` active capabilities (ids as strings) whose whole-text vector is nearest ``qvec`` by cosine, from
    PostgreSQL: exact (``pgvector``: a scan, no index) or approximate (``pgvector_hnsw``: the HNSW index, ``ef_search``
    candidates per step, iterative scan so that ``c`` rows come back even when ``c > ef_search``).
    Only vectors of the matcher's model and version count."""
    if mode == "pgvector":
        session.execute(text("SET LOCAL enable_indexscan = off"))
    elif mode == "pgvector_hnsw":
        session.execute(text(f"SET LOCAL hnsw.ef_search = {int(ef_search)}"))
        session.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
        session.execute(text("SET LOCAL enable_sort = off"))  # the ordered index scan even where sorting looks cheaper
    else:
        raise ValueError(f"dense search mode {mode!r} is not a PostgreSQL one")
    try:
        ids = session.execute(_TOP_DENSE, {"m": matcher.model_name, "v": matcher.vector_version,
                                           "q": np.asarray(qvec, np.float32), "c": int(c)}).scalars().all()
    finally:
        # the rest of the request's transaction plans as usual again
        session.execute(text("RESET enable_indexscan" if mode == "pgvector" else "RESET enable_sort"))
    return [str(i) for i in ids]
