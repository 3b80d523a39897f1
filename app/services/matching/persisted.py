"""Persisted matches: after a need or capability is written, its vectors are stored and its top matches upserted
in the same transaction as the change itself (request-scoped: flushes, never commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, select

from app.models import Capability, MatchRecord, Need, Organisation
from app.models.common import utcnow
from app.models.enums import CapabilityStatus, NeedStatus
from app.services.matching.documents import capability_doc, need_doc, resources_text
from app.services.matching.index import MatchIndex
from app.services.matching.vectors import store_vectors

MATCHED_STATUSES = (NeedStatus.open, NeedStatus.in_partnership, NeedStatus.closed)
PERSIST_TOP_K = 20  # matches persisted per need (and per capability) when it is opened or changed


def persist(session: Session, index: MatchIndex, existing: dict[tuple[int, int], MatchRecord],
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


def existing_matches(session: Session, *where) -> dict[tuple[int, int], MatchRecord]:
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
    existing = existing_matches(session, MatchRecord.need_id == need.id)
    return persist(session, index, existing, ((need.id, int(m.capability_id), m) for m in ranked))


def capability_written(session: Session, index: MatchIndex, cap: Capability) -> int:
    """After a capability is registered or changed: store its vectors and refresh its matches with open needs."""
    return capabilities_written(session, index, [cap])


def capabilities_written(session: Session, index: MatchIndex, caps: Sequence[Capability]) -> int:
    """``capability_written`` for several capabilities: their vectors stored in one batch, one index sync."""
    orgs = {o.id: o for o in session.exec(select(Organisation).where(
        Organisation.id.in_({c.organisation_id for c in caps}))).all()}
    extra = resources_text(session, orgs)
    docs = [capability_doc(c, orgs[c.organisation_id], extra.get(c.organisation_id, "")) for c in caps]
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
    existing = existing_matches(session, MatchRecord.capability_id.in_([c.id for c, _ in active]))
    n = 0
    for cap, doc in active:
        ranked = index.matcher.rank_needs(doc, k=PERSIST_TOP_K)
        keep = {int(m.need_id) for m in ranked}
        stale = [need_id for (need_id, cap_id) in existing if cap_id == cap.id and need_id not in keep]
        if stale:
            session.execute(delete(MatchRecord).where(MatchRecord.capability_id == cap.id,
                                                      MatchRecord.need_id.in_(open_needs),
                                                      MatchRecord.need_id.in_(stale)))
        n += persist(session, index, existing, ((int(m.need_id), cap.id, m) for m in ranked))
    return n
