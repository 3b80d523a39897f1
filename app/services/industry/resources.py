"""Platforms' resources (instruments, animal models, facility certifications, pilot lines) and the booking requests
hospitals and companies send them: a request, the platform's inbox, accept or decline (no calendar)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update as sql_update
from sqlmodel import Session, select

from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.i18n import msg
from app.models import Capability, Organisation
from app.models.common import utcnow
from app.models.enums import CapabilityStatus
from app.models.event import EventType
from app.models.industry import (
    BookingAnswer,
    BookingCreate,
    BookingPublic,
    BookingRequest,
    BookingStatus,
    PlatformResource,
    ResourceCreate,
    ResourcePublic,
    ResourceUpdate,
)
from app.policy import Actor, booking_side, booking_visible, may_manage_resources, may_request_booking
from app.services import audit, events
from app.services.common import org_refs_by_ids
from app.services.listing import PageParams, paginate, text_match
from app.services.matching.persisted import capabilities_written

ENTITY, BOOKING = "platform_resource", "booking_request"
SORTABLE = {"id": PlatformResource.id, "name": PlatformResource.name, "created_at": PlatformResource.created_at}


def get(session: Session, resource_id: int) -> PlatformResource:
    res = session.get(PlatformResource, resource_id)
    if res is None:
        raise NotFound(msg("Resource {resource_id} not found.", resource_id=resource_id))
    return res


def create(session: Session, actor: Actor, body: ResourceCreate, index=None) -> PlatformResource:
    may_manage_resources(actor, actor.organisation_id, actor.org_kind)
    res = PlatformResource(organisation_id=actor.organisation_id, **body.model_dump())
    session.add(res)
    session.flush()
    audit.record(session, actor, ENTITY, res.id, "create", audit.created_fields(res, list(body.model_fields_set)))
    _documents_changed(session, res.organisation_id, index)
    return res


def _documents_changed(session: Session, org_id: int, index=None) -> None:
    """The organisation's resources are part of its capabilities' documents (matching.documents.resources_text):
    a new version tells every process's match index to read them again; with ``index`` (a request), their vectors
    and stored matches are refreshed now, as when a capability is edited."""
    session.execute(sql_update(Capability).where(Capability.organisation_id == org_id)
                    .values(version=Capability.version + 1, updated_at=utcnow()))
    if index is not None:
        caps = session.exec(select(Capability).where(Capability.organisation_id == org_id,
                                                     Capability.status == CapabilityStatus.active)).all()
        for cap in caps:
            session.refresh(cap)  # the bulk UPDATE bypassed the identity map
        if caps:
            capabilities_written(session, index, caps)


def update(session: Session, actor: Actor, resource_id: int, body: ResourceUpdate, index=None) -> PlatformResource:
    res = get(session, resource_id)
    org = session.get(Organisation, res.organisation_id)
    may_manage_resources(actor, res.organisation_id, org.kind)
    values = {k: v for k, v in body.model_dump(exclude_unset=True).items()
              if v is not None or k not in ("name", "active", "description")}  # null leaves a required field
    changes = audit.diff(res.model_dump(), values)
    if changes:
        for k, v in values.items():
            setattr(res, k, v)
        res.updated_at = utcnow()
        session.add(res)
        session.flush()
        audit.record(session, actor, ENTITY, res.id, "update", changes)
        _documents_changed(session, res.organisation_id, index)
    return res


@dataclass(frozen=True)
class ResourceFilters:
    q: str | None = None
    kind: str | None = None
    organisation_id: int | None = None
    include_inactive: bool = False


def search(session: Session, f: ResourceFilters, page: PageParams):
    """The resources catalogue (public to every signed-in user): text search over name, model, location,
    certification, species, capacity and description."""
    stmt = select(PlatformResource)
    if not f.include_inactive:
        stmt = stmt.where(PlatformResource.active.is_(True))
    if f.kind:
        stmt = stmt.where(PlatformResource.kind == f.kind)
    if f.organisation_id is not None:
        stmt = stmt.where(PlatformResource.organisation_id == f.organisation_id)
    if f.q:
        stmt = stmt.where(text_match(f.q, PlatformResource.name, PlatformResource.model, PlatformResource.location,
                                     PlatformResource.certification, PlatformResource.species,
                                     PlatformResource.capacity, PlatformResource.description))
    return paginate(session, stmt, page, SORTABLE, "id")


def to_public_many(session: Session, rows: list[PlatformResource]) -> list[ResourcePublic]:
    refs = org_refs_by_ids(session, {r.organisation_id for r in rows})
    return [ResourcePublic.model_validate({**r.model_dump(), "organisation": refs[r.organisation_id][0]})
            for r in rows]


# --- booking requests ----------------------------------------------------------------------------------------------

def get_booking(session: Session, actor: Actor, booking_id: int) -> BookingRequest:
    b = session.exec(select(BookingRequest).where(BookingRequest.id == booking_id, booking_visible(actor))).first()
    if b is None:
        raise NotFound(msg("Booking request {booking_id} not found.", booking_id=booking_id))
    return b


def request_booking(session: Session, actor: Actor, body: BookingCreate) -> BookingRequest:
    res = session.get(PlatformResource, body.resource_id)
    if res is None or not res.active:
        raise Invalid("resource_id", msg("Resource {resource_id} not found.", resource_id=body.resource_id))
    may_request_booking(actor, res.organisation_id)
    b = BookingRequest(resource_id=res.id, platform_org_id=res.organisation_id,
                       requester_org_id=actor.organisation_id, requester_user_id=actor.user_id,
                       **body.model_dump(exclude={"resource_id"}))
    session.add(b)
    session.flush()
    audit.record(session, actor, BOOKING, b.id, "create", audit.created_fields(b, ["resource_id", "message",
                                                                                  "wanted_from", "wanted_to"]))
    events.emit(session, EventType.booking_requested, {"booking_id": b.id}, [res.organisation_id])
    return b


def _decide(session: Session, actor: Actor, booking_id: int, to: BookingStatus, answer: str | None) -> BookingRequest:
    b = get_booking(session, actor, booking_id)
    side = booking_side(actor, b)
    needed = "requester" if to == BookingStatus.withdrawn else "platform"
    if side != needed:
        raise_forbidden(needed)
    if b.status != BookingStatus.pending:
        raise Conflict(msg("This booking request was answered already ({status}).", status=b.status))
    before = b.status
    b.status, b.answer = to, answer if answer is not None else b.answer
    b.answered_at = b.updated_at = utcnow()
    session.add(b)
    session.flush()
    audit.record(session, actor, BOOKING, b.id, to.value, {"status": [before, b.status]})
    tell = b.platform_org_id if to == BookingStatus.withdrawn else b.requester_org_id
    events.emit(session, EventType.booking_answered, {"booking_id": b.id, "status": b.status}, [tell])
    return b


def raise_forbidden(needed: str) -> None:
    """The step belongs to the other side of the request."""
    if needed == "platform":
        raise Forbidden(msg("The platform accepts or declines a booking request."))
    raise Forbidden(msg("The requester withdraws its booking request."))


def accept(session: Session, actor: Actor, booking_id: int, body: BookingAnswer) -> BookingRequest:
    return _decide(session, actor, booking_id, BookingStatus.accepted, body.answer)


def decline(session: Session, actor: Actor, booking_id: int, body: BookingAnswer) -> BookingRequest:
    return _decide(session, actor, booking_id, BookingStatus.declined, body.answer)


def withdraw(session: Session, actor: Actor, booking_id: int) -> BookingRequest:
    return _decide(session, actor, booking_id, BookingStatus.withdrawn, None)


@dataclass(frozen=True)
class BookingFilters:
    box: str | None = None  # 'inbox' (to the actor's organisation) or 'sent'
    status: BookingStatus | None = None


def list_bookings(session: Session, actor: Actor, f: BookingFilters, page: PageParams):
    stmt = select(BookingRequest).where(booking_visible(actor))
    if f.box == "inbox":
        stmt = stmt.where(BookingRequest.platform_org_id == actor.organisation_id)
    elif f.box == "sent":
        stmt = stmt.where(BookingRequest.requester_org_id == actor.organisation_id)
    if f.status is not None:
        stmt = stmt.where(BookingRequest.status == f.status)
    return paginate(session, stmt, page, {"id": BookingRequest.id, "created_at": BookingRequest.created_at}, "-id")


def bookings_public(session: Session, rows: list[BookingRequest]) -> list[BookingPublic]:
    refs = org_refs_by_ids(session, {o for b in rows for o in (b.platform_org_id, b.requester_org_id)})
    names = {r.id: r.name for r in session.exec(select(PlatformResource).where(
        PlatformResource.id.in_({b.resource_id for b in rows})))} if rows else {}
    return [BookingPublic.model_validate({**b.model_dump(), "resource_name": names[b.resource_id],
                                         "platform": refs[b.platform_org_id][0],
                                         "requester": refs[b.requester_org_id][0]}) for b in rows]
