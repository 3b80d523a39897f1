"""Organisations: hospitals, enterprises, labs, platforms and the commission. Admins manage them."""

from __future__ import annotations

from sqlmodel import Session, select

from app.errors import Invalid, NotFound
from app.i18n import msg
from app.models import Organisation
from app.models.common import utcnow
from app.models.enums import Role
from app.models.organisation import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from app.policy import Actor, org_contacts_visible, require_role
from app.services import audit
from app.services.listing import PageParams, paginate, text_match

ENTITY = "organisation"
SORTABLE = {"id": Organisation.id, "created_at": Organisation.created_at, "name_zh": Organisation.name_zh,
            "name_en": Organisation.name_en}


_REQUIRED = frozenset({"region", "description"})


def get(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(msg("Organisation {org_id} not found.", org_id=org_id))
    return org


CONTACT = ("contact_name", "contact_email", "contact_phone")


def to_public_many(session: Session, actor: Actor, orgs: list[Organisation]) -> list[OrganisationPublic]:
    """The directory as the actor may read it: an organisation's contact person only for its accepted partners."""
    shown = org_contacts_visible(actor, {o.id for o in orgs}, session)
    return [OrganisationPublic.model_validate({**o.model_dump(), **({} if o.id in shown else dict.fromkeys(CONTACT))})
            for o in orgs]


def to_public(session: Session, actor: Actor, org: Organisation) -> OrganisationPublic:
    return to_public_many(session, actor, [org])[0]


def list_orgs(session: Session, kind: str | None, region: str | None, q: str | None, page: PageParams):
    # Organisations are a public directory for every signed-in user.
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if region:
        stmt = stmt.where(Organisation.region == region)
    if q:
        stmt = stmt.where(text_match(q, Organisation.name_zh, Organisation.name_en, Organisation.description))
    return paginate(session, stmt, page, SORTABLE, "id")


def create(session: Session, actor: Actor | None, data: OrganisationCreate) -> Organisation:
    if actor is not None:
        require_role(actor, Role.admin)
    org = Organisation.model_validate(data)
    session.add(org)
    session.flush()
    audit.record(session, actor, ENTITY, org.id, "create", audit.created_fields(org, list(data.model_fields_set)))
    return org


def update(session: Session, actor: Actor, org_id: int, data: OrganisationUpdate) -> Organisation:
    require_role(actor, Role.admin)
    org = get(session, org_id)
    values = data.model_dump(exclude_unset=True)
    # null clears an optional field (a name, a contact); the others cannot be null, so null leaves them unchanged,
    # as in the other services' updates.
    values = {k: v for k, v in values.items() if v is not None or k not in _REQUIRED}
    if not (values.get("name_zh", org.name_zh) or values.get("name_en", org.name_en)):
        raise Invalid("name_zh", msg("An organisation keeps a name: name_zh or name_en."))
    changes = audit.diff(org.model_dump(), values)
    for k, v in values.items():
        setattr(org, k, v)
    if changes:
        org.updated_at = utcnow()
        session.add(org)
        audit.record(session, actor, ENTITY, org.id, "update", changes)
    return org
