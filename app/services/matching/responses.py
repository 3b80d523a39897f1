"""Ranked, explained matches for the API: a need's capabilities, a capability's open needs, each with its
signals, calibrated band and the parties' feedback. The route resolves the need or capability through the
visibility rules and hands the entity down; this module presents the other side through ``needs.to_public`` and
``capabilities.to_public`` (so it sits above those two services, while the rest of the package sits below them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from app.i18n import msg, say
from app.models import Capability, MatchFeedback, Need, Organisation
from app.models.enums import NeedStatus
from app.models.match import Party, Verdict
from app.policy import Actor, may_read_capability_matches, may_read_need_matches
from app.services import capabilities, needs, reasons
from app.services.matching.documents import capability_doc, need_doc, resources_text
from app.services.matching.index import MatchIndex
from app.services.matching.vectors import dense_top
from matching import Filters


@dataclass(frozen=True)
class MatchQuery:
    partner_types: list[str] | None = None
    regions: list[str] | None = None
    stages: list[str] | None = None
    min_score: float | None = None
    hard: bool = False
    limit: int = 20
    include_weak: bool = False  # weak matches (calibrated band) are left out unless asked for
    lang: str = "zh"  # the reader's: reasons and the no-fit sentence are said in it


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


def matches_for_need(session: Session, index: MatchIndex, actor: Actor, need: Need, q: MatchQuery,
                     explain: bool = True) -> dict:
    """Ranked capabilities for a need (one the actor may see: ``needs.get_visible``): its hospital and the
    commission."""
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
                      "reason": reasons.why(m.explanation, q.lang),
                      "capability": capabilities.to_public(session, cap, org), "feedback": fb.get((need.id, cid), {})})
    return {"need_id": need.id, "model": index.model, **_banded(items, q, index, "capability")}


def matches_for_capability(session: Session, index: MatchIndex, actor: Actor, cap: Capability,
                           q: MatchQuery) -> dict:
    """Ranked open needs for a capability (one the actor may see: ``capabilities.get_visible``): its company and the
    commission. Anonymous needs stay anonymous."""
    may_read_capability_matches(actor, cap)
    org = session.get(Organisation, cap.organisation_id)
    declined = set(session.exec(select(MatchFeedback.need_id).where(
        MatchFeedback.capability_id == cap.id, MatchFeedback.party == Party.company,
        MatchFeedback.verdict == Verdict.not_interested)).all())
    index.sync(session.get_bind())
    doc = capability_doc(cap, org, resources_text(session, [org.id]).get(org.id, ""))
    ranked = index.matcher.rank_needs(doc, k=q.limit, filters=_filters(q, declined))
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
                      "reason": reasons.why(m.explanation, q.lang),
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
        out.update(no_fit=True, no_fit_reason=say(NONE_PASS[what], q.lang))
    elif calibrated and len(weak) == len(items):
        best = max(i["confidence"] for i in items)
        out.update(no_fit=True, no_fit_reason=say(msg(
            "Nothing is likely to fit yet: the best match's confidence {best} is below the 'possible' band ({band}).",
            best=f"{best:.2f}", band=f"{index.matcher.band_possible:.2f}"), q.lang))
    return out


NONE_PASS = {"capability": msg("No capability passes the filters."), "need": msg("No open need passes the filters.")}
