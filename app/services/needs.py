"""Clinical needs: filing, reading (with anonymity), editing with optimistic concurrency, status lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from app.errors import NotFound
from app.i18n import msg
from app.models import Need
from app.models.common import utcnow
from app.models.enums import NeedStatus, Role
from app.models.event import EventType
from app.models.need import NeedContact, NeedCreate, NeedPublic, NeedUpdate, OrgRef
from app.policy import (
    Actor,
    can_manage_need,
    contact_visible_many,
    hospital_identity_visible,
    hospital_identity_visible_many,
    need_visible,
    require_role,
)
from app.services import audit, events
from app.services.common import (
    ORG_REF_COLUMNS,
    check_version,
    compare_and_swap,
    org_ref_by_id,
    org_ref_from_columns,
    org_ref_join,
    org_refs_by_ids,
)
from app.services.listing import PageParams, json_list_contains, paginate, row_fields, text_match
from app.services.matching.documents import need_doc
from app.services.matching.index import embed_ahead
from app.services.matching.persisted import need_written
from app.services.need_statement import statement_warnings
from app.workflow.need_lifecycle import check_hospital_change, partnership_target
from matching.specialties import from_department
from matching.text import detect_language

ENTITY = "need"
SORTABLE = {"created_at": Need.created_at, "updated_at": Need.updated_at, "title": Need.title, "id": Need.id,
            "opened_at": Need.opened_at}


@dataclass(frozen=True)
class NeedFilters:
    track: str | None = None
    specialty: str | None = None
    region: str | None = None
    status: str | None = None
    language: str | None = None
    partner_type: str | None = None
    stage: str | None = None
    hospital_id: int | None = None
    q: str | None = None


_HOSPITAL_REF_JOIN = org_ref_join(Need.hospital_id)  # built once, not per request (1.6 % of a list's CPU)


def to_public(session: Session, actor: Actor, need: Need, with_warnings: bool = False,
              shown: bool | None = None, hospital_ref: OrgRef | None = None,
              contact: bool | None = None) -> NeedPublic:
    """``shown``, ``hospital_ref``, ``contact``: whether the actor may see the hospital, the hospital's reference,
    and whether it may see the contact person, when the caller has them already (``to_public_many``)."""
    if shown is None:
        shown = hospital_identity_visible(actor, need, session)
    if contact is None:
        contact = need.id in contact_visible_many(actor, [need], session)
    hospital = None
    if shown:
        hospital = hospital_ref or org_ref_by_id(session, need.hospital_id)[0]
    data = row_fields(need, Need)
    data.update(hospital=hospital, hospital_hidden=not shown,
                contact=NeedContact(name=need.contact_name, email=need.contact_email, phone=need.contact_phone)
                if contact and (need.contact_name or need.contact_email or need.contact_phone) else None)
    if with_warnings:
        data["warnings"] = statement_warnings(need.desired_outcome, need.title)
    return NeedPublic.model_validate(data)


def to_public_many(session: Session, actor: Actor, rows: list[Need],
                   refs: dict[int, tuple[OrgRef, str]] | None = None) -> list[NeedPublic]:
    """``to_public`` for a page of needs in three queries at most (the visible hospitals, who may see them, who may
    see the contact persons). ``refs``: the hospitals' references when the caller loaded them with the page; only
    those of the hospitals the actor may see are used."""
    shown = hospital_identity_visible_many(actor, rows, session)
    contacts = contact_visible_many(actor, rows, session)
    if refs is None:
        refs = org_refs_by_ids(session, {n.hospital_id for n in rows if n.id in shown})
    return [to_public(session, actor, n, shown=n.id in shown, hospital_ref=refs.get(n.hospital_id, (None,))[0],
                      contact=n.id in contacts) for n in rows]


def _visible_row(session: Session, actor: Actor, need_id: int, with_ref: bool = False):
    """(need,) or, ``with_ref``, (need, *ORG_REF_COLUMNS) of a need the actor may read; 404 otherwise."""
    stmt = select(Need).where(Need.id == need_id, need_visible(actor))
    if with_ref:
        stmt = stmt.add_columns(*ORG_REF_COLUMNS).outerjoin(*_HOSPITAL_REF_JOIN)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(msg("Need {need_id} not found.", need_id=need_id))
    return row


def get_visible(session: Session, actor: Actor, need_id: int) -> Need:
    return _visible_row(session, actor, need_id)[0]


def read_public(session: Session, actor: Actor, need_id: int) -> tuple[Need, NeedPublic]:
    """``get_visible`` and ``to_public`` (warnings included) with the hospital's reference loaded in the need's own
    statement: one statement fewer for the hottest read. ``to_public`` still shows the hospital only where policy
    says so."""
    row = _visible_row(session, actor, need_id, with_ref=True)
    ref = org_ref_from_columns(row)
    return row[0], to_public(session, actor, row[0], with_warnings=True, hospital_ref=ref[0] if ref else None)


def get_manageable(session: Session, actor: Actor, need_id: int) -> Need:
    need = get_visible(session, actor, need_id)
    if not can_manage_need(actor, need):
        # Readable but not writable (commission, admin, other roles): a clear 403, since existence is known.
        require_role(actor, Role.hospital_staff)
        raise NotFound(msg("Need {need_id} not found.",
                           need_id=need_id))  # pragma: no cover - hospital staff only see their own
    return need


def list_needs(session: Session, actor: Actor, f: NeedFilters, page: PageParams):
    stmt = select(Need).where(need_visible(actor))
    if f.track:
        stmt = stmt.where(json_list_contains(session, Need.tracks, f.track))
    if f.specialty:
        stmt = stmt.where(json_list_contains(session, Need.specialties, f.specialty))
    if f.region:
        stmt = stmt.where(json_list_contains(session, Need.regions, f.region))
    if f.partner_type:
        stmt = stmt.where(json_list_contains(session, Need.partner_types, f.partner_type))
    if f.stage:
        stmt = stmt.where(json_list_contains(session, Need.stages, f.stage))
    if f.status:
        stmt = stmt.where(Need.status == f.status)
    if f.language:
        stmt = stmt.where(Need.language == f.language)
    if f.hospital_id is not None:
        # Filtering by hospital must not reveal who filed an anonymous need.
        stmt = stmt.where(Need.hospital_id == f.hospital_id)
        if not actor.reads_everything and f.hospital_id != actor.organisation_id:
            stmt = stmt.where(Need.confidentiality == "public")
    if f.q:
        stmt = stmt.where(text_match(f.q, Need.title, Need.description, Need.clinical_problem, Need.department))
    # The hospitals' references come with the page (one statement); to_public shows only those policy allows.
    rows, total = paginate(session, stmt, page, SORTABLE, "-created_at", with_columns=ORG_REF_COLUMNS,
                           join=_HOSPITAL_REF_JOIN)
    refs = {}
    for r in rows:  # one reference per hospital
        if r.hospital_id not in refs and (ref := org_ref_from_columns(r)) is not None:
            refs[r.hospital_id] = ref
    return to_public_many(session, actor, rows, refs), total


CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")

# Changes that make a need news again for the companies (its matches are looked at anew).
MATERIAL_FIELDS = frozenset({"title", "description", "clinical_problem", "current_practice", "shortcomings", "specialties",
                             "affected_population", "desired_outcome", "tracks", "partner_types", "stages", "regions",
                             "required_certifications", "confidentiality"})


def _after_write(session: Session, index, need: Need, changed: set[str] | None = None) -> None:
    """Vectors and matches (when an index is given), then the domain event for notifications. ``changed``: the
    fields changed (None: just filed)."""
    if index is not None:
        need_written(session, index, need)
    if need.status != NeedStatus.open:
        return
    if changed is None or "status" in changed:
        events.emit(session, EventType.need_opened, {"need_id": need.id}, [need.hospital_id])
    elif changed & MATERIAL_FIELDS:
        events.emit(session, EventType.need_changed, {"need_id": need.id, "fields": sorted(changed & MATERIAL_FIELDS)},
                    [need.hospital_id])


def create_need(session: Session, actor: Actor, data: NeedCreate, index=None) -> Need:
    """File a need for the actor's hospital. ``index``: the match index to store vectors and matches with (the seed
    loader passes none and backfills in bulk)."""
    require_role(actor, Role.hospital_staff)
    values = data.model_dump()
    if values["language"] is None:
        values["language"] = detect_language(f"{data.title} {data.description} {data.clinical_problem}")
    if not values["specialties"]:  # the hospital sees them and may correct them
        values["specialties"] = from_department(data.department)
    need = Need(**values, hospital_id=actor.organisation_id, created_by_id=actor.user_id)
    if need.status == NeedStatus.open:
        need.opened_at = utcnow()
    if index is not None:  # embed before the first write: SQLite's write lock is not held while the model runs
        embed_ahead(index, need_doc(need))
    session.add(need)
    session.flush()
    audit.record(session, actor, ENTITY, need.id, "create", audit.created_fields(need, list(values)))
    _after_write(session, index, need)
    return need


def update_need(session: Session, actor: Actor, need_id: int, data: NeedUpdate, expected: int, index=None) -> Need:
    need = get_manageable(session, actor, need_id)
    values = data.model_dump(exclude_unset=True, exclude={"version"})
    values = {k: v for k, v in values.items() if v is not None}
    values.update({k: None for k in CONTACT_FIELDS if values.get(k) == ""})  # "" clears a contact field
    if ("department" in values and "specialties" not in values
            and list(need.specialties) == from_department(need.department)):
        # specialties that followed the old department follow the new one; chosen ones stay
        values["specialties"] = from_department(values["department"])
    if "status" in values:
        check_hospital_change(NeedStatus(need.status), NeedStatus(values["status"]))
        if values["status"] == NeedStatus.open and need.opened_at is None:
            values["opened_at"] = utcnow()
        if values["status"] in (NeedStatus.closed, NeedStatus.withdrawn):
            values["closed_at"] = utcnow()
    before = need.model_dump()
    changes = audit.diff(before, values)
    if not changes:
        # Nothing to change: still insist the client's version is current (so stale clients learn it).
        check_version(need, expected)
        return need
    compare_and_swap(session, Need, need, expected, {k: values[k] for k in values})
    audit.record(session, actor, ENTITY, need.id, "update" if "status" not in changes else f"status:{need.status}",
                 changes)
    _after_write(session, index, need, set(changes))
    return need


def follow_engagements(session: Session, actor: Actor, need: Need, partnership: bool, engagement_id: int) -> None:
    """The workflow's hook: the need follows its partnerships (``need_lifecycle.partnership_target``);
    clinical_use keeps the need in_partnership (the hospital closes it when satisfied)."""
    current = NeedStatus(need.status)
    target = partnership_target(current, partnership)
    if target is None:
        return
    compare_and_swap(session, Need, need, need.version, {"status": target})
    audit.record(session, actor, ENTITY, need.id, f"status:{target}",
                 {"status": [current.value, target.value], "engagement_id": [None, engagement_id]})
