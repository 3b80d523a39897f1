"""Chain links between organisations: declared by one side and confirmed by the other, plus the links partnerships
imply (derived, never stored), and each track's chain leaders (set by the commission)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Invalid, NotFound
from app.i18n import msg
from app.models import Engagement, EngagementParticipant, Need, Organisation
from app.models.common import utcnow
from app.models.engagement import ParticipantStatus
from app.models.enums import OrgKind
from app.models.event import EventType
from app.models.industry import (
    ChainLeader,
    ChainLeaderSet,
    ChainLink,
    ChainLinkAnswer,
    ChainLinkCreate,
    ChainLinkPublic,
    LinkKind,
    LinkStatus,
)
from app.policy import (
    Actor,
    chain_link_visible,
    hospital_identity_visible_many,
    may_answer_link,
    may_propose_link,
    may_set_chain_leader,
)
from app.services import audit, events, organisations
from app.services.common import org_refs_by_ids

ENTITY = "chain_link"
# A partnership participant's role → the link it implies towards the lead company.
ROLE_LINK = {"animal_facility": LinkKind.animal_trials, "manufacturing": LinkKind.contract_manufacturer,
             "clinical_site": LinkKind.clinical_partner}


def get_visible(session: Session, actor: Actor, link_id: int) -> ChainLink:
    link = session.exec(select(ChainLink).where(ChainLink.id == link_id, chain_link_visible(actor))).first()
    if link is None:
        raise NotFound(msg("Chain link {link_id} not found.", link_id=link_id))
    return link


def propose(session: Session, actor: Actor, body: ChainLinkCreate) -> ChainLink:
    if body.from_org_id == body.to_org_id:
        raise Invalid("to_org_id", msg("An organisation cannot link to itself."))
    may_propose_link(actor, body.from_org_id, body.to_org_id)
    for field, org_id in (("from_org_id", body.from_org_id), ("to_org_id", body.to_org_id)):
        org = session.get(Organisation, org_id)
        if org is None:
            raise Invalid(field, msg("Organisation {org_id} not found.", org_id=org_id))
        if org.kind == OrgKind.commission:
            raise Invalid(field, msg("The commission is not part of the chain."))
    link = session.exec(select(ChainLink).where(ChainLink.from_org_id == body.from_org_id,
                                                ChainLink.to_org_id == body.to_org_id,
                                                ChainLink.kind == body.kind)).first()
    if link is not None and link.status != LinkStatus.declined:
        raise Conflict(msg("This link exists already ({status}).", status=link.status), link_id=link.id)
    if link is None:
        link = ChainLink(from_org_id=body.from_org_id, to_org_id=body.to_org_id, kind=body.kind,
                         proposed_by_org_id=actor.organisation_id)
    link.track, link.note, link.status = body.track, body.note, LinkStatus.pending  # a declined link proposed again
    link.proposed_by_org_id, link.proposed_by_user_id = actor.organisation_id, actor.user_id
    link.answered_at = link.answered_by_user_id = None
    link.updated_at = utcnow()
    session.add(link)
    try:
        session.flush()
    except IntegrityError as e:  # the same link proposed concurrently
        raise Conflict(msg("This link exists already ({status}).", status=LinkStatus.pending)) from e
    audit.record(session, actor, ENTITY, link.id, "propose", audit.created_fields(link, ["from_org_id", "to_org_id",
                                                                                      "kind", "track", "note"]))
    other = body.to_org_id if actor.organisation_id == body.from_org_id else body.from_org_id
    events.emit(session, EventType.chain_link_proposed, {"link_id": link.id}, [other])
    return link


def answer(session: Session, actor: Actor, link_id: int, body: ChainLinkAnswer) -> ChainLink:
    link = get_visible(session, actor, link_id)
    may_answer_link(actor, link)
    if link.status != LinkStatus.pending:
        raise Conflict(msg("This link was answered already ({status}).", status=link.status))
    link.status = LinkStatus.confirmed if body.confirm else LinkStatus.declined
    if body.note is not None:
        link.note = body.note
    link.answered_at = link.updated_at = utcnow()
    link.answered_by_user_id = actor.user_id
    session.add(link)
    session.flush()
    audit.record(session, actor, ENTITY, link.id, "answer", {"status": [LinkStatus.pending.value, link.status]})
    events.emit(session, EventType.chain_link_answered, {"link_id": link.id, "status": link.status},
                [link.proposed_by_org_id])
    return link


def withdraw(session: Session, actor: Actor, link_id: int) -> None:
    """Either side removes a link (a confirmed one too: a supplier relationship ends)."""
    link = get_visible(session, actor, link_id)
    may_propose_link(actor, link.from_org_id, link.to_org_id)
    audit.record(session, actor, ENTITY, link.id, "delete", {"status": [link.status, None]})
    session.delete(link)
    session.flush()


@dataclass(frozen=True)
class LinkFilters:
    organisation_id: int | None = None
    status: LinkStatus | None = None
    track: str | None = None


def list_links(session: Session, actor: Actor, f: LinkFilters) -> list[ChainLink]:
    stmt = select(ChainLink).where(chain_link_visible(actor))
    if f.organisation_id is not None:
        stmt = stmt.where(or_(ChainLink.from_org_id == f.organisation_id, ChainLink.to_org_id == f.organisation_id))
    if f.status is not None:
        stmt = stmt.where(ChainLink.status == f.status)
    if f.track is not None:
        stmt = stmt.where(ChainLink.track == f.track)
    return list(session.exec(stmt.order_by(ChainLink.id)))


def to_public_many(session: Session, links: list[ChainLink]) -> list[ChainLinkPublic]:
    refs = org_refs_by_ids(session, {o for x in links for o in (x.from_org_id, x.to_org_id)})
    return [ChainLinkPublic.model_validate({**x.model_dump(), "source": refs[x.from_org_id][0],
                                            "target": refs[x.to_org_id][0]}) for x in links]


@dataclass(frozen=True)
class Derived:
    source: int
    target: int
    kind: str
    engagement_id: int
    tracks: tuple[str, ...]


def derived_links(session: Session, actor: Actor) -> list[Derived]:
    """The links partnerships imply: the hospital is the lead company's clinical partner once it accepted the
    partnership; an active participant with an animal-facility, manufacturing or clinical-site role is the lead's
    animal-trial provider, contract manufacturer or clinical partner. A partnership on an anonymous need shows only
    to those who may see its hospital (``policy.hospital_identity_visible_many``)."""
    rows = session.execute(select(Engagement.id, Engagement.need_id, Engagement.hospital_id, Engagement.lead_org_id)
                           .where(Engagement.hospital_accepted_at.is_not(None))).all()
    if not rows:
        return []
    needs = {n.id: n for n in session.exec(select(Need).where(Need.id.in_({r.need_id for r in rows})))}
    shown = hospital_identity_visible_many(actor, list(needs.values()), session)
    rows = [r for r in rows if r.need_id in shown]
    parts = session.execute(select(EngagementParticipant.engagement_id, EngagementParticipant.organisation_id,
                                   EngagementParticipant.role)
                            .where(EngagementParticipant.engagement_id.in_([r.id for r in rows]),
                                   EngagementParticipant.status == ParticipantStatus.active)).all()
    by_eng: dict[int, list] = {}
    for p in parts:
        by_eng.setdefault(p.engagement_id, []).append(p)
    out = []
    for r in rows:
        tracks = tuple(needs[r.need_id].tracks)
        out.append(Derived(r.hospital_id, r.lead_org_id, LinkKind.clinical_partner, r.id, tracks))
        for p in by_eng.get(r.id, []):
            kind = ROLE_LINK.get(p.role)
            if kind is not None and p.organisation_id != r.lead_org_id:
                out.append(Derived(p.organisation_id, r.lead_org_id, kind, r.id, tracks))
    return out


# --- chain leaders -------------------------------------------------------------------------------------------------

def leaders(session: Session, track: str | None = None) -> list[ChainLeader]:
    stmt = select(ChainLeader).order_by(ChainLeader.track, ChainLeader.organisation_id)
    return list(session.exec(stmt.where(ChainLeader.track == track) if track else stmt))


def set_leader(session: Session, actor: Actor | None, body: ChainLeaderSet) -> ChainLeader:
    if actor is not None:
        may_set_chain_leader(actor)
    org = session.get(Organisation, body.organisation_id)
    if org is None:
        raise Invalid("organisation_id", msg("Organisation {org_id} not found.", org_id=body.organisation_id))
    if org.kind not in (OrgKind.enterprise, OrgKind.lab, OrgKind.platform, OrgKind.hospital):
        raise Invalid("organisation_id", msg("The commission is not part of the chain."))
    row = session.exec(select(ChainLeader).where(ChainLeader.track == body.track,
                                                 ChainLeader.organisation_id == body.organisation_id)).first()
    if row is not None:
        raise Conflict(msg("This organisation leads this track's chain already."))
    row = ChainLeader(track=body.track, organisation_id=body.organisation_id,
                      set_by_org_id=actor.organisation_id if actor else None)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as e:  # the same leader named concurrently
        raise Conflict(msg("This organisation leads this track's chain already.")) from e
    audit.record(session, actor, "chain_leader", row.id, "create", {"track": [None, row.track],
                                                                    "organisation_id": [None, org.id]})
    return row


def remove_leader(session: Session, actor: Actor, track: str, org_id: int) -> None:
    may_set_chain_leader(actor)
    organisations.get(session, org_id)
    n = session.execute(delete(ChainLeader).where(ChainLeader.track == track,
                                                  ChainLeader.organisation_id == org_id)).rowcount
    if not n:
        raise NotFound(msg("This organisation is not a chain leader of this track."))
    audit.record(session, actor, "chain_leader", None, "delete", {"track": [track, None], "organisation_id":
                                                                  [org_id, None]})
