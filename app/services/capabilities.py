"""Capabilities: what an enterprise, lab or platform can do for a hospital's need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, or_, select

from app.errors import NotFound
from app.i18n import msg
from app.models import Capability, Organisation
from app.models.capability import CapabilityCreate, CapabilityPublic, CapabilityUpdate
from app.models.enums import CapabilityStatus, Role
from app.models.event import EventType
from app.models.need import OrgRef
from app.policy import Actor, can_manage_capability, capability_visible, require_company, require_role
from app.services import audit, events
from app.services.common import (
    ORG_REF_COLUMNS,
    check_version,
    compare_and_swap,
    org_ref,
    org_ref_by_id,
    org_ref_from_columns,
    org_ref_join,
)
from app.services.listing import PageParams, json_list_contains, json_list_empty, paginate, row_fields, text_match
from app.services.matching.documents import capability_doc, resources_text
from app.services.matching.index import embed_ahead
from app.services.matching.persisted import capabilities_written, capability_written
from matching.text import detect_language

ENTITY = "capability"
SORTABLE = {"created_at": Capability.created_at, "updated_at": Capability.updated_at, "title": Capability.title,
            "id": Capability.id}


@dataclass(frozen=True)
class CapabilityFilters:
    track: str | None = None
    specialty: str | None = None
    region: str | None = None
    status: str | None = None
    language: str | None = None
    stage: str | None = None
    certification: str | None = None
    org_kind: str | None = None
    organisation_id: int | None = None
    q: str | None = None


_ORG_REF_JOIN = org_ref_join(Capability.organisation_id)  # built once (needs.py says why)


def to_public(session: Session, cap: Capability, org: Organisation | None = None,
              ref: tuple[OrgRef, str] | None = None) -> CapabilityPublic:
    """``org`` or ``ref`` (its reference and kind): the capability's organisation, when the caller has it."""
    ref, kind = ref or ((org_ref(org), org.kind) if org else org_ref_by_id(session, cap.organisation_id))
    return CapabilityPublic.model_validate({**row_fields(cap, Capability), "organisation": ref, "org_kind": kind})


def to_public_many(session: Session, caps: Sequence[Capability]) -> list[CapabilityPublic]:
    orgs = {o.id: o for o in session.exec(select(Organisation).where(
        Organisation.id.in_({c.organisation_id for c in caps}))).all()}
    return [to_public(session, cap, orgs[cap.organisation_id]) for cap in caps]


def _visible_row(session: Session, actor: Actor, cap_id: int, with_ref: bool = False):
    """(capability,) or, ``with_ref``, (capability, *ORG_REF_COLUMNS) of one the actor may read; 404 otherwise."""
    stmt = select(Capability).where(Capability.id == cap_id, capability_visible(actor))
    if with_ref:
        stmt = stmt.add_columns(*ORG_REF_COLUMNS).outerjoin(*_ORG_REF_JOIN)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(msg("Capability {cap_id} not found.", cap_id=cap_id))
    return row


def get_visible(session: Session, actor: Actor, cap_id: int) -> Capability:
    return _visible_row(session, actor, cap_id)[0]


def read_public(session: Session, actor: Actor, cap_id: int) -> tuple[Capability, CapabilityPublic]:
    """``get_visible`` and ``to_public`` with the organisation's reference loaded in the capability's own statement
    (one statement fewer, as ``needs.read_public``)."""
    row = _visible_row(session, actor, cap_id, with_ref=True)
    return row[0], to_public(session, row[0], ref=org_ref_from_columns(row))


def get_manageable(session: Session, actor: Actor, cap_id: int) -> Capability:
    cap = get_visible(session, actor, cap_id)
    if not can_manage_capability(actor, cap):
        require_role(actor, Role.company_staff)
        raise NotFound(msg("Capability {cap_id} not found.", cap_id=cap_id))  # pragma: no cover
    return cap


def list_capabilities(session: Session, actor: Actor, f: CapabilityFilters, page: PageParams):
    # The organisations' references come with the page (an outer join the count leaves out), and the count has no
    # join unless a filter reads the organisation (docs/decisions.md, "Authentication and one-row reads").
    stmt = select(Capability)
    stmt = stmt.where(capability_visible(actor))
    if f.track:
        stmt = stmt.where(json_list_contains(session, Capability.tracks, f.track))
    if f.specialty:  # those naming it, and those naming none (they serve any)
        stmt = stmt.where(or_(json_list_contains(session, Capability.specialties, f.specialty),
                              json_list_empty(session, Capability.specialties)))
    if f.stage:
        stmt = stmt.where(json_list_contains(session, Capability.stages, f.stage))
    if f.certification:
        stmt = stmt.where(json_list_contains(session, Capability.certifications, f.certification))
    if f.region:
        stmt = stmt.where(Capability.region == f.region)
    if f.status:
        stmt = stmt.where(Capability.status == f.status)
    if f.language:
        stmt = stmt.where(Capability.language == f.language)
    if f.org_kind:
        stmt = stmt.join(Organisation, Organisation.id == Capability.organisation_id)
        stmt = stmt.where(Organisation.kind == f.org_kind)
    if f.organisation_id is not None:
        stmt = stmt.where(Capability.organisation_id == f.organisation_id)
    if f.q:
        stmt = stmt.where(text_match(f.q, Capability.title, Capability.description))
    rows, total = paginate(session, stmt, page, SORTABLE, "-created_at", with_columns=ORG_REF_COLUMNS,
                           join=_ORG_REF_JOIN)
    refs = {}
    for r in rows:  # one reference per organisation
        if r.organisation_id not in refs:
            refs[r.organisation_id] = org_ref_from_columns(r)
    return [to_public(session, r, ref=refs[r.organisation_id]) for r in rows], total


MATERIAL_FIELDS = frozenset({"title", "description", "tracks", "specialties", "stages", "region", "certifications",
                             "status"})


def _after_write(session: Session, index, cap: Capability, changed: set[str] | None = None) -> None:
    """Vectors and matches (when an index is given), then the domain event for notifications."""
    if index is not None:
        capability_written(session, index, cap)
    _emit(session, cap, changed)


def _emit(session: Session, cap: Capability, changed: set[str] | None = None) -> None:
    if cap.status != CapabilityStatus.active:
        return
    if changed is None or "status" in changed:
        events.emit(session, EventType.capability_added, {"capability_id": cap.id}, [cap.organisation_id])
    elif changed & MATERIAL_FIELDS:
        events.emit(session, EventType.capability_changed, {"capability_id": cap.id,
                                                    "fields": sorted(changed & MATERIAL_FIELDS)}, [cap.organisation_id])


def create_capability(session: Session, actor: Actor, data: CapabilityCreate, index=None) -> Capability:
    return create_capabilities(session, actor, [data], index)[0]


def create_capabilities(session: Session, actor: Actor, items: Sequence[CapabilityCreate],
                        index=None) -> list[Capability]:
    """Register capabilities of the caller's organisation, in order, all or none (the request's one transaction).
    Several at once cost less each: the model encodes them in one batch, the index syncs once."""
    require_company(actor)
    org = session.get(Organisation, actor.organisation_id)
    caps, written = [], []
    for data in items:
        values = data.model_dump()
        values["region"] = values["region"] or org.region
        values["language"] = values["language"] or detect_language(data.title + " " + data.description)
        caps.append(Capability(**values, organisation_id=org.id, created_by_id=actor.user_id))
        written.append(list(values))
    if index is not None:  # embed before the first write: SQLite's write lock is not held while the model runs
        extra = resources_text(session, [org.id]).get(org.id, "")
        embed_ahead(index, *(capability_doc(cap, org, extra) for cap in caps))
    session.add_all(caps)
    session.flush()
    for cap, fields in zip(caps, written):
        audit.record(session, actor, ENTITY, cap.id, "create", audit.created_fields(cap, fields))
    if index is not None:
        capabilities_written(session, index, caps)
    for cap in caps:
        _emit(session, cap)
    return caps


def update_capability(session: Session, actor: Actor, cap_id: int, data: CapabilityUpdate, expected: int,
                      index=None) -> Capability:
    cap = get_manageable(session, actor, cap_id)
    values = {k: v for k, v in data.model_dump(exclude_unset=True, exclude={"version"}).items() if v is not None}
    changes = audit.diff(cap.model_dump(), values)
    if not changes:
        check_version(cap, expected)
        return cap
    compare_and_swap(session, Capability, cap, expected, values)
    audit.record(session, actor, ENTITY, cap.id, "update", changes)
    _after_write(session, index, cap, set(changes))
    return cap
