from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import CurrentActor, IfMatch, MatchIndexDep, PageDep, SessionDep
from app.models.capability import (
    CapabilityBatchCreate,
    CapabilityBatchPublic,
    CapabilityCreate,
    CapabilityPublic,
    CapabilityUpdate,
)
from app.models.common import DbInt, Page
from app.models.enums import CapabilityStatus, Language, PartnerType, Region, Specialty, Stage, Track
from app.services import capabilities
from app.services.common import expected_version

router = APIRouter(prefix="/capabilities", tags=["capabilities"])


@router.get("", summary="List capabilities the caller may read")
def list_capabilities(session: SessionDep, actor: CurrentActor, page: PageDep,
                      track: Track | None = None, specialty: Specialty | None = None, region: Region | None = None,
                      status: CapabilityStatus | None = None, language: Language | None = None,
                      stage: Stage | None = None,
                      certification: Annotated[str | None, Query(max_length=40)] = None,
                      org_kind: PartnerType | None = None, organisation_id: DbInt | None = None,
                      q: Annotated[str | None, Query(max_length=200)] = None) -> Page[CapabilityPublic]:
    f = capabilities.CapabilityFilters(track=track, specialty=specialty, region=region, status=status, language=language, stage=stage,
                                       certification=certification, org_kind=org_kind,
                                       organisation_id=organisation_id, q=q)
    rows, total = capabilities.list_capabilities(session, actor, f, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, summary="Register a capability of the caller's organisation (company staff)")
def create_capability(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, body: CapabilityCreate,
                      response: Response) -> CapabilityPublic:
    cap = capabilities.create_capability(session, actor, body, index)
    response.headers["ETag"] = f'"{cap.version}"'
    response.headers["Location"] = f"/api/v1/capabilities/{cap.id}"
    return capabilities.to_public(session, cap)


@router.post("/batch", status_code=201,
             summary="Register up to 100 capabilities of the caller's organisation at once, all or none")
def create_capabilities(session: SessionDep, actor: CurrentActor, index: MatchIndexDep,
                        body: CapabilityBatchCreate) -> CapabilityBatchPublic:
    """A catalogue import: each item as ``POST /capabilities`` takes it, in one transaction (an invalid item —
    reported as ``items.<i>.<field>`` — registers none). Cheaper per capability than one request each: the model
    embeds the batch at once."""
    caps = capabilities.create_capabilities(session, actor, body.items, index)
    return CapabilityBatchPublic(items=capabilities.to_public_many(session, caps))


@router.get("/{cap_id}", summary="One capability")
def get_capability(session: SessionDep, actor: CurrentActor, cap_id: DbInt, response: Response) -> CapabilityPublic:
    cap = capabilities.get_visible(session, actor, cap_id)
    response.headers["ETag"] = f'"{cap.version}"'
    return capabilities.to_public(session, cap)


@router.patch("/{cap_id}", summary="Edit or archive a capability; needs the version read (body or If-Match)")
def update_capability(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, cap_id: DbInt,
                      body: CapabilityUpdate, response: Response, if_match: IfMatch = None) -> CapabilityPublic:
    cap = capabilities.update_capability(session, actor, cap_id, body, expected_version(body.version, if_match),
                                         index)
    response.headers["ETag"] = f'"{cap.version}"'
    return capabilities.to_public(session, cap)
