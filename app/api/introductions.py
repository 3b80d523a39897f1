from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from app.api.analytics import FiltersDep
from app.deps import CurrentActor, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.introduction import (
    IntroductionAnswer,
    IntroductionCreate,
    IntroductionDecision,
    IntroductionPublic,
    IntroductionStatus,
)
from app.services import introductions

router = APIRouter(prefix="/introductions", tags=["introductions"])


@router.post("", status_code=201, summary="The commission introduces an open need to capabilities, with a note")
def introduce(session: SessionDep, actor: CurrentActor, body: IntroductionCreate) -> list[IntroductionPublic]:
    return [introductions.to_public(session, actor, i) for i in introductions.introduce(session, actor, body)]


@router.get("", summary="Introductions: the commission all; a company those to it; a hospital those of its needs")
def list_introductions(session: SessionDep, actor: CurrentActor, page: PageDep, need_id: DbInt | None = None,
                       status: IntroductionStatus | None = None) -> Page[IntroductionPublic]:
    rows, total = introductions.list_introductions(
        session, actor, introductions.IntroductionFilters(need_id=need_id, status=status), page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.get("/queue", summary="The commission's brokering queue: open needs without a fitting partner, needs "
                               "waiting for a first interest, stalled partnerships, each with suggested candidates")
def brokering_queue(session: SessionDep, actor: CurrentActor, f: FiltersDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> JSONResponse:
    return JSONResponse(introductions.queue(session, actor, f, limit))


@router.get("/{introduction_id}", summary="One introduction")
def get_introduction(session: SessionDep, actor: CurrentActor, introduction_id: DbInt) -> IntroductionPublic:
    return introductions.to_public(session, actor, introductions.get_visible(session, actor, introduction_id))


@router.post("/{introduction_id}/answer", summary="The company: interested (with what it offers) or not (a reason)")
def answer(session: SessionDep, actor: CurrentActor, introduction_id: DbInt,
           body: IntroductionAnswer) -> IntroductionPublic:
    return introductions.to_public(session, actor, introductions.answer(session, actor, introduction_id, body))


@router.post("/{introduction_id}/accept",
             summary="The hospital accepts an interested company: a partnership is proposed, marked as brokered")
def accept(session: SessionDep, actor: CurrentActor, introduction_id: DbInt, response: Response,
           body: IntroductionDecision | None = None) -> IntroductionPublic:
    intro = introductions.decide(session, actor, introduction_id, True, body or IntroductionDecision())
    response.headers["Location"] = f"/api/v1/engagements/{intro.engagement_id}"
    return introductions.to_public(session, actor, intro)


@router.post("/{introduction_id}/decline", summary="The hospital declines")
def decline(session: SessionDep, actor: CurrentActor, introduction_id: DbInt,
            body: IntroductionDecision | None = None) -> IntroductionPublic:
    return introductions.to_public(session, actor,
                                   introductions.decide(session, actor, introduction_id, False,
                                                        body or IntroductionDecision()))
