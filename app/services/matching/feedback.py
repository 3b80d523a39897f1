"""Match feedback: the hospital (for its need) or the company (for its capability) marks a pair interested or
not, audited and announced; a company's interest opens a conversation with the hospital."""

from __future__ import annotations

from sqlmodel import Session, select

from app.errors import NotFound
from app.i18n import msg
from app.models import Capability, MatchFeedback, MatchRecord, Need
from app.models.common import utcnow
from app.models.enums import Role
from app.models.event import EventType
from app.models.match import FeedbackCreate, Party, Verdict
from app.policy import Actor, can_manage_capability, can_manage_need, require_role
from app.services import audit, events, messages
from app.services.listing import paginate


def require_party(actor: Actor) -> None:
    """Only a hospital or a company gives feedback (checked before the need and capability are looked up)."""
    require_role(actor, Role.hospital_staff, Role.company_staff)


def give_feedback(session: Session, actor: Actor, need: Need, cap: Capability, data: FeedbackCreate) -> MatchFeedback:
    """The hospital (for its need) or the company (for its capability) marks a pair interested / not interested.
    ``need`` and ``cap``: ``data``'s pair as the actor may see them (``needs.get_visible``,
    ``capabilities.get_visible``)."""
    require_party(actor)
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
        events.emit(session, EventType.match_feedback,
                    {"need_id": need.id, "capability_id": cap.id, "party": party.value, "verdict": row.verdict,
                     "score": row.score_at_feedback}, [need.hospital_id, cap.organisation_id])
    if party == Party.company and row.verdict == Verdict.interested:
        messages.open_with_interest(session, actor, need, row.comment or "")
    return row


def list_feedback(session: Session, actor: Actor, need_id: int | None, capability_id: int | None, page):
    """Feedback for tuning and follow-up: the commission and admin see all; parties see their own organisation's."""
    stmt = select(MatchFeedback)
    if not actor.reads_everything:
        stmt = stmt.where(MatchFeedback.organisation_id == actor.organisation_id)
    if need_id is not None:
        stmt = stmt.where(MatchFeedback.need_id == need_id)
    if capability_id is not None:
        stmt = stmt.where(MatchFeedback.capability_id == capability_id)
    return paginate(session, stmt, page, {"id": MatchFeedback.id, "updated_at": MatchFeedback.updated_at}, "-id")
