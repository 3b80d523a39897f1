from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from app.deps import CurrentActor, MatchIndexDep, PageDep, SessionDep
from app.errors import request_language
from app.models.common import DbInt, Page
from app.models.enums import PartnerType, Region, Stage
from app.models.match import CapabilityMatches, FeedbackCreate, FeedbackPublic, NeedMatches
from app.services import capabilities, needs
from app.services.matching import feedback, responses
from app.services.matching.responses import MatchQuery

router = APIRouter(tags=["matches"])


async def match_query(request: Request, partner_type: Annotated[list[PartnerType] | None, Query(description="Only these partner types")] = None,
                region: Annotated[list[Region] | None, Query(
                    description="Only these regions ('shanghai' includes Putuo)")] = None,
                stage: Annotated[list[Stage] | None, Query(description="Only partners supporting these stages")] = None,
                min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
                hard: Annotated[bool, Query(description="Treat the need's own partner type, region and "
                                                        "certification requirements as hard filters")] = False,
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                include_weak: Annotated[bool, Query(description="Also show weak matches (calibrated confidence below "
                                                                "the 'possible' band); hidden by default")] = False
                ) -> MatchQuery:
    return MatchQuery(partner_types=partner_type, regions=region, stages=stage, min_score=min_score,
                      hard=hard, limit=limit, include_weak=include_weak, lang=await request_language(request))


@router.get("/needs/{need_id}/matches",
            summary="Capabilities ranked for a need, each with per-signal scores, an explanation, a calibrated "
                    "confidence and band; strong and possible ones unless include_weak (the need's hospital, the "
                    "commission)")
def need_matches(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, need_id: DbInt,
                 q: Annotated[MatchQuery, Depends(match_query)]) -> NeedMatches:
    need = needs.get_visible(session, actor, need_id)
    return responses.matches_for_need(session, index, actor, need, q)


@router.get("/capabilities/{cap_id}/matches",
            summary="Open needs ranked for a capability (its organisation, the commission); anonymous needs "
                    "without the hospital")
def capability_matches(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, cap_id: DbInt,
                       q: Annotated[MatchQuery, Depends(match_query)]) -> CapabilityMatches:
    cap = capabilities.get_visible(session, actor, cap_id)
    return responses.matches_for_capability(session, index, actor, cap, q)


@router.post("/matches/feedback", status_code=201,
             summary="Mark a match interested / not interested (the need's hospital or the capability's company); "
                     "a declined pair is not suggested to that party again")
def give_feedback(session: SessionDep, actor: CurrentActor, body: FeedbackCreate) -> FeedbackPublic:
    feedback.require_party(actor)  # a 403 before the look-ups, whether the pair exists or not
    need = needs.get_visible(session, actor, body.need_id)
    cap = capabilities.get_visible(session, actor, body.capability_id)
    return feedback.give_feedback(session, actor, need, cap, body)


@router.get("/matches/feedback", summary="Match feedback: all for the commission, one's own otherwise")
def list_feedback(session: SessionDep, actor: CurrentActor, page: PageDep, need_id: DbInt | None = None,
                  capability_id: DbInt | None = None) -> Page[FeedbackPublic]:
    rows, total = feedback.list_feedback(session, actor, need_id, capability_id, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)
