"""Introductions: the commission brokers a need to companies' capabilities, the company answers, the hospital
accepts (a partnership is proposed, marked as brokered) or declines. Flush, never commit; every write is audited
and emits a domain event for the notifications."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Invalid, NotFound
from app.i18n import msg
from app.models import Capability, Introduction, MatchRecord, Need, Organisation
from app.models.common import utcnow
from app.models.engagement import EngagementCreate
from app.models.enums import CapabilityStatus, NeedStatus
from app.models.event import EventType
from app.models.introduction import (
    OPEN_STATUSES,
    IntroductionAnswer,
    IntroductionCreate,
    IntroductionDecision,
    IntroductionPublic,
    IntroductionStatus,
)
from app.policy import (
    Actor,
    disclosure,
    introduction_visible,
    may_answer_introduction,
    may_decide_introduction,
    may_introduce,
)
from app.services import analytics, audit, engagements, events, messages, needs, reasons
from app.services.common import org_ref
from app.services.listing import PageParams, paginate

ENTITY = "introduction"


@dataclass(frozen=True)
class IntroductionFilters:
    need_id: int | None = None
    status: IntroductionStatus | None = None


def get_visible(session: Session, actor: Actor, intro_id: int) -> Introduction:
    intro = session.exec(select(Introduction).where(Introduction.id == intro_id, introduction_visible(actor))).first()
    if intro is None:
        raise NotFound(msg("Introduction {intro_id} not found.", intro_id=intro_id))
    return intro


def to_public(session: Session, actor: Actor, intro: Introduction) -> IntroductionPublic:
    need = session.get(Need, intro.need_id)
    cap = session.get(Capability, intro.capability_id)
    d = disclosure(actor, need, session)
    rec = session.exec(select(MatchRecord).where(MatchRecord.need_id == need.id,
                                                 MatchRecord.capability_id == cap.id)).first()
    return IntroductionPublic.model_validate({
        **intro.model_dump(), "need_title": need.title, "capability_title": cap.title,
        "hospital": org_ref(session.get(Organisation, need.hospital_id)) if d.shows(need.hospital_id) else None,
        "hospital_hidden": not d.shows(need.hospital_id),
        "company": org_ref(session.get(Organisation, intro.organisation_id)),
        "introduced_by": org_ref(session.get(Organisation, intro.introduced_by_org_id)),
        "score": round(float(rec.score), 4) if rec else None,
        **reasons.both(rec.explanation if rec else None)})


def list_introductions(session: Session, actor: Actor, f: IntroductionFilters, page: PageParams):
    stmt = select(Introduction).where(introduction_visible(actor))
    if f.need_id is not None:
        stmt = stmt.where(Introduction.need_id == f.need_id)
    if f.status is not None:
        stmt = stmt.where(Introduction.status == f.status)
    rows, total = paginate(session, stmt, page, {"id": Introduction.id, "created_at": Introduction.created_at,
                                                 "updated_at": Introduction.updated_at}, "-id")
    return [to_public(session, actor, r) for r in rows], total


QUEUE_CANDIDATES = 3


def queue(session: Session, actor: Actor, f: analytics.Filters, limit: int = 50) -> dict:
    """The commission's brokering queue: open needs without a fitting partner, needs waiting for a first interest,
    stalled partnerships; each need with the matcher's best candidates not yet introduced to it."""
    may_introduce(actor)
    rep = analytics.report(session, actor, f, sections=["without_fit", "waiting", "stalled"], limit=limit)
    need_ids = {r["need_id"] for name in ("without_fit", "waiting", "stalled") for r in rep[name]}
    introduced = set(session.exec(select(Introduction.need_id, Introduction.capability_id)
                                  .where(Introduction.need_id.in_(need_ids))).all()) if need_ids else set()
    candidates: dict[int, list[dict]] = {i: [] for i in need_ids}
    if need_ids:
        rows = session.exec(select(MatchRecord, Capability, Organisation)
                            .join(Capability, Capability.id == MatchRecord.capability_id)
                            .join(Organisation, Organisation.id == Capability.organisation_id)
                            .where(MatchRecord.need_id.in_(need_ids), Capability.status == CapabilityStatus.active)
                            .order_by(MatchRecord.need_id, MatchRecord.score.desc())).all()
        for rec, cap, org in rows:
            mine = candidates[rec.need_id]
            if (rec.need_id, cap.id) not in introduced and len(mine) < QUEUE_CANDIDATES:
                mine.append({"capability_id": cap.id, "title": cap.title, "organisation": org_ref(org).model_dump(),
                             "score": round(float(rec.score), 4),
                             **reasons.both(rec.explanation)})
    for name in ("without_fit", "waiting", "stalled"):
        for r in rep[name]:
            r["candidates"] = candidates.get(r["need_id"], [])
    return {"filters": rep["filters"], "without_fit": rep["without_fit"], "waiting": rep["waiting"],
            "stalled": rep["stalled"], "totals": rep["totals"]}


def _event(session: Session, intro: Introduction, need: Need, type_: EventType, **payload) -> None:
    events.emit(session, type_, {"introduction_id": intro.id, "need_id": need.id,
                                 "capability_id": intro.capability_id, "status": intro.status, **payload},
                {need.hospital_id, intro.organisation_id, intro.introduced_by_org_id})


def introduce(session: Session, actor: Actor, data: IntroductionCreate) -> list[Introduction]:
    """The commission puts an open need in front of one or more capabilities, with a note."""
    may_introduce(actor)
    need = needs.get_visible(session, actor, data.need_id)
    if need.status != NeedStatus.open:
        raise Conflict(msg("Need {need_id} is {need_status}; introductions are for open needs.",
                           need_id=need.id, need_status=need.status), current=need.status)
    out = []
    for i, cap_id in enumerate(dict.fromkeys(data.capability_ids)):
        cap = session.get(Capability, cap_id)
        if cap is None or cap.status != CapabilityStatus.active:
            raise Invalid(f"capability_ids.{i}", msg("Capability {cap_id} does not exist or is archived.",
                                                     cap_id=cap_id))
        if session.exec(select(Introduction.id).where(Introduction.need_id == need.id,
                                                      Introduction.capability_id == cap.id)).first():
            raise Conflict(msg("Need {need_id} was introduced to capability {cap_id} already.",
                               need_id=need.id, cap_id=cap.id), capability_id=cap.id)
        intro = Introduction(need_id=need.id, capability_id=cap.id, organisation_id=cap.organisation_id,
                             introduced_by_org_id=actor.organisation_id, introduced_by_id=actor.user_id,
                             note=data.note.strip())
        session.add(intro)
        try:
            session.flush()
        except IntegrityError as e:  # a concurrent introduction of the same pair
            raise Conflict(msg("Need {need_id} was introduced to capability {cap_id} already.",
                               need_id=need.id, cap_id=cap.id)) from e
        audit.record(session, actor, ENTITY, intro.id, "create",
                     audit.created_fields(intro, ["need_id", "capability_id", "organisation_id", "note"]))
        _event(session, intro, need, EventType.introduction_made, note=intro.note)
        out.append(intro)
    return out


def answer(session: Session, actor: Actor, intro_id: int, data: IntroductionAnswer) -> Introduction:
    """The company: interested (its comment reaches the hospital) or not, with a reason; it may change its mind
    until the hospital decides."""
    intro = get_visible(session, actor, intro_id)
    may_answer_introduction(actor, intro)
    if intro.status not in (*OPEN_STATUSES, IntroductionStatus.not_interested):
        raise Conflict(msg("Introduction {intro_id} is {intro_status}; the hospital has decided.",
                           intro_id=intro.id, intro_status=intro.status), current=intro.status)
    before = {"status": intro.status, "reason": intro.reason, "comment": intro.comment}
    intro.status = IntroductionStatus(data.verdict.value)
    intro.reason = data.reason.value if data.reason else None
    intro.comment = data.comment.strip()
    intro.answered_at, intro.answered_by_id = utcnow(), actor.user_id
    intro.version += 1
    intro.updated_at = utcnow()
    session.add(intro)
    session.flush()
    audit.record(session, actor, ENTITY, intro.id, "answer",
                 audit.diff(before, {"status": intro.status, "reason": intro.reason, "comment": intro.comment}))
    need = session.get(Need, intro.need_id)
    _event(session, intro, need, EventType.introduction_answered, verdict=data.verdict.value, reason=intro.reason,
           comment=intro.comment)
    if intro.status == IntroductionStatus.interested:
        messages.open_with_interest(session, actor, need, intro.comment)
    return intro


def decide(session: Session, actor: Actor, intro_id: int, accept: bool, data: IntroductionDecision) -> Introduction:
    """The need's hospital: accepting an interested company proposes a partnership marked as brokered by the
    commission (both sides' acceptances recorded: the hospital's now, the company's interest); or it declines."""
    intro = get_visible(session, actor, intro_id)
    need = session.get(Need, intro.need_id)
    may_decide_introduction(actor, need)
    if intro.status != IntroductionStatus.interested:
        raise Conflict(msg("Introduction {intro_id} is {intro_status}; the hospital decides once the company is "
                           "interested.", intro_id=intro.id, intro_status=intro.status), current=intro.status)
    if accept:
        eng = engagements.create_engagement(
            session, actor, EngagementCreate(need_id=need.id, capability_id=intro.capability_id,
                                             comment=data.comment.strip() or intro.note),
            brokered=engagements.Brokered(intro.introduced_by_org_id, intro.answered_at, intro.answered_by_id))
        intro.engagement_id = eng.id
    intro.status = IntroductionStatus.accepted if accept else IntroductionStatus.declined
    intro.decided_at, intro.decided_by_id = utcnow(), actor.user_id
    intro.version += 1
    intro.updated_at = utcnow()
    session.add(intro)
    session.flush()
    audit.record(session, actor, ENTITY, intro.id, "accept" if accept else "decline",
                 {"status": [IntroductionStatus.interested.value, intro.status],
                  "engagement_id": [None, intro.engagement_id]})
    _event(session, intro, need, EventType.introduction_decided, accepted=accept, engagement_id=intro.engagement_id,
           comment=data.comment.strip())
    return intro


__all__ = [
    "IntroductionFilters",
    "answer",
    "decide",
    "get_visible",
    "introduce",
    "list_introductions",
    "queue",
    "to_public",
]
