"""Engagements: partnerships on a need carried along the device path (app.workflow), with milestones and documents.

Flush, never commit. Every write is audited and emits a domain event for the notifications issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from app.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.i18n import msg
from app.models import (
    Capability,
    Document,
    Engagement,
    EngagementParticipant,
    EngagementTransition,
    Milestone,
    Need,
    Organisation,
)
from app.models.common import LOCAL_TZ, as_utc, local_today, utcnow
from app.models.engagement import (
    DocumentPublic,
    EngagementCreate,
    EngagementDetail,
    EngagementPublic,
    InvitationPublic,
    MilestoneCreate,
    MilestonePublic,
    ParticipantCreate,
    ParticipantPublic,
    ParticipantStatus,
    Side,
    TransitionCreate,
    TransitionPublic,
)
from app.models.enums import COMPANY_KINDS, CapabilityStatus, Confidentiality, NeedStatus, OrgKind, Role
from app.models.event import EventType
from app.policy import (
    Actor,
    Disclosure,
    disclosure,
    engagement_side,
    engagement_visible,
    hospital_identity_visible_many,
    may_add_participant,
    may_answer_invitation,
    may_download_documents,
    may_record_evidence,
    may_record_milestone,
    may_take_step,
    require_engagement_side,
    require_role,
)
from app.services import audit, capabilities, events, needs, storage
from app.services.common import check_version, compare_and_swap, org_ref
from app.services.listing import PageParams, json_list_contains, paginate
from app.services.storage import sniff
from app.workflow import EngagementFacts, EngagementState, Position, allowed_targets, apply_transition, time_in_states
from app.workflow.states import (
    FINAL,
    PATHS,
    PATHWAY_CHOSEN_BY,
    REASON_REQUIRED,
    TAKEN_BY,
    Pathway,
    counts_as_partnership,
)
from app.workflow.vocab import EVIDENCE_OWNER, OWNER_NAMES, MilestoneKind, Owner, ParticipantRole

ENTITY = "engagement"
SORTABLE = {"created_at": Engagement.created_at, "updated_at": Engagement.updated_at, "id": Engagement.id,
            "state": Engagement.state}
ENDED = frozenset({EngagementState.withdrawn, EngagementState.terminated})
ANIMAL_FACILITY_KINDS = frozenset({OrgKind.platform, OrgKind.lab})
CLOCK_SKEW = timedelta(minutes=5)  # a client's clock a little ahead is not "the future"


@dataclass(frozen=True)
class EngagementFilters:
    state: str | None = None
    need_id: int | None = None
    organisation_id: int | None = None


# --- reading -----------------------------------------------------------------------------------------------------

def get_visible(session: Session, actor: Actor, engagement_id: int) -> Engagement:
    eng = session.exec(select(Engagement).where(Engagement.id == engagement_id, engagement_visible(actor))).first()
    if eng is None:
        raise NotFound(msg("Engagement {engagement_id} not found.", engagement_id=engagement_id))
    return eng


def _participants(session: Session, eng: Engagement, *, invited_too: bool = False) -> list[EngagementParticipant]:
    """The participants taking part (status active); ``invited_too``: every invitation, answered or not."""
    stmt = select(EngagementParticipant).where(EngagementParticipant.engagement_id == eng.id)
    if not invited_too:
        stmt = stmt.where(EngagementParticipant.status == ParticipantStatus.active)
    return list(session.exec(stmt.order_by(EngagementParticipant.id)).all())


def _party_orgs(session: Session, eng: Engagement) -> set[int]:
    return {eng.hospital_id, eng.lead_org_id} | {p.organisation_id for p in _participants(session, eng)}


def history(session: Session, eng: Engagement) -> list[EngagementTransition]:
    return list(session.exec(select(EngagementTransition).where(EngagementTransition.engagement_id == eng.id)
                             .order_by(EngagementTransition.seq)).all())


def side_of(eng: Engagement, org_id: int | None) -> Side | None:
    if org_id is None:
        return None
    return Side.hospital if org_id == eng.hospital_id else Side.lead if org_id == eng.lead_org_id else Side.participant


def disclosure_for(session: Session, actor: Actor, eng: Engagement) -> Disclosure:
    return disclosure(actor, session.get(Need, eng.need_id), session)


def to_public(session: Session, actor: Actor, eng: Engagement, shown: bool | None = None,
              loaded: dict | None = None) -> EngagementPublic:
    """``shown``, ``loaded``: whether the actor may see the hospital, and the need and organisations by
    (class, id), when the caller has them already (``to_public_many``)."""
    loaded = loaded or {}

    def get(model, pk):
        return loaded.get((model, pk)) or session.get(model, pk)

    need = get(Need, eng.need_id)
    d = disclosure(actor, need, session, shown)
    return EngagementPublic.model_validate({
        **eng.model_dump(), "need_title": need.title, "hospital_hidden": not d.shows(eng.hospital_id),
        "hospital": org_ref(get(Organisation, eng.hospital_id)) if d.shows(eng.hospital_id) else None,
        "lead": org_ref(get(Organisation, eng.lead_org_id)), "path": list(PATHS[Pathway(eng.pathway)]),
        "proposed_by_org_id": d.org(eng.proposed_by_org_id), "proposed_by": side_of(eng, eng.proposed_by_org_id)})


def to_public_many(session: Session, actor: Actor, rows: list[Engagement]) -> list[EngagementPublic]:
    """``to_public`` for a page of engagements in three queries at most (needs, who may see their hospitals,
    organisations)."""
    if not rows:
        return []
    needs = list(session.exec(select(Need).where(Need.id.in_({e.need_id for e in rows}))))
    shown = hospital_identity_visible_many(actor, needs, session)
    org_ids = {e.lead_org_id for e in rows} | {e.hospital_id for e in rows if e.need_id in shown}
    loaded = {(Need, n.id): n for n in needs}
    loaded.update({(Organisation, o.id): o
                   for o in session.exec(select(Organisation).where(Organisation.id.in_(org_ids)))})
    return [to_public(session, actor, e, shown=e.need_id in shown, loaded=loaded) for e in rows]


def _document_public(eng: Engagement, doc: Document, d: Disclosure) -> DocumentPublic:
    return DocumentPublic.model_validate({**doc.model_dump(), "organisation_id": d.org(doc.organisation_id),
                                          "party": side_of(eng, doc.organisation_id),
                                          "url": f"/api/v1/engagements/{eng.id}/documents/{doc.id}"})


def milestones_public(session: Session, actor: Actor, eng: Engagement,
                      d: Disclosure | None = None) -> list[MilestonePublic]:
    d = d or disclosure_for(session, actor, eng)
    docs: dict[int, list[DocumentPublic]] = {}
    for doc in session.exec(select(Document).where(Document.engagement_id == eng.id).order_by(Document.id)).all():
        docs.setdefault(doc.milestone_id, []).append(_document_public(eng, doc, d))
    out, owners = [], {}
    for m in session.exec(select(Milestone).where(Milestone.engagement_id == eng.id)
                          .order_by(Milestone.occurred_on, Milestone.id)).all():
        responsible = org_ref(session.get(Organisation, m.responsible_org_id)) if d.shows(m.responsible_org_id) \
            else None
        owner = EVIDENCE_OWNER.get(MilestoneKind(m.kind))
        if owner is not None and owner not in owners:
            owners[owner] = _owner_orgs(session, eng, owner)
        out.append(MilestonePublic.model_validate({
            **m.model_dump(), "responsible": responsible, "responsible_party": side_of(eng, m.responsible_org_id),
            "recorded_by_org_id": d.org(m.recorded_by_org_id), "recorded_by_party": side_of(eng, m.recorded_by_org_id),
            "evidence_owner": owner.value if owner else None, "recorded_at": m.created_at,
            "confirmed": None if owner is None else m.recorded_by_org_id in owners[owner],
            "documents": docs.get(m.id, [])}))
    return out


def history_public(session: Session, actor: Actor, eng: Engagement,
                   rows: list[EngagementTransition] | None = None,
                   d: Disclosure | None = None) -> list[TransitionPublic]:
    d = d or disclosure_for(session, actor, eng)
    return [TransitionPublic.model_validate({**t.model_dump(), "organisation_id": d.org(t.organisation_id),
                                             "user_id": d.user(t.user_id, t.organisation_id),
                                             "party": side_of(eng, t.organisation_id), "recorded_at": t.at})
            for t in (history(session, eng) if rows is None else rows)]


def detail(session: Session, actor: Actor, eng: Engagement) -> EngagementDetail:
    rows = history(session, eng)
    d = disclosure_for(session, actor, eng)
    participants = []
    for p in _participants(session, eng, invited_too=True):
        if not d.shows(p.organisation_id):  # pragma: no cover - the need's hospital is never its own participant
            continue
        org = session.get(Organisation, p.organisation_id)
        participants.append(ParticipantPublic(id=p.id, organisation=org_ref(org), org_kind=org.kind, role=p.role,
                                              status=p.status, created_at=p.created_at,
                                              responded_at=p.responded_at))
    return EngagementDetail.model_validate({
        **to_public(session, actor, eng, shown=d.shows(eng.hospital_id)).model_dump(),
        "allowed_targets": sorted(allowed_targets(EngagementState(eng.state),
                                                  EngagementState(eng.held_from) if eng.held_from else None,
                                                  Pathway(eng.pathway))),
        "participants": participants,
        "milestones": milestones_public(session, actor, eng, d),
        "history": history_public(session, actor, eng, rows, d),
        "seconds_in_state": time_in_states([(t.to_state, t.occurred_at) for t in rows], utcnow()),
    })


def list_engagements(session: Session, actor: Actor, f: EngagementFilters, page: PageParams):
    stmt = select(Engagement).join(Need, Need.id == Engagement.need_id).where(engagement_visible(actor))
    if f.state:
        stmt = stmt.where(Engagement.state == f.state)
    if f.need_id is not None:
        stmt = stmt.where(Engagement.need_id == f.need_id)
    if f.organisation_id is not None:
        org = f.organisation_id
        as_hospital = Engagement.hospital_id == org
        if not actor.reads_everything and not (actor.role == Role.hospital_staff and actor.organisation_id == org):
            # Filtering by hospital must not reveal who filed an anonymous need (see hospital_identity_visible).
            as_hospital = and_(as_hospital, or_(Need.confidentiality == Confidentiality.public,
                                                Engagement.hospital_accepted_at.is_not(None)))
        stmt = stmt.where(or_(as_hospital, Engagement.lead_org_id == org,
                              Engagement.id.in_(select(EngagementParticipant.engagement_id)
                                                .where(EngagementParticipant.organisation_id == org))))
    rows, total = paginate(session, stmt, page, SORTABLE, "-updated_at")
    return to_public_many(session, actor, rows), total


# --- proposing, accepting, participants ---------------------------------------------------------------------------

def _append_history(session: Session, actor: Actor, eng: Engagement, frm: str | None, to: str, comment: str,
                    occurred_at: datetime) -> None:
    last = session.scalar(select(func.max(EngagementTransition.seq))
                          .where(EngagementTransition.engagement_id == eng.id)) or 0
    session.add(EngagementTransition(engagement_id=eng.id, seq=last + 1, from_state=frm, to_state=to,
                                     user_id=actor.user_id, organisation_id=actor.organisation_id, comment=comment,
                                     occurred_at=occurred_at))


def _event(session: Session, eng: Engagement, type_: EventType, also: tuple[int, ...] = (), **payload) -> None:
    """Tell the parties (and ``also``: an invited organisation, of its invitation)."""
    events.emit(session, type_, {"engagement_id": eng.id, "need_id": eng.need_id, "state": eng.state, **payload},
                _party_orgs(session, eng) | set(also))


# --- real dates: when a step happened, beside when it was recorded ------------------------------------------------

def _occurred_at(session: Session, eng: Engagement | None, value: datetime | None) -> datetime:
    """When the step happened: now by default; never in the future, never before the previous step."""
    now = utcnow()
    at = as_utc(value) if value is not None else now
    if at > now + CLOCK_SKEW:
        raise Invalid("occurred_at", msg("A step cannot be dated in the future."))
    if eng is not None:
        last = session.scalar(select(func.max(EngagementTransition.occurred_at))
                              .where(EngagementTransition.engagement_id == eng.id))
        if last is not None and at < _aware(last):
            raise Invalid("occurred_at", msg("The previous step happened on {when}; this one cannot be earlier.",
                                             when=_local(last)))
    return at


def started_on(session: Session, eng: Engagement) -> date:
    """The day (Shanghai) the partnership began: its proposal."""
    first = session.scalar(select(func.min(EngagementTransition.occurred_at))
                           .where(EngagementTransition.engagement_id == eng.id))
    return (_aware(first) if first is not None else utcnow()).astimezone(LOCAL_TZ).date()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _local(dt: datetime) -> str:
    return _aware(dt).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _add_participant(session: Session, actor: Actor, eng: Engagement, p: ParticipantCreate) -> EngagementParticipant:
    org = session.get(Organisation, p.organisation_id)
    if org is None:
        raise Invalid("organisation_id", msg("Organisation {p_organisation_id} does not exist.",
                                             p_organisation_id=p.organisation_id))
    if org.kind == OrgKind.commission:
        raise Invalid("organisation_id", msg("The commission watches partnerships; it does not take part in them."))
    may_add_participant(actor, disclosure_for(session, actor, eng).shows(eng.hospital_id), OrgKind(org.kind))
    if org.id in (eng.hospital_id, eng.lead_org_id):
        raise Invalid("organisation_id", msg("The hospital and the lead company are parties already."))
    if p.role == ParticipantRole.animal_facility and org.kind not in ANIMAL_FACILITY_KINDS:
        raise Invalid("role", msg("An animal facility is a platform or a lab."))
    dup = session.exec(select(EngagementParticipant).where(EngagementParticipant.engagement_id == eng.id,
                                                           EngagementParticipant.organisation_id == org.id,
                                                           EngagementParticipant.role == p.role)).first()
    if dup is not None:
        raise Conflict(msg("{org_display_name} already takes part as '{p_role}'.",
                           org_display_name=org.display_name, p_role=p.role))
    part = EngagementParticipant(engagement_id=eng.id, organisation_id=org.id, role=p.role, added_by_id=actor.user_id,
                                 status=ParticipantStatus.invited)
    session.add(part)
    session.flush()
    audit.record(session, actor, "engagement_participant", part.id, "invite",
                 {"engagement_id": [None, eng.id], "organisation_id": [None, org.id], "role": [None, p.role]})
    _event(session, eng, EventType.engagement_participant_invited, also=(org.id,), participant_id=part.id,
           organisation_id=org.id, role=p.role)
    return part


@dataclass(frozen=True)
class Brokered:
    """A proposal that comes from an accepted introduction: who brokered it, and the company's interest in it
    (which counts as the lead's acceptance)."""

    by_org_id: int
    lead_accepted_at: datetime
    lead_accepted_by_id: int | None


def create_engagement(session: Session, actor: Actor, data: EngagementCreate,
                      brokered: Brokered | None = None) -> Engagement:
    """Propose a partnership from a match: the hospital for its need, or a company for its capability. The proposing
    side's acceptance is recorded with the proposal; the other side accepts with ``accept``."""
    require_role(actor, Role.hospital_staff, Role.company_staff)
    need = needs.get_visible(session, actor, data.need_id)
    cap = capabilities.get_visible(session, actor, data.capability_id)
    if actor.role == Role.hospital_staff and need.hospital_id != actor.organisation_id:
        raise Forbidden(msg("A hospital proposes partnerships on its own needs."))
    if actor.role == Role.company_staff and cap.organisation_id != actor.organisation_id:
        raise Forbidden(msg("A company proposes partnerships with its own capabilities."))  # pragma: no cover
    lead = session.get(Organisation, cap.organisation_id)
    if lead.kind not in COMPANY_KINDS:  # pragma: no cover - capabilities belong to companies
        raise Invalid("capability_id", msg("The lead is an enterprise, lab or platform."))
    if cap.status != CapabilityStatus.active:
        raise Conflict(msg("Capability {cap_id} is archived.", cap_id=cap.id))
    if need.status not in (NeedStatus.open, NeedStatus.in_partnership):
        raise Conflict(msg("Need {need_id} is {need_status}; partnerships start on open needs.",
                           need_id=need.id, need_status=need.status), current=need.status)
    running = session.exec(select(Engagement).where(Engagement.need_id == need.id,
                                                    Engagement.lead_org_id == lead.id,
                                                    Engagement.state.not_in([s.value for s in ENDED]))).first()
    if running is not None:
        raise Conflict(msg("Engagement {running_id} of this need and company is already under way.",
                           running_id=running.id),
                       engagement_id=running.id)
    occurred = _occurred_at(session, None, data.occurred_at)
    now = utcnow()
    by_hospital = actor.role == Role.hospital_staff
    eng = Engagement(need_id=need.id, hospital_id=need.hospital_id, lead_org_id=lead.id, capability_id=cap.id,
                     proposed_by_org_id=actor.organisation_id, pathway=data.pathway,
                     hospital_accepted_at=now if by_hospital else None,
                     hospital_accepted_by_id=actor.user_id if by_hospital else None,
                     lead_accepted_at=None if by_hospital else now,
                     lead_accepted_by_id=None if by_hospital else actor.user_id)
    if brokered is not None:
        eng.brokered_by_org_id = brokered.by_org_id
        eng.lead_accepted_at, eng.lead_accepted_by_id = brokered.lead_accepted_at, brokered.lead_accepted_by_id
    session.add(eng)
    session.flush()
    _append_history(session, actor, eng, None, EngagementState.proposed, data.comment, occurred)
    audit.record(session, actor, ENTITY, eng.id, "create",
                 audit.created_fields(eng, ["need_id", "hospital_id", "lead_org_id", "capability_id", "state"]))
    for p in data.participants:
        _add_participant(session, actor, eng, p)
    _event(session, eng, EventType.engagement_proposed, proposed_by_org_id=actor.organisation_id,
           brokered_by_org_id=eng.brokered_by_org_id)
    session.flush()
    return eng


def accept(session: Session, actor: Actor, engagement_id: int, expected: int) -> Engagement:
    """The other side's acceptance of a proposal (the guard of intent_signed needs both)."""
    eng = get_visible(session, actor, engagement_id)
    side = require_engagement_side(actor, eng)
    check_version(eng, expected)
    if eng.state != EngagementState.proposed:
        raise Conflict(msg("Engagement {eng_id} is {eng_state}; acceptance belongs to a proposal.",
                           eng_id=eng.id, eng_state=eng.state), current=eng.state)
    if getattr(eng, f"{side}_accepted_at") is not None:
        raise Conflict(msg("The {side} has accepted already.", side=side))
    now = utcnow()
    compare_and_swap(session, Engagement, eng, expected,
                     {f"{side}_accepted_at": now, f"{side}_accepted_by_id": actor.user_id})
    audit.record(session, actor, ENTITY, eng.id, f"accept:{side}", {f"{side}_accepted_at": [None, now]})
    _event(session, eng, EventType.engagement_accepted, side=side)
    return eng


def add_participant(session: Session, actor: Actor, engagement_id: int, data: ParticipantCreate,
                    expected: int) -> Engagement:
    eng = get_visible(session, actor, engagement_id)
    require_engagement_side(actor, eng)
    check_version(eng, expected)
    if eng.state in FINAL:
        raise Conflict(msg("Engagement {eng_id} is {eng_state}.",
                           eng_id=eng.id, eng_state=eng.state), current=eng.state)
    _add_participant(session, actor, eng, data)
    compare_and_swap(session, Engagement, eng, expected, {})
    return eng


def list_invitations(session: Session, actor: Actor, status: ParticipantStatus | None,
                     page: PageParams) -> tuple[list[InvitationPublic], int]:
    """The invitations to the actor's organisation: what, from which partnership, by whom; an anonymous need's
    hospital stays hidden (an invited organisation is not a party until it accepts)."""
    stmt = select(EngagementParticipant).where(EngagementParticipant.organisation_id == actor.organisation_id)
    if status is not None:
        stmt = stmt.where(EngagementParticipant.status == status)
    rows, total = paginate(session, stmt, page, {"id": EngagementParticipant.id,
                                                 "created_at": EngagementParticipant.created_at}, "-id")
    return [_invitation_public(session, actor, p) for p in rows], total


def _invitation_public(session: Session, actor: Actor, p: EngagementParticipant) -> InvitationPublic:
    eng = session.get(Engagement, p.engagement_id)
    need = session.get(Need, eng.need_id)
    d = disclosure(actor, need, session)
    return InvitationPublic(id=p.id, engagement_id=eng.id, need_title=need.title, role=p.role, status=p.status,
                            hospital=org_ref(session.get(Organisation, eng.hospital_id))
                            if d.shows(eng.hospital_id) else None,
                            lead=org_ref(session.get(Organisation, eng.lead_org_id)), created_at=p.created_at,
                            responded_at=p.responded_at)


def answer_invitation(session: Session, actor: Actor, participant_id: int, accept: bool) -> InvitationPublic:
    """The invited organisation accepts (it takes part from now on) or declines."""
    p = session.get(EngagementParticipant, participant_id)
    if p is None or not may_answer_invitation(actor, p.organisation_id):
        raise NotFound(msg("Invitation {participant_id} not found.", participant_id=participant_id))
    eng = session.get(Engagement, p.engagement_id)
    if p.status != ParticipantStatus.invited:
        raise Conflict(msg("Invitation {p_id} is {p_status} already.", p_id=p.id, p_status=p.status), current=p.status)
    if eng.state in FINAL:
        raise Conflict(msg("Engagement {eng_id} is {eng_state}.",
                           eng_id=eng.id, eng_state=eng.state), current=eng.state)
    status = ParticipantStatus.active if accept else ParticipantStatus.declined
    p.status, p.responded_at, p.responded_by_id = status, utcnow(), actor.user_id
    session.add(p)
    session.flush()
    audit.record(session, actor, "engagement_participant", p.id, "accept" if accept else "decline",
                 {"status": [ParticipantStatus.invited.value, status.value]})
    _event(session, eng, EventType.engagement_participant_answered, also=(p.organisation_id,), participant_id=p.id,
           organisation_id=p.organisation_id, role=p.role, status=status.value)
    return _invitation_public(session, actor, p)


# --- transitions -------------------------------------------------------------------------------------------------

def _animal_facilities(session: Session, eng: Engagement) -> list[int]:
    """The organisations taking part as animal facility (active participants of a facility's kind)."""
    return list(session.exec(
        select(EngagementParticipant.organisation_id)
        .join(Organisation, Organisation.id == EngagementParticipant.organisation_id)
        .where(EngagementParticipant.engagement_id == eng.id,
               EngagementParticipant.role == ParticipantRole.animal_facility,
               EngagementParticipant.status == ParticipantStatus.active,
               Organisation.kind.in_([k.value for k in ANIMAL_FACILITY_KINDS]))).all())


def _lead_states_animal_capability(session: Session, eng: Engagement) -> bool:
    return session.exec(select(Capability.id).where(
        Capability.organisation_id == eng.lead_org_id, Capability.status == CapabilityStatus.active,
        json_list_contains(session, Capability.stages, "animal_trial"))).first() is not None


def gather_facts(session: Session, eng: Engagement,
                 documents_required: frozenset[str] = frozenset()) -> EngagementFacts:
    """What the guards need to know about this engagement, read from the database. Evidence of a kind in
    ``documents_required`` counts only with a document attached."""
    documented = set(session.exec(select(Document.milestone_id).where(Document.engagement_id == eng.id)).all())
    milestones: dict[str, list[str]] = {}
    for mid, kind, ref in session.exec(select(Milestone.id, Milestone.kind, Milestone.reference)
                                       .where(Milestone.engagement_id == eng.id)).all():
        if kind not in documents_required or mid in documented:
            milestones.setdefault(kind, []).append(ref or "")
    return EngagementFacts(hospital_accepted=eng.hospital_accepted_at is not None,
                           lead_accepted=eng.lead_accepted_at is not None,
                           milestones={k: tuple(v) for k, v in milestones.items()},
                           animal_facility_participant=bool(_animal_facilities(session, eng)),
                           lead_states_animal_capability=_lead_states_animal_capability(session, eng),
                           documents_required=frozenset(documents_required))


def _follow_need(session: Session, actor: Actor, eng: Engagement) -> None:
    need = session.get(Need, eng.need_id)
    live = any(counts_as_partnership(EngagementState(s), EngagementState(h) if h else None)
               for s, h in session.exec(select(Engagement.state, Engagement.held_from)
                                        .where(Engagement.need_id == need.id)).all())
    before = need.status
    needs.follow_engagements(session, actor, need, live, eng.id)
    if need.status != before:
        events.emit(session, EventType.need_status_changed, {"need_id": need.id, "from": before, "to": need.status,
                                                     "engagement_id": eng.id}, [need.hospital_id])


def transition(session: Session, actor: Actor, engagement_id: int, data: TransitionCreate, expected: int,
               documents_required: frozenset[str] = frozenset()) -> Engagement:
    """Move the engagement to ``data.target``: the table, then the guards, then a compare-and-swap on the version
    read (of two concurrent transitions from one version exactly one wins), then the history row."""
    eng = get_visible(session, actor, engagement_id)
    side = require_engagement_side(actor, eng)
    check_version(eng, expected)
    frm = EngagementState(eng.state)
    pathway = Pathway(eng.pathway)
    if data.pathway is not None:  # chosen at intent, from the product's class; fixed after
        if EngagementState(data.target) != PATHWAY_CHOSEN_BY:
            raise Invalid("pathway", msg("The pathway is chosen with the step into '{PATHWAY_CHOSEN_BY}'; it is "
                                         "'{pathway}' now.", PATHWAY_CHOSEN_BY=PATHWAY_CHOSEN_BY, pathway=pathway))
        pathway = data.pathway
    pos = Position(frm, EngagementState(eng.held_from) if eng.held_from else None, pathway)
    comment = data.comment.strip()
    new = apply_transition(pos, data.target, gather_facts(session, eng, documents_required), comment)
    may_take_step(side, new.state.value, TAKEN_BY.get(new.state))
    occurred = _occurred_at(session, eng, data.occurred_at)
    values = {"state": new.state.value, "held_from": new.held_from.value if new.held_from else None,
              "pathway": pathway.value}
    if new.state in REASON_REQUIRED:
        values["end_reason"] = comment
    compare_and_swap(session, Engagement, eng, expected, values)
    _append_history(session, actor, eng, frm, new.state, comment, occurred)
    audit.record(session, actor, ENTITY, eng.id, f"transition:{new.state}",
                 {"state": [frm.value, new.state.value], "comment": [None, comment or None]})
    _event(session, eng, EventType.engagement_transition, from_state=frm.value, to_state=new.state.value,
           comment=comment, actor_organisation_id=actor.organisation_id)
    _follow_need(session, actor, eng)
    session.flush()
    return eng


# --- milestones and documents ------------------------------------------------------------------------------------

def add_milestone(session: Session, actor: Actor, engagement_id: int, data: MilestoneCreate) -> Milestone:
    eng = get_visible(session, actor, engagement_id)
    participant_orgs = {p.organisation_id for p in _participants(session, eng)}
    responsible = data.responsible_org_id or actor.organisation_id
    may_record_milestone(actor, eng, participant_orgs, responsible)
    owner = EVIDENCE_OWNER.get(data.kind)
    if owner is not None:
        may_record_evidence(actor, data.kind.value, _owner_orgs(session, eng, owner), OWNER_NAMES[owner],
                            responsible)
    if eng.state in ENDED:
        raise Conflict(msg("Engagement {eng_id} is {eng_state}; it takes no more milestones.",
                           eng_id=eng.id, eng_state=eng.state), current=eng.state)
    if responsible not in {eng.hospital_id, eng.lead_org_id} | participant_orgs:
        raise Invalid("responsible_org_id", msg("The responsible party is the hospital, the lead company or a "
                                                "participant."))
    if data.occurred_on > local_today():
        raise Invalid("occurred_on", msg("A milestone cannot be dated in the future."))
    if data.occurred_on < (began := started_on(session, eng)):
        raise Invalid("occurred_on", msg("The partnership began on {began}; a milestone cannot be dated before it.",
                                         began=began))
    m = Milestone(engagement_id=eng.id, kind=data.kind, title=data.title, occurred_on=data.occurred_on,
                  reference=data.reference, responsible_org_id=responsible, recorded_by_id=actor.user_id,
                  recorded_by_org_id=actor.organisation_id, engagement_state=eng.state, notes=data.notes)
    session.add(m)
    session.flush()
    audit.record(session, actor, "milestone", m.id, "create",
                 {"engagement_id": [None, eng.id], **audit.created_fields(m, ["kind", "title", "occurred_on",
                                                                              "reference", "responsible_org_id"])})
    _event(session, eng, EventType.engagement_milestone, milestone_id=m.id, kind=m.kind, reference=m.reference)
    return m


def _owner_orgs(session: Session, eng: Engagement, owner: Owner) -> set[int]:
    """The organisations that may certify evidence of ``owner``'s kind in this partnership."""
    if owner == Owner.hospital:
        return {eng.hospital_id}
    if owner == Owner.lead:
        return {eng.lead_org_id}
    facilities = set(_animal_facilities(session, eng))
    if not facilities and _lead_states_animal_capability(session, eng):
        return {eng.lead_org_id}  # the lead runs the animal trial itself
    return facilities


def get_milestone(session: Session, eng: Engagement, milestone_id: int) -> Milestone:
    m = session.get(Milestone, milestone_id)
    if m is None or m.engagement_id != eng.id:
        raise NotFound(msg("Milestone {milestone_id} not found.", milestone_id=milestone_id))
    return m


def attach_document(session: Session, actor: Actor, engagement_id: int, milestone_id: int, filename: str,
                    declared_type: str | None, stream: BinaryIO, *, folder: Path, max_bytes: int) -> Document:
    eng = get_visible(session, actor, engagement_id)
    m = get_milestone(session, eng, milestone_id)
    if engagement_side(actor, eng) is None:
        participant_orgs = {p.organisation_id for p in _participants(session, eng)}
        may_record_milestone(actor, eng, participant_orgs, m.responsible_org_id)
    up = storage.accept_upload(filename, declared_type, stream, folder=folder, max_bytes=max_bytes)
    name, digest = up.filename, up.sha256
    doc = Document(engagement_id=eng.id, milestone_id=m.id, filename=name, content_type=up.content_type, size=up.size,
                   sha256=digest, uploaded_by_id=actor.user_id, organisation_id=actor.organisation_id)
    session.add(doc)
    session.flush()
    audit.record(session, actor, "document", doc.id, "create",
                 {"engagement_id": [None, eng.id], "milestone_id": [None, m.id], "filename": [None, name],
                  "sha256": [None, digest], "size": [None, up.size]})
    _event(session, eng, EventType.engagement_document, milestone_id=m.id, document_id=doc.id, filename=name)
    return doc


def document_public(session: Session, actor: Actor, eng: Engagement, doc: Document) -> DocumentPublic:
    return _document_public(eng, doc, disclosure_for(session, actor, eng))


def open_document(session: Session, actor: Actor, engagement_id: int, document_id: int,
                  folder: Path) -> tuple[Document, Path]:
    eng = get_visible(session, actor, engagement_id)
    may_download_documents(actor)
    doc = session.get(Document, document_id)
    if doc is None or doc.engagement_id != eng.id:
        raise NotFound(msg("Document {document_id} not found.", document_id=document_id))
    return doc, storage.path_of(folder, doc.sha256, msg("document {document_id}", document_id=document_id))


__all__ = ["Brokered", "EngagementFilters", "PayloadTooLarge", "UnsupportedMediaType", "accept", "add_milestone",
           "add_participant", "answer_invitation", "attach_document", "create_engagement", "detail", "gather_facts",
           "get_visible", "history", "history_public", "list_engagements", "list_invitations", "milestones_public",
           "open_document", "sniff", "started_on", "to_public", "transition"]
