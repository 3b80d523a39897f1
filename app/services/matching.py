"""The app's side of matching: documents from rows, stored vectors, the per-process index, persisted matches,
ranked and explained matches for the API, and feedback.

``matching/`` is a pure library; this module is the only place that turns database rows into its documents.

The index (one ``matching.Matcher`` per process) holds every active capability and every open need. It is loaded at
start-up and pulled up to date from the database before each ranking (``MatchIndex.sync``: rows changed since the
last sync, by ``updated_at``), so several uvicorn workers, the CLI and the seed loader all stay consistent without
messaging. Writes store vectors (recomputed only when the text or the model changes) and refresh persisted matches in
the same transaction as the change itself.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import bindparam, delete, func, insert, text
from sqlmodel import Session, select

from app.errors import NotFound
from app.i18n import msg
from app.models import Capability, Need, Organisation
from app.models.common import utcnow
from app.models.enums import CapabilityStatus, NeedStatus, Role
from app.models.matching import DENSE_VEC_DIM, Embedding, FeedbackCreate, MatchFeedback, MatchRecord, Party, Verdict
from app.policy import (
    Actor,
    can_manage_capability,
    can_manage_need,
    may_read_capability_matches,
    may_read_need_matches,
    require_role,
)
from app.services import audit, events
from matching import CapabilityDoc, Filters, Matcher, NeedDoc
from matching.ranker import capability_fields, need_fields

log = logging.getLogger("clinmatch.matching")

MATCHED_STATUSES = (NeedStatus.open, NeedStatus.in_partnership, NeedStatus.closed)
PERSIST_TOP_K = 20  # matches persisted per need (and per capability) when it is opened or changed
SYNC_OVERLAP = timedelta(seconds=120)  # look again at rows changed this long before the last sync (late commits)
OVERLAP_CHECK_SECONDS = 2.0  # how often the overlap window is checked for late commits


# --- documents -----------------------------------------------------------------------------------------------------

def need_doc(need: Need) -> NeedDoc:
    statement = "\n".join(t for t in (need.clinical_problem, need.current_practice, need.shortcomings,
                                      need.affected_population, need.desired_outcome) if t)
    return NeedDoc(id=str(need.id), title=need.title, description=need.description, tracks=list(need.tracks),
                   partner_types=list(need.partner_types), stages=list(need.stages), regions=list(need.regions),
                   language=need.language, required_certifications=list(need.required_certifications),
                   extra_text=statement)


def capability_doc(cap: Capability, org: Organisation) -> CapabilityDoc:
    return CapabilityDoc(id=str(cap.id), title=cap.title, description=cap.description, org_type=org.kind,
                         tracks=list(cap.tracks), stages=list(cap.stages), region=cap.region,
                         certifications=list(cap.certifications), language=cap.language,
                         org_name=org.name_zh or org.name_en or "")


def text_hash(doc: NeedDoc | CapabilityDoc) -> str:
    fields = need_fields(doc) if isinstance(doc, NeedDoc) else capability_fields(doc)
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _entity(doc: NeedDoc | CapabilityDoc) -> str:
    return "need" if isinstance(doc, NeedDoc) else "capability"


# --- stored vectors ------------------------------------------------------------------------------------------------

def load_vectors(session: Session, matcher: Matcher, docs: Sequence[NeedDoc | CapabilityDoc]) -> dict[str, Any]:
    """Stored vectors of ``docs`` that are still valid (same model, version and text), with their stored analyses:
    the payload ``Matcher.upsert_*`` takes ({"model", "version", "vectors": {id: array}, "analysis": {id: bytes}})."""
    out: dict[str, Any] = {"model": matcher.model_name, "version": matcher.vector_version, "vectors": {},
                           "analysis": {}}
    if not docs:
        return out
    entity = _entity(docs[0])
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
                Embedding.entity == _entity(docs[0]), Embedding.model_name == matcher.model_name,
                Embedding.entity_id.in_(list(unanalysed)))).all():
            r.analysis = matcher.analysis_blob(unanalysed[r.entity_id])
            session.add(r)
    missing = [d for d in docs if d.id not in have]
    if missing:
        payload = (matcher.embed_needs(missing) if isinstance(missing[0], NeedDoc)
                   else matcher.embed_capabilities(missing))
        entity = _entity(missing[0])
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


def embed_ahead(index: MatchIndex, *docs: NeedDoc | CapabilityDoc) -> None:
    """Compute the ``docs``' vectors now (one batch), before the request writes anything, when the embedder keeps recent texts'
    vectors (USEEmbedder does): ``store_vectors`` and the ranking then find them there. On SQLite the model thus runs
    outside the write lock, so concurrent writers do not queue behind it (nor time out into 409s)."""
    if getattr(index.matcher.embedder, "cache_size", 0) > 0:
        index.matcher.encode(docs)


# --- the per-process index -----------------------------------------------------------------------------------------

class MatchIndex:
    """A ``Matcher`` over active capabilities and open needs, pulled up to date from the database."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._lock = threading.Lock()
        self._watermark: datetime | None = None
        self._seen: dict[tuple[str, int], int] = {}  # (entity, id) -> version indexed
        self._stamps: dict[str, dict[int, tuple[datetime, int]]] = {}  # entity -> id -> (updated_at, version) read
        self._newest: dict[str, datetime] = {}  # entity -> newest updated_at read
        self._checked: dict[str, float] = {}  # entity -> monotonic time of the last overlap check
        self.last_sync_seconds = 0.0
        # Where GET /needs/{id}/matches gets its dense candidates (configure_dense; Settings.dense_search).
        self.dense_search, self.dense_candidates, self.hnsw_ef_search = "memory", 500, 100
        self.gc_freeze = False  # Settings.gc_freeze (on in the server): see freeze_long_lived

    def configure_dense(self, mode: str = "memory", candidates: int = 500, ef_search: int = 100) -> None:
        """Refuses (ValueError) a pgvector mode with a model whose vectors do not fit the column (``DENSE_VEC_DIM``).
        The mode itself is validated by ``Settings``, and a pgvector mode on SQLite by ``create_app``."""
        if mode != "memory" and self.matcher.embedder.dim != DENSE_VEC_DIM:
            raise ValueError(f"CLINMATCH_DENSE_SEARCH={mode}: the model's vectors have {self.matcher.embedder.dim} "
                             f"dimensions, embeddings.vec holds {DENSE_VEC_DIM}; use 'memory'")
        self.dense_search, self.dense_candidates, self.hnsw_ef_search = mode, int(candidates), int(ef_search)

    @property
    def model(self) -> dict[str, str]:
        return {"name": self.matcher.model_name, "version": self.matcher.vector_version}

    def sync(self, engine) -> None:
        """Bring the index up to date with committed rows changed since the last sync (all rows the first time).

        Reads through its own session, so it never indexes a write that may still roll back. A cheap query of
        (id, version) finds what changed; only those rows are loaded. Rows changed within ``SYNC_OVERLAP`` of the
        last sync are looked at again, so a transaction that committed late is not missed."""
        # The connection first, then the lock: a thread holding the lock must never wait for the pool, or requests
        # that hold a connection (their own transaction) while waiting for the lock deadlock it (PostgreSQL's pool
        # is bounded: 64 clients filing needs stalled completely).
        with Session(engine) as session:
            session.connection()
            with self._lock:
                self._sync(session)

    def _sync(self, session: Session) -> None:
        t0 = time.perf_counter()
        started = utcnow()
        cap_ids = self._changed(session, Capability, "capability")
        need_ids = self._changed(session, Need, "need")
        upsert_caps, upsert_needs = [], []
        stores = self._stores()
        for chunk in _chunks(cap_ids):
            for cap, org in session.exec(select(Capability, Organisation).join(
                    Organisation, Organisation.id == Capability.organisation_id)
                    .where(Capability.id.in_(chunk))).all():
                self._seen[("capability", cap.id)] = cap.version
                if cap.status == CapabilityStatus.active:
                    upsert_caps.append(capability_doc(cap, org))
                else:
                    self.matcher.remove_capability(str(cap.id))
        for chunk in _chunks(need_ids):
            for need in session.exec(select(Need).where(Need.id.in_(chunk))).all():
                self._seen[("need", need.id)] = need.version
                if need.status == NeedStatus.open:
                    upsert_needs.append(need_doc(need))
                else:
                    self.matcher.remove_need(str(need.id))
        for docs, upsert in ((upsert_caps, self.matcher.upsert_capabilities),
                             (upsert_needs, self.matcher.upsert_needs)):
            for chunk in _chunks(docs, 2000):
                upsert(chunk, vectors=load_vectors(session, self.matcher, chunk))
        bulk = len(upsert_caps) + len(upsert_needs) >= 1000
        if bulk:  # a start-up or a bulk load: no spare capacity
            self.matcher.trim()
        if self.gc_freeze and (bulk or self._stores() != stores):  # loaded in bulk, or a store was compacted
            freeze_long_lived()
        self._watermark = started - SYNC_OVERLAP
        self.last_sync_seconds = time.perf_counter() - t0
        if upsert_caps or upsert_needs:
            log.info("index synced: %d capabilities, %d needs updated in %.0f ms", len(upsert_caps),
                     len(upsert_needs), 1000 * self.last_sync_seconds)

    def _changed(self, session: Session, model, entity: str) -> list[int]:
        """Ids of rows whose version differs from the indexed one. Cheap in the steady state: rows stamped after
        the newest stamp seen; every ``OVERLAP_CHECK_SECONDS`` the count and version sum of the rows inside
        the overlap window are compared with what was seen, and only a difference (a late commit) rescans the
        window (after a bulk load it holds every loaded row: rescanning it on every request cost 100k rows each)."""
        newest, wm = self._newest.get(entity), self._watermark
        q = select(model.id, model.version, model.updated_at)
        if wm is None or newest is None:  # the first sync: everything (or the window)
            if wm is not None:
                q = q.where(model.updated_at >= wm)
            self._checked[entity] = time.monotonic()
        elif time.monotonic() - self._checked.get(entity, 0.0) >= OVERLAP_CHECK_SECONDS and \
                not self._window_unchanged(session, model, entity):
            q = q.where(model.updated_at >= wm)  # a late commit in the window: rescan it
        else:  # strictly newer than the newest read (rows of one bulk load share a stamp)
            q = q.where(model.updated_at > newest)
        stamps = self._stamps.setdefault(entity, {})
        out = []
        for i, v, at in session.exec(q).all():  # updated_at comes back aware (UTC) on both databases
            stamps[i] = (at, v)
            if newest is None or at > newest:
                newest = at
            if self._seen.get((entity, i)) != v:
                out.append(i)
        if newest is not None:
            self._newest[entity] = newest
        return out

    def _window_unchanged(self, session: Session, model, entity: str) -> bool:
        """Do the rows stamped inside the overlap window, counted and their versions summed in the database, match
        what was read? Stamps older than the window are dropped here (they are never looked at again)."""
        self._checked[entity] = time.monotonic()
        wm = self._watermark
        stamps = {i: s for i, s in self._stamps.get(entity, {}).items() if s[0] >= wm}
        self._stamps[entity] = stamps
        n, vsum = session.exec(select(func.count(), func.coalesce(func.sum(model.version), 0))
                               .where(model.updated_at >= wm)).one()
        return (n, int(vsum)) == (len(stamps), sum(v for _, v in stamps.values()))

    def _stores(self) -> tuple[int, int]:
        # identities of the matcher's two stores: a compaction replaces one (matching/ranker.py _maybe_compact)
        return id(self.matcher._caps), id(self.matcher._needs)

    def stats(self) -> dict[str, Any]:
        return {"capabilities": len(self.matcher.capability_ids()), "needs": len(self.matcher.need_ids()),
                "model": self.model}


def _chunks(items: Sequence, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def build_index(embedder, settings=None) -> MatchIndex:
    kw = {} if settings is None else {"rerank_depth": settings.rerank_depth,
                                      "rank_cache_size": settings.rank_cache_size,
                                      "band_strong": settings.band_strong, "band_possible": settings.band_possible}
    index = MatchIndex(Matcher(embedder, **kw))
    if settings is not None:
        index.gc_freeze = settings.gc_freeze
    return index


def freeze_long_lived() -> int:
    """Move every object alive now into the garbage collector's permanent generation, which its collections never
    scan; returns how many objects are frozen in all.

    The index's documents live as long as the process (hundreds of thousands of tracked objects at 100k
    capabilities, besides the libraries'): left in the oldest generation, every full collection walked them all and
    stopped every thread for 170-190 ms at 10k. Frozen objects are still freed when their last reference goes, so
    a compacted-away store is released as before; only garbage *cycles* alive at the moment of freezing would stay,
    hence a full collection first (slow once, at start-up; after that it walks only what was not frozen).
    Measured by ``bench/gc_pauses.py``."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


# --- write path: vectors and persisted matches ---------------------------------------------------------------------

def _persist(session: Session, index: MatchIndex, existing: dict[tuple[int, int], MatchRecord],
             pairs: Iterable[tuple[int, int, Any]]) -> int:
    """Upsert the ranked ``pairs``: rows in ``existing`` updated, the others inserted in one statement (an ORM
    object per new row cost more than ranking the pair: SQLModel's constructor inspects every default factory)."""
    version, now = index.matcher.vector_version, utcnow()
    new: list[dict[str, Any]] = []
    n = 0
    for need_id, cap_id, m in pairs:
        values = {"score": float(m.score), "signals": dict(m.signals), "explanation": m.explanation,
                  "confidence": m.confidence, "band": m.band, "model_version": version, "updated_at": now}
        row = existing.get((need_id, cap_id))
        if row is None:
            new.append({"need_id": need_id, "capability_id": cap_id, "created_at": now, **values})
        else:
            for k, v in values.items():
                setattr(row, k, v)
            session.add(row)
        n += 1
    if new:
        session.execute(insert(MatchRecord), new)
    return n


def _existing(session: Session, *where) -> dict[tuple[int, int], MatchRecord]:
    return {(r.need_id, r.capability_id): r for r in session.exec(select(MatchRecord).where(*where)).all()}


def need_written(session: Session, index: MatchIndex, need: Need) -> int:
    """After a need is filed or changed: store its vectors; when open, persist its top matches."""
    doc = need_doc(need)
    store_vectors(session, index.matcher, [doc])
    if need.status != NeedStatus.open:
        return 0
    index.sync(session.get_bind())
    ranked = index.matcher.rank(doc, k=PERSIST_TOP_K)
    keep = {int(m.capability_id) for m in ranked}
    session.execute(delete(MatchRecord).where(MatchRecord.need_id == need.id,
                                              MatchRecord.capability_id.not_in(keep or {-1})))
    existing = _existing(session, MatchRecord.need_id == need.id)
    return _persist(session, index, existing, ((need.id, int(m.capability_id), m) for m in ranked))


def capability_written(session: Session, index: MatchIndex, cap: Capability) -> int:
    """After a capability is registered or changed: store its vectors and refresh its matches with open needs."""
    return capabilities_written(session, index, [cap])


def capabilities_written(session: Session, index: MatchIndex, caps: Sequence[Capability]) -> int:
    """``capability_written`` for several capabilities: their vectors stored in one batch, one index sync."""
    orgs = {o.id: o for o in session.exec(select(Organisation).where(
        Organisation.id.in_({c.organisation_id for c in caps}))).all()}
    docs = [capability_doc(c, orgs[c.organisation_id]) for c in caps]
    store_vectors(session, index.matcher, docs)
    open_needs = select(Need.id).where(Need.status == NeedStatus.open)
    inactive = [c.id for c in caps if c.status != CapabilityStatus.active]
    if inactive:
        session.execute(delete(MatchRecord).where(MatchRecord.capability_id.in_(inactive),
                                                  MatchRecord.need_id.in_(open_needs)))
    active = [(c, d) for c, d in zip(caps, docs) if c.status == CapabilityStatus.active]
    if not active:
        return 0
    index.sync(session.get_bind())
    existing = _existing(session, MatchRecord.capability_id.in_([c.id for c, _ in active]))
    n = 0
    for cap, doc in active:
        ranked = index.matcher.rank_needs(doc, k=PERSIST_TOP_K)
        keep = {int(m.need_id) for m in ranked}
        stale = [need_id for (need_id, cap_id) in existing if cap_id == cap.id and need_id not in keep]
        if stale:
            session.execute(delete(MatchRecord).where(MatchRecord.capability_id == cap.id,
                                                      MatchRecord.need_id.in_(open_needs),
                                                      MatchRecord.need_id.in_(stale)))
        n += _persist(session, index, existing, ((int(m.need_id), cap.id, m) for m in ranked))
    return n


def backfill(engine, index: MatchIndex, progress: bool = False) -> dict[str, int]:
    """Store missing or stale vectors for every need and capability (batched, committed), then persist the matches
    of every need past draft. Used after bulk loads (``clinmatch seed``) and by ``clinmatch reindex`` after a model change."""
    from tqdm import tqdm

    from app.db import session_scope

    batch = 64  # the progress bar moves every 64 documents; the embedder batches their texts (~220) well
    with session_scope(engine) as session:
        cap_docs = [capability_doc(c, o) for c, o in session.exec(
            select(Capability, Organisation).join(Organisation, Organisation.id == Capability.organisation_id)).all()]
        need_docs = [need_doc(n) for n in session.exec(select(Need)).all()]
        with tqdm(total=len(cap_docs) + len(need_docs), desc="embed", unit="doc", disable=not progress) as bar:
            for docs in (cap_docs, need_docs):
                for i in range(0, len(docs), batch):
                    store_vectors(session, index.matcher, docs[i:i + batch])
                    bar.update(len(docs[i:i + batch]))
    index.sync(engine)
    persisted = 0
    with session_scope(engine) as session:
        # Every need that has been open (in partnership and closed ones too): its matches are the record of what
        # was proposed, which the pipeline figures count.
        filed = session.exec(select(Need).where(Need.status.in_(MATCHED_STATUSES))).all()
        existing = _existing(session, MatchRecord.need_id.in_([n.id for n in filed]))
        for need in tqdm(filed, desc="match", unit="need", disable=not progress):
            ranked = index.matcher.rank(need_doc(need), k=PERSIST_TOP_K, explain=True)
            persisted += _persist(session, index, existing, ((need.id, int(m.capability_id), m) for m in ranked))
            if need.status == NeedStatus.open:  # new pairs are news for the companies (told once: match_notices)
                events.emit(session, "need.matched", {"need_id": need.id}, [need.hospital_id])
    return {"capabilities": len(cap_docs), "needs": len(need_docs), "matches": persisted}


# --- read path: ranked, explained matches for the API --------------------------------------------------------------

@dataclass(frozen=True)
class MatchQuery:
    partner_types: list[str] | None = None
    regions: list[str] | None = None
    stages: list[str] | None = None
    min_score: float | None = None
    hard: bool = False
    limit: int = 20
    include_weak: bool = False  # weak matches (calibrated band) are left out unless asked for


def _filters(q: MatchQuery, exclude: set[int]) -> Filters:
    return Filters(partner_types=frozenset(q.partner_types) if q.partner_types else None,
                   regions=frozenset(q.regions) if q.regions else None,
                   stages=frozenset(q.stages) if q.stages else None,
                   min_score=q.min_score, hard_structured=q.hard, exclude_ids=frozenset(str(i) for i in exclude))


def _feedback_by_pair(session: Session, need_ids: Iterable[int], cap_ids: Iterable[int]):
    rows = session.exec(select(MatchFeedback).where(MatchFeedback.need_id.in_(list(need_ids)),
                                                    MatchFeedback.capability_id.in_(list(cap_ids)))).all()
    out: dict[tuple[int, int], dict[str, str]] = {}
    for r in rows:
        out.setdefault((r.need_id, r.capability_id), {})[r.party] = r.verdict
    return out


def matches_for_need(session: Session, index: MatchIndex, actor: Actor, need_id: int, q: MatchQuery,
                     explain: bool = True) -> dict:
    """Ranked capabilities for a need: its hospital and the commission."""
    from app.services import capabilities, needs

    need = needs.get_visible(session, actor, need_id)
    may_read_need_matches(actor, need)
    declined = set(session.exec(select(MatchFeedback.capability_id).where(
        MatchFeedback.need_id == need.id, MatchFeedback.party == Party.hospital,
        MatchFeedback.verdict == Verdict.not_interested)).all())
    index.sync(session.get_bind())
    doc = need_doc(need)
    kw = {}
    if index.dense_search != "memory":  # only the top-C by whole-text cosine, from PostgreSQL, are scored
        kw["candidates"] = dense_top(session, index.matcher, index.matcher.embed_query(doc)[0], index.dense_candidates,
                                     index.dense_search, index.hnsw_ef_search)
    ranked = index.matcher.rank(doc, k=q.limit, filters=_filters(q, declined), explain=explain, **kw)
    ids = [int(m.capability_id) for m in ranked]
    rows = {c.id: (c, o) for c, o in session.exec(
        select(Capability, Organisation).join(Organisation, Organisation.id == Capability.organisation_id)
        .where(Capability.id.in_(ids))).all()} if ids else {}
    fb = _feedback_by_pair(session, [need.id], ids) if ids else {}
    items = []
    for m in ranked:
        cid = int(m.capability_id)
        if cid not in rows:  # archived since the last sync
            continue
        cap, org = rows[cid]
        items.append({"rank": len(items) + 1, "score": round(float(m.score), 4), "confidence": m.confidence,
                      "band": m.band, "signals": m.signals, "explanation": m.explanation,
                      "capability": capabilities.to_public(session, cap, org), "feedback": fb.get((need.id, cid), {})})
    return {"need_id": need.id, "model": index.model, **_banded(items, q, index, "capability")}


def matches_for_capability(session: Session, index: MatchIndex, actor: Actor, cap_id: int, q: MatchQuery) -> dict:
    """Ranked open needs for a capability: its company and the commission. Anonymous needs stay anonymous."""
    from app.services import capabilities, needs

    cap = capabilities.get_visible(session, actor, cap_id)
    may_read_capability_matches(actor, cap)
    org = session.get(Organisation, cap.organisation_id)
    declined = set(session.exec(select(MatchFeedback.need_id).where(
        MatchFeedback.capability_id == cap.id, MatchFeedback.party == Party.company,
        MatchFeedback.verdict == Verdict.not_interested)).all())
    index.sync(session.get_bind())
    ranked = index.matcher.rank_needs(capability_doc(cap, org), k=q.limit, filters=_filters(q, declined))
    ids = [int(m.need_id) for m in ranked]
    rows = {n.id: n for n in session.exec(select(Need).where(Need.id.in_(ids), Need.status == NeedStatus.open)).all()} \
        if ids else {}
    fb = _feedback_by_pair(session, ids, [cap.id]) if ids else {}
    items = []
    for m in ranked:
        nid = int(m.need_id)
        if nid not in rows:
            continue
        items.append({"rank": len(items) + 1, "score": round(float(m.score), 4), "confidence": m.confidence,
                      "band": m.band, "signals": m.signals, "explanation": m.explanation,
                      "need": needs.to_public(session, actor, rows[nid]), "feedback": fb.get((nid, cap.id), {})})
    return {"capability_id": cap.id, "model": index.model, **_banded(items, q, index, "need")}


def _banded(items: list[dict], q: MatchQuery, index: MatchIndex, what: str) -> dict:
    """Weak matches left out unless ``q.include_weak``; ``no_fit`` when none reaches the possible band (ranks stay
    those of the full ranking, so a match keeps its rank whether weak ones are shown or not)."""
    calibrated = any(i["band"] is not None for i in items)
    weak = [i for i in items if i["band"] == "weak"]
    shown = items if q.include_weak or not calibrated else [i for i in items if i["band"] != "weak"]
    out: dict[str, Any] = {"items": shown, "hidden_weak": len(items) - len(shown), "no_fit": False,
                           "no_fit_reason": None}
    if not items:
        out.update(no_fit=True, no_fit_reason=f"no {what} passes the filters")
    elif calibrated and len(weak) == len(items):
        best = max(i["confidence"] for i in items)
        out.update(no_fit=True, no_fit_reason=(
            f"no {what} is likely to fit: the best match's confidence {best:.2f} is below the "
            f"'possible' band ({index.matcher.band_possible:.2f})"))
    return out


# --- feedback ------------------------------------------------------------------------------------------------------

def give_feedback(session: Session, actor: Actor, data: FeedbackCreate) -> MatchFeedback:
    """The hospital (for its need) or the company (for its capability) marks a pair interested / not interested."""
    from app.services import capabilities, needs

    require_role(actor, Role.hospital_staff, Role.company_staff)
    need = needs.get_visible(session, actor, data.need_id)
    cap = capabilities.get_visible(session, actor, data.capability_id)
    if actor.role == Role.hospital_staff:
        if not can_manage_need(actor, need):
            raise NotFound(msg("Need {data_need_id} not found.",
                               data_need_id=data.need_id))  # pragma: no cover - visibility already limits this
        party = Party.hospital
    else:
        if not can_manage_capability(actor, cap):
            raise NotFound(msg("Capability {data_capability_id} not found.",
                               data_capability_id=data.capability_id))  # pragma: no cover
        party = Party.company
    row = session.exec(select(MatchFeedback).where(MatchFeedback.need_id == need.id,
                                                   MatchFeedback.capability_id == cap.id,
                                                   MatchFeedback.party == party)).first()
    before = row.model_dump() if row else {}
    rec = session.exec(select(MatchRecord).where(MatchRecord.need_id == need.id,
                                                 MatchRecord.capability_id == cap.id)).first()
    row = row or MatchFeedback(need_id=need.id, capability_id=cap.id, party=party,
                               organisation_id=actor.organisation_id, verdict=data.verdict)
    row.user_id, row.verdict, row.reason, row.comment = actor.user_id, data.verdict, data.reason, data.comment
    row.score_at_feedback = rec.score if rec else None
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(session, actor, "match_feedback", row.id, "feedback",
                 audit.diff(before, {"verdict": row.verdict, "reason": row.reason, "comment": row.comment}))
    if before.get("verdict") != row.verdict:
        events.emit(session, "match.feedback", {"need_id": need.id, "capability_id": cap.id, "party": party.value,
                                                "verdict": row.verdict, "score": row.score_at_feedback},
                    [need.hospital_id, cap.organisation_id])
    if party == Party.company and row.verdict == Verdict.interested:
        from app.services import messages

        messages.open_with_interest(session, actor, need, row.comment or "")
    return row


def list_feedback(session: Session, actor: Actor, need_id: int | None, capability_id: int | None, page):
    """Feedback for tuning and follow-up: the commission and admin see all; parties see their own organisation's."""
    from app.services.listing import paginate

    stmt = select(MatchFeedback)
    if not actor.reads_everything:
        stmt = stmt.where(MatchFeedback.organisation_id == actor.organisation_id)
    if need_id is not None:
        stmt = stmt.where(MatchFeedback.need_id == need_id)
    if capability_id is not None:
        stmt = stmt.where(MatchFeedback.capability_id == capability_id)
    return paginate(session, stmt, page, {"id": MatchFeedback.id, "updated_at": MatchFeedback.updated_at}, "-id")
