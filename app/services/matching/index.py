"""The per-process match index: one ``matching.Matcher`` over every active capability and every open need.

It is loaded at start-up and pulled up to date from the database before each ranking (``MatchIndex.sync``: rows
changed since the last sync, by ``updated_at``), so several uvicorn workers, the CLI and the seed loader all stay
consistent without messaging.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from app.models import Capability, Need, Organisation
from app.models.common import utcnow
from app.models.embedding import DENSE_VEC_DIM
from app.models.enums import CapabilityStatus, NeedStatus
from app.services.matching.documents import capability_doc, need_doc, resources_text
from app.services.matching.vectors import load_vectors
from matching import CapabilityDoc, Matcher, NeedDoc

log = logging.getLogger("clinmatch.matching")

SYNC_OVERLAP = timedelta(seconds=120)  # look again at rows changed this long before the last sync (late commits)
OVERLAP_CHECK_SECONDS = 2.0  # how often the overlap window is checked for late commits


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
        # The connection first, then the lock: a thread holding the lock must never wait for the pool, which the
        # requests waiting for the lock hold (docs/decisions.md, "Connections, threads and the write queue").
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
            rows = session.exec(select(Capability, Organisation).join(
                Organisation, Organisation.id == Capability.organisation_id).where(Capability.id.in_(chunk))).all()
            extra = resources_text(session, {o.id for _c, o in rows})
            for cap, org in rows:
                self._seen[("capability", cap.id)] = cap.version
                if cap.status == CapabilityStatus.active:
                    upsert_caps.append(capability_doc(cap, org, extra.get(org.id, "")))
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
        window (docs/decisions.md, "The index pulls its changes")."""
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
        # identities of the matcher's two stores: a compaction replaces one (matching/index.py _maybe_compact)
        return id(self.matcher.index.caps), id(self.matcher.index.needs)

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

    Frozen objects are still freed when their last reference goes, so a compacted-away store is released as
    before; only garbage *cycles* alive at the moment of freezing would stay, hence a full collection first
    (docs/decisions.md, "Garbage collector")."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def embed_ahead(index: MatchIndex, *docs: NeedDoc | CapabilityDoc) -> None:
    """Compute the ``docs``' vectors now (one batch), before the request writes anything, when the embedder keeps recent texts'
    vectors (USEEmbedder does): ``store_vectors`` and the ranking then find them there. On SQLite the model thus runs
    outside the write lock, so concurrent writers do not queue behind it (nor time out into 409s)."""
    if getattr(index.matcher.embedder, "cache_size", 0) > 0:
        index.matcher.encode(docs)
