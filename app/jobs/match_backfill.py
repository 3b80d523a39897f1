"""Match backfill: store missing or stale vectors for every need and capability, then persist the matches of
every need past draft. A job: it opens its own sessions and commits in batches."""

from __future__ import annotations

from sqlmodel import select
from tqdm import tqdm

from app.db import session_scope
from app.models import Capability, MatchRecord, Need, Organisation
from app.models.enums import NeedStatus
from app.models.event import EventType
from app.services import events
from app.services.matching.documents import capability_doc, need_doc, resources_text
from app.services.matching.index import MatchIndex
from app.services.matching.persisted import MATCHED_STATUSES, PERSIST_TOP_K, existing_matches, persist
from app.services.matching.vectors import store_vectors


def backfill(engine, index: MatchIndex, progress: bool = False) -> dict[str, int]:
    """Store missing or stale vectors for every need and capability (batched, committed), then persist the matches
    of every need past draft. Used after bulk loads (``clinmatch seed``) and by ``clinmatch reindex`` after a model change."""
    batch = 64  # the progress bar moves every 64 documents; the embedder batches their texts (~220) well
    with session_scope(engine) as session:
        rows = session.exec(
            select(Capability, Organisation).join(Organisation, Organisation.id == Capability.organisation_id)).all()
        extra = resources_text(session, {o.id for _c, o in rows})
        cap_docs = [capability_doc(c, o, extra.get(o.id, "")) for c, o in rows]
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
        existing = existing_matches(session, MatchRecord.need_id.in_([n.id for n in filed]))
        for need in tqdm(filed, desc="match", unit="need", disable=not progress):
            ranked = index.matcher.rank(need_doc(need), k=PERSIST_TOP_K, explain=True)
            persisted += persist(session, index, existing, ((need.id, int(m.capability_id), m) for m in ranked))
            if need.status == NeedStatus.open:  # new pairs are news for the companies (told once: match_notices)
                events.emit(session, EventType.need_matched, {"need_id": need.id}, [need.hospital_id])
    return {"capabilities": len(cap_docs), "needs": len(need_docs), "matches": persisted}
