"""Who may see and do what: every authorisation rule in one place.

List endpoints and detail endpoints use the same visibility clauses, so a list can never show a row that its
detail endpoint would hide (and vice versa). What a caller may not see is reported as 404, never 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.errors import Forbidden
from app.i18n import msg
from app.models import Capability, Engagement, EngagementParticipant, Introduction, Need, Thread
from app.models.engagement import ParticipantStatus
from app.models.enums import COMPANY_KINDS, CapabilityStatus, Confidentiality, NeedStatus, OrgKind, Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None: the operator's CLI or the seed loader acting for an organisation
    organisation_id: int
    org_kind: OrgKind
    role: Role
    request_id: str | None = None  # the server's id of the request
    client_request_id: str | None = None  # the X-Request-ID the caller sent, kept beside ours (audit trail)

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.commission, Role.admin)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(msg("This action needs one of the roles: {allowed}.", allowed=allowed))


# --- needs -------------------------------------------------------------------------------------------------------

def need_visible(actor: Actor) -> ColumnElement[bool]:
    """SQL clause: the needs this actor may read."""
    if actor.reads_everything:
        return true()
    engaged = Need.id.in_(select(Engagement.need_id).where(engagement_party(actor)))
    if actor.role == Role.hospital_staff:
        return or_(Need.hospital_id == actor.organisation_id, engaged)
    if actor.role == Role.company_staff:
        return or_(Need.status == NeedStatus.open, engaged)  # and the needs of its partnerships, in any status
    return Need.id == -1  # pragma: no cover - unknown role sees nothing


def can_manage_need(actor: Actor, need: Need) -> bool:
    return actor.role == Role.hospital_staff and need.hospital_id == actor.organisation_id


def hospital_identity_visible(actor: Actor, need: Need, session: Session) -> bool:
    """Anonymous needs hide the hospital from companies until the hospital accepts them as partners: once the
    hospital's acceptance is recorded on an engagement of this need (a proposal it made or accepted, so also every
    engagement at or after intent_signed), that engagement's lead company and participants see the hospital. Once
    shown it stays shown, whatever becomes of the engagement later (what was seen cannot be unseen)."""
    return need.id in hospital_identity_visible_many(actor, [need], session)


def hospital_identity_visible_many(actor: Actor, needs: list[Need], session: Session) -> set[int]:
    """``hospital_identity_visible`` for a page of needs at once (one query at most): the ids of the needs whose
    hospital the actor may see."""
    shown, ask = set(), set()
    for need in needs:
        if (need.confidentiality == Confidentiality.public or actor.reads_everything
                or (actor.role == Role.hospital_staff and need.hospital_id == actor.organisation_id)):
            shown.add(need.id)
        else:
            ask.add(need.id)
    shown.update(accepted_by_hospital(actor, ask, session))
    return shown


def accepted_by_hospital(actor: Actor, need_ids: set[int], session: Session) -> set[int]:
    """Of ``need_ids``, those on which the hospital accepted the actor's organisation as a partner (an engagement
    of the need the hospital accepted, the actor a party to it). One query; none for an empty set."""
    if not need_ids:
        return set()
    return set(session.scalars(select(Engagement.need_id).distinct().where(
        Engagement.need_id.in_(need_ids), Engagement.hospital_accepted_at.is_not(None), engagement_party(actor))))


@dataclass(frozen=True)
class Disclosure:
    """Which organisations an actor may learn of in what it reads about one need: its engagements, milestones,
    documents, history, participants, notifications. Every organisation or person reference about a need leaves the
    server through ``org`` / ``user`` (a hidden one becomes null; ``party`` still says which side acted)."""

    hidden: frozenset[int] = frozenset()

    def shows(self, org_id: int | None) -> bool:
        return org_id is None or org_id not in self.hidden

    def org(self, org_id: int | None) -> int | None:
        return org_id if self.shows(org_id) else None

    def user(self, user_id: int | None, org_id: int | None) -> int | None:
        """A person is hidden with their organisation."""
        return user_id if self.shows(org_id) else None


SHOW_ALL = Disclosure()


def disclosure(actor: Actor, need: Need, session: Session, shown: bool | None = None) -> Disclosure:
    """An anonymous need's hospital is hidden until it accepts the actor's organisation
    (``hospital_identity_visible``); ``shown``: that answer, when the caller has it already."""
    if shown is None:
        shown = hospital_identity_visible(actor, need, session)
    return SHOW_ALL if shown else Disclosure(frozenset({need.hospital_id}))


def may_read_need_matches(actor: Actor, need: Need) -> None:
    """A need's ranked matches (and the hospital's verdicts on them) are for its hospital and the commission; not for
    other hospitals that see the need as a partnership's clinical site, nor for companies."""
    if not (can_manage_need(actor, need) or actor.reads_everything):
        raise Forbidden(msg("Only the need's hospital and the commission read its ranked matches."))


def may_read_capability_matches(actor: Actor, cap: Capability) -> None:
    if not (can_manage_capability(actor, cap) or actor.reads_everything):
        raise Forbidden(msg("Only the capability's organisation and the commission read its ranked matches."))


def may_add_participant(actor: Actor, shown: bool, org_kind: OrgKind) -> None:
    """While the need's hospital is hidden from the actor, the actor adds no hospital as a participant: the answer
    for the hidden hospital itself ('a party already') would name it."""
    if not shown and org_kind == OrgKind.hospital:
        raise Forbidden(msg("Clinical sites are added once the need's hospital has accepted the partnership."))


# --- introductions (the commission brokers) ------------------------------------------------------------------------

def introduction_visible(actor: Actor) -> ColumnElement[bool]:
    """The commission (and admin) read every introduction; a company those to its capabilities; a hospital those of
    its needs (an anonymous need's hospital stays hidden from the company: ``disclosure``)."""
    if actor.reads_everything:
        return true()
    if actor.role == Role.company_staff:
        return Introduction.organisation_id == actor.organisation_id
    if actor.role == Role.hospital_staff:
        return Introduction.need_id.in_(select(Need.id).where(Need.hospital_id == actor.organisation_id))
    return Introduction.id == -1  # pragma: no cover - unknown role sees nothing


def may_invite(actor: Actor, role: Role) -> None:
    """Who brings people in: an admin, into any role; the commission, into the working roles (never an admin: one
    commission account must not be able to mint the accounts that govern the service)."""
    if actor.role == Role.admin:
        return
    if actor.role == Role.commission and role != Role.admin:
        return
    raise Forbidden(msg("Only an administrator, or the commission for non-administrator roles, invites people."))


def may_introduce(actor: Actor) -> None:
    """Brokering is the commission's: it introduces a need to companies (admins operate the service, they do not
    broker)."""
    require_role(actor, Role.commission)


def may_answer_introduction(actor: Actor, intro: Introduction) -> None:
    if not (actor.role == Role.company_staff and actor.organisation_id == intro.organisation_id):
        raise Forbidden(msg("The introduced company answers an introduction."))


def may_decide_introduction(actor: Actor, need: Need) -> None:
    if not can_manage_need(actor, need):
        raise Forbidden(msg("The need's hospital accepts or declines an introduction."))


# --- engagements (partnerships) ----------------------------------------------------------------------------------

def engagement_party(actor: Actor) -> ColumnElement[bool]:
    """SQL clause: engagements the actor's organisation is a party to (hospital, lead company or a participant that
    accepted its invitation: an invited organisation sees the invitation only)."""
    org = actor.organisation_id
    return or_(Engagement.hospital_id == org, Engagement.lead_org_id == org,
               Engagement.id.in_(select(EngagementParticipant.engagement_id)
                                 .where(EngagementParticipant.organisation_id == org,
                                        EngagementParticipant.status == ParticipantStatus.active)))


def engagement_visible(actor: Actor) -> ColumnElement[bool]:
    """The parties read their engagements; the commission (and admin) read all of them."""
    if actor.reads_everything:
        return true()
    return engagement_party(actor)


def engagement_side(actor: Actor, eng: Engagement) -> str | None:
    """'hospital' or 'lead' when the actor may drive the engagement (accept, transitions, participants), else None."""
    if actor.role == Role.hospital_staff and eng.hospital_id == actor.organisation_id:
        return "hospital"
    if actor.role == Role.company_staff and eng.lead_org_id == actor.organisation_id:
        return "lead"
    return None


def require_engagement_side(actor: Actor, eng: Engagement) -> str:
    side = engagement_side(actor, eng)
    if side is None:
        raise Forbidden(msg("Only the hospital's staff and the lead company's staff may do this; the commission "
                            "reads."))
    return side


def may_record_milestone(actor: Actor, eng: Engagement, participant_orgs: set[int], responsible_org_id: int) -> None:
    """Hospital and lead record milestones for any party; a participant records its own milestones only."""
    if engagement_side(actor, eng) is not None:
        return
    if actor.role in (Role.hospital_staff, Role.company_staff) and actor.organisation_id in participant_orgs:
        if responsible_org_id != actor.organisation_id:
            raise Forbidden(msg("A participant records its own milestones only."))
        return
    raise Forbidden(msg("Only the engagement's parties record milestones; the commission reads."))


def may_record_evidence(actor: Actor, kind: str, owner_orgs: set[int], owner_name: str,
                        responsible_org_id: int) -> None:
    """Evidence belongs to its owner (``app.workflow.vocab.EVIDENCE_OWNER``): only that party records it, and for
    itself; the others read it."""
    if actor.organisation_id not in owner_orgs or responsible_org_id != actor.organisation_id:
        raise Forbidden(msg("A '{kind}' record is certified by {owner_name}: only {owner_name} records it.",
                            kind=kind, owner_name=owner_name),
                        owner=owner_name)


def may_take_step(side: str, target: str, taken_by: str | None) -> None:
    """A step that concerns one side (``app.workflow.states.TAKEN_BY``) is that side's to take."""
    if taken_by is not None and side != taken_by:
        who = "the hospital" if taken_by == "hospital" else "the lead company"
        raise Forbidden(msg("Entering '{target}' is confirmed by {who}: {who} takes this step.",
                            target=target, who=who), taken_by=taken_by)


def may_answer_invitation(actor: Actor, invited_org_id: int) -> bool:
    return actor.role in (Role.hospital_staff, Role.company_staff) and actor.organisation_id == invited_org_id


def may_download_documents(actor: Actor) -> None:
    """Documents go to the engagement's parties (whom engagement_visible already limits to) and the commission;
    not to the operators' admin accounts."""
    if actor.role == Role.admin:
        raise Forbidden(msg("Engagement documents are for its parties and the commission."))


# --- conversations ----------------------------------------------------------------------------------------------

def _brokered_needs(actor: Actor):
    return select(Introduction.need_id).where(Introduction.introduced_by_org_id == actor.organisation_id)


def thread_visible(actor: Actor, commission_reads_all: bool) -> ColumnElement[bool]:
    """SQL clause: the conversations the actor reads. A (need, company) thread: the need's hospital and that company;
    an engagement's thread: its parties (hospital, lead, active participants). The commission reads the threads of
    the needs it brokered (an introduction), every thread when ``commission_reads_all``. Admins operate the service:
    they read no conversation."""
    if actor.role == Role.commission:
        return true() if commission_reads_all else Thread.need_id.in_(_brokered_needs(actor))
    on_engagement = Thread.engagement_id.in_(select(Engagement.id).where(engagement_party(actor)))
    if actor.role == Role.hospital_staff:
        return or_(and_(Thread.engagement_id.is_(None),
                        Thread.need_id.in_(select(Need.id).where(Need.hospital_id == actor.organisation_id))),
                   on_engagement)
    if actor.role == Role.company_staff:
        return or_(Thread.company_org_id == actor.organisation_id, on_engagement)
    return false()


def engagement_thread_visible(actor: Actor, commission_reads_all: bool) -> ColumnElement[bool]:
    """SQL clause on engagements: whose conversation the actor reads (the same rule as ``thread_visible``, for an
    engagement whose thread has no message yet)."""
    if actor.role == Role.commission:
        return true() if commission_reads_all else Engagement.need_id.in_(_brokered_needs(actor))
    if actor.role in (Role.hospital_staff, Role.company_staff):
        return engagement_party(actor)
    return false()


def need_thread_openable(actor: Actor) -> ColumnElement[bool]:
    """SQL clause on needs: where a company may open its conversation with the hospital: a need it may read (open,
    or one of its partnerships) or one the commission introduced to it. The company writes first (or its interest
    comment does); the hospital answers."""
    if actor.role != Role.company_staff:
        return false()
    return or_(need_visible(actor), Need.id.in_(select(Introduction.need_id)
                                                .where(Introduction.organisation_id == actor.organisation_id)))


def thread_side(actor: Actor, need: Need, company_org_id: int | None, eng: Engagement | None,
                participant_orgs: set[int]) -> str | None:
    """Which side the actor writes for in a conversation ('hospital', 'company', 'lead', 'participant'), or None:
    the commission (and anybody else) reads only."""
    if actor.role not in (Role.hospital_staff, Role.company_staff):
        return None
    org = actor.organisation_id
    if eng is None:
        if can_manage_need(actor, need):
            return "hospital"
        return "company" if actor.role == Role.company_staff and org == company_org_id else None
    if org == eng.hospital_id and actor.role == Role.hospital_staff:
        return "hospital"
    if org == eng.lead_org_id:
        return "lead"
    return "participant" if org in participant_orgs else None


def may_post_message(side: str | None) -> None:
    if side is None:
        raise Forbidden(msg("Only the conversation's parties write in it; the commission reads."))


def contact_visible_many(actor: Actor, needs: list[Need], session: Session) -> set[int]:
    """The ids of the needs whose contact person the actor may see: its hospital, the commission, and the companies
    (and other organisations) the hospital accepted as partners on it (an engagement of the need the hospital
    accepted, with the actor's organisation its lead or an active participant). One query at most."""
    shown, ask = set(), set()
    for need in needs:
        if actor.role == Role.commission or can_manage_need(actor, need):
            shown.add(need.id)
        elif need.contact_name or need.contact_email or need.contact_phone:
            ask.add(need.id)
    shown.update(accepted_by_hospital(actor, ask, session))
    return shown


def org_contacts_visible(actor: Actor, org_ids: set[int], session: Session) -> set[int]:
    """The organisations (of ``org_ids``) whose contact person the actor may see: its own, and its partners in an
    engagement the hospital accepted (hospital, lead, active participants); the commission and admins see all.
    Two queries at most."""
    if actor.reads_everything:
        return set(org_ids)
    shown = {actor.organisation_id} & org_ids
    if not org_ids - shown:
        return shown
    engs = session.execute(select(Engagement.id, Engagement.hospital_id, Engagement.lead_org_id).where(
        Engagement.hospital_accepted_at.is_not(None), engagement_party(actor))).all()
    partners = {o for e in engs for o in e[1:]}
    if engs:
        partners.update(session.scalars(select(EngagementParticipant.organisation_id).where(
            EngagementParticipant.engagement_id.in_([e[0] for e in engs]),
            EngagementParticipant.status == ParticipantStatus.active)))
    return shown | (partners & org_ids)


# --- capabilities ------------------------------------------------------------------------------------------------

def capability_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.reads_everything:
        return true()
    if actor.role == Role.hospital_staff:
        return Capability.status == CapabilityStatus.active
    if actor.role == Role.company_staff:
        return Capability.organisation_id == actor.organisation_id
    return Capability.id == -1  # pragma: no cover


def can_manage_capability(actor: Actor, cap: Capability) -> bool:
    return actor.role == Role.company_staff and cap.organisation_id == actor.organisation_id


def require_company(actor: Actor) -> None:
    require_role(actor, Role.company_staff)
    if actor.org_kind not in COMPANY_KINDS:  # pragma: no cover - guarded at user creation
        raise Forbidden(msg("Only enterprises, labs and platforms register capabilities."))
