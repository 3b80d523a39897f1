from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import CurrentActor, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.enums import OrgKind, Region
from app.models.organisation import OrganisationCreate, OrganisationPublic, OrganisationUpdate
from app.services import organisations

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.get("", summary="List organisations (a directory every signed-in user may read; contact persons for "
                        "accepted partners only)")
def list_organisations(session: SessionDep, actor: CurrentActor, page: PageDep, kind: OrgKind | None = None,
                       region: Region | None = None,
                       q: Annotated[str | None, Query(max_length=200)] = None) -> Page[OrganisationPublic]:
    rows, total = organisations.list_orgs(session, kind, region, q, page)
    return Page(items=organisations.to_public_many(session, actor, list(rows)), total=total, limit=page.limit,
                offset=page.offset)


@router.post("", status_code=201, summary="Create an organisation (admin)")
def create_organisation(session: SessionDep, actor: CurrentActor, body: OrganisationCreate) -> OrganisationPublic:
    return organisations.to_public(session, actor, organisations.create(session, actor, body))


@router.get("/{org_id}", summary="One organisation")
def get_organisation(session: SessionDep, actor: CurrentActor, org_id: DbInt) -> OrganisationPublic:
    return organisations.to_public(session, actor, organisations.get(session, org_id))


@router.patch("/{org_id}", summary="Update an organisation (admin)")
def update_organisation(session: SessionDep, actor: CurrentActor, org_id: DbInt,
                        body: OrganisationUpdate) -> OrganisationPublic:
    return organisations.to_public(session, actor, organisations.update(session, actor, org_id, body))
