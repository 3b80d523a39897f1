from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.responses import json_response
from app.deps import CurrentActor, IfMatch, MatchIndexDep, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.enums import Language, NeedStatus, PartnerType, Region, Specialty, Stage, Track
from app.models.need import NeedCreate, NeedPublic, NeedUpdate
from app.services import needs
from app.services.common import expected_version

router = APIRouter(prefix="/needs", tags=["needs"])


@router.get("", response_model=Page[NeedPublic],
            summary="List the needs the caller may read (anonymous needs without the hospital for companies)")
def list_needs(session: SessionDep, actor: CurrentActor, page: PageDep,
               track: Track | None = None, specialty: Specialty | None = None, region: Region | None = None,
               status: NeedStatus | None = None,
               language: Language | None = None, partner_type: PartnerType | None = None, stage: Stage | None = None,
               hospital_id: DbInt | None = None,
               q: Annotated[str | None, Query(max_length=200, description="Text search in title and description")] = None,
               ) -> Response:
    f = needs.NeedFilters(track=track, specialty=specialty, region=region, status=status, language=language, partner_type=partner_type,
                          stage=stage, hospital_id=hospital_id, q=q)
    rows, total = needs.list_needs(session, actor, f, page)
    return json_response(Page(items=rows, total=total, limit=page.limit, offset=page.offset))


@router.post("", status_code=201, summary="File a clinical need for the caller's hospital (hospital staff)")
def create_need(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, body: NeedCreate,
                response: Response) -> NeedPublic:
    need = needs.create_need(session, actor, body, index)
    response.headers["ETag"] = f'"{need.version}"'
    response.headers["Location"] = f"/api/v1/needs/{need.id}"
    return needs.to_public(session, actor, need, with_warnings=True)


@router.get("/{need_id}", response_model=NeedPublic, summary="One need")
def get_need(session: SessionDep, actor: CurrentActor, need_id: DbInt) -> Response:
    need, public = needs.read_public(session, actor, need_id)
    return json_response(public, headers={"ETag": f'"{need.version}"'})


@router.patch("/{need_id}", summary="Edit a need or change its status; needs the version read (body or If-Match)")
def update_need(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, need_id: DbInt, body: NeedUpdate,
                response: Response, if_match: IfMatch = None) -> NeedPublic:
    need = needs.update_need(session, actor, need_id, body, expected_version(body.version, if_match), index)
    response.headers["ETag"] = f'"{need.version}"'
    return needs.to_public(session, actor, need, with_warnings=True)
