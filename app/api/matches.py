from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.deps import CurrentActor, MatchIndexDep, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.enums import PartnerType, Region, Stage
from app.models.matching import CapabilityMatches, FeedbackCreate, FeedbackPublic, NeedMatches
from app.services import matching

router = APIRouter(tags=["matches"])


def match_query(partner_type: Annotated[list[PartnerType] | None, Query(description="Only these partner types")] = None,
                region: Annotated[list[Region] | None, Query(
                    description="Only these regions ('shanghai' includes Putuo)")] = None,
                stage: Annotated[list[Stage] | None, Query(description="Only partners supporting these stages")] = None,
                min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
                hard: Annotated[bool, Query(description="Treat the need's own partner type, region and "
                                                        "certification requirements as hard filters")] = False,
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                include_weak: Annotated[bool, Query(description="Also show weak matches (calibrated confidence below "
                                                                "the 'possible' band); hidden by default")] = False
                ) -> matching.MatchQuery:
    return matching.MatchQuery(partner_types=partner_type, regions=region, stages=stage, min_score=min_score,
                               hard=hard, limit=limit, include_weak=include_weak)


@router.get("/needs/{need_id}/matches",
            summary="Capabilities ranked for a need, each with per-signal scores, an explanation, a calibrated "
                    "confidence and band; strong and possible ones unless include_weak (the need's hospital, the "
                    "commission)")
def need_matches(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, need_id: DbInt,
                 q: Annotated[matching.MatchQuery, Depends(match_query)]) -> NeedMatches:
    return matching.matches_for_need(session, index, actor, need_id, q)


@router.get("/capabilities/{cap_id}/matches",
            summary="Open needs ranked for a capability (its organisation, the commission); anonymous needs "
                    "without the hospital")
def capability_matches(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, cap_id: DbInt,
                       q: Annotated[matching.MatchQuery, Depends(match_query)]) -> CapabilityMatches:
    return matching.matches_for_capability(session, index, actor, cap_id, q)


@router.post("/matches/feedback", status_code=201,
             summary="Mark a match interested / not interested (the need's hospital or the capability's company); "
                     "a declined pair is not suggested to that party again")
def give_feedback(session: SessionDep, actor: CurrentActor, body: FeedbackCreate) -> FeedbackPublic:
    return matching.give_feedback(session, actor, body)


@router.get("/matches/feedback", summary="Match feedback: all for the commission, one's own otherwise")
def list_feedback(session: SessionDep, actor: CurrentActor, page: PageDep, need_id: DbInt | None = None,
                  capability_id: DbInt | None = None) -> Page[FeedbackPublic]:
    rows, total = matching.list_feedback(session, actor, need_id, capability_id, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)
