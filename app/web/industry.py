"""The commission's industry pages (issue 20): the map of Shanghai and the corridor, the chain graph per track, the
gaps table (招商目录) and an organisation's card. Server-rendered over app.services.industry (the API's own
figures), open to whoever reads the commission's dashboard; ECharts 5.6.0 vendored under static/vendor draws the
vendored boundaries and the graph (no tiles, no CDN); scripts are same-origin files, data rides in JSON script
blocks (never executed), so the CSP needs no exception."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import select

from app.i18n import msg
from app.models import Capability, Organisation
from app.models.enums import CapabilityStatus, OrgKind, Region, Role, Track
from app.models.industry import ChainLink, LinkKind, PlatformResource
from app.services.analytics import REGION_FILTERS
from app.services.industry import gaps, geo, places, views
from app.services.industry.areas import AREAS
from app.web.core import Web, error_page, render, require

router = APIRouter(include_in_schema=False)
# the same readers as the commission's dashboard (app/web/commission.py)
Reader = Annotated[Web, require(Role.commission, Role.admin)]
KINDS = tuple(k.value for k in OrgKind if k != OrgKind.commission)

# Values these pages show as labels, by key -> English msgid (the Chinese is in app/locale/build_po.py). Tracks,
# regions, organisation kinds and stages are the dashboard's labels (app.web.i18n.LABELS).
WORDS: dict[str, str] = {
    # a chain link reads "from <kind> to"
    "supplies": msg("supplies components/materials to"), "contract_manufacturer": msg("contract manufacturer for"),
    "animal_trials": msg("animal trials for"), "clinical_partner": msg("clinical partner of"),
    "distributor": msg("distributor for"),
    # where a link comes from, and its state
    "declared": msg("Confirmed by both"), "partnership": msg("From a partnership"),
    "pending": msg("Pending"), "confirmed": msg("Confirmed"),
    # a platform's resources
    "instrument": msg("Instrument"), "animal_model": msg("Animal model"),
    "facility_certification": msg("Facility certification"), "pilot_line": msg("Pilot line"),
}
SCOPES: dict[str, str] = {"putuo": msg("Inside Putuo"), "shanghai": msg("Inside Shanghai"),
                          "corridor": msg("The corridor (Putuo + 7 Jiangsu cities)")}


def _choice(request: Request, name: str, allowed) -> str | None:
    """A query value when it is one of ``allowed``; anything else is ignored (the page shows what it used)."""
    v = request.query_params.get(name)
    return v if v in allowed else None


def _ctx(w: Web, query: dict[str, str | None]) -> dict[str, Any]:
    """What every industry template uses besides render()'s: ``label(key)`` in the page's language, the filters'
    choices, the query string of the filters in force (for the CSV link)."""
    def label(key: str | None) -> str:
        return w.t(WORDS.get(key, key)) if key else ""

    return {"label": label, "query": urlencode({k: v for k, v in query.items() if v}),
            "tracks": [t.value for t in Track], "kinds": KINDS}


@router.get("/dashboard/industry/map", response_class=HTMLResponse)
def map_page(request: Request, w: Reader) -> Response:
    track = _choice(request, "track", {t.value for t in Track})
    kind = _choice(request, "kind", KINDS)
    region = _choice(request, "region", REGION_FILTERS)
    fc = views.map_collection(w.session, w.actor, track, kind, region)
    # the commission's own organisation is no part of the cluster's map
    fc["features"] = [f for f in fc["features"] if f["properties"]["kind"] != OrgKind.commission]
    t = w.t
    labels = {"tracks": {x.value: t(x.value) for x in Track}, "no_track": t("No track"),
              "kinds": {k: t(k) for k in KINDS}, "lang": w.lang, "cluster": t("Cluster")}
    return render(request, "industry/map.html", fc=fc, labels=labels,
                  f={"track": track, "kind": kind, "region": region},
                  regions=[r.value for r in Region] + ["jiangsu"],
                  **_ctx(w, {"track": track, "kind": kind, "region": region}))


@router.get("/dashboard/industry/regions.geojson")
def regions(w: Reader) -> Response:
    return JSONResponse(geo.regions(), media_type="application/geo+json")


@router.get("/dashboard/industry/chain", response_class=HTMLResponse)
def chain_page(request: Request, w: Reader) -> Response:
    track = _choice(request, "track", {t.value for t in Track}) or Track.interventional_implant.value
    graph = views.chain(w.session, w.actor, track)
    t = w.t
    labels = {"kinds": {k: t(k) for k in KINDS}, "links": {k.value: t(WORDS[k.value]) for k in LinkKind},
              "lang": w.lang, "leader": t("Chain leaders")}
    names = {n["id"]: n for n in graph["nodes"]}
    return render(request, "industry/chain.html", graph=graph, labels=labels, names=names, f={"track": track},
                  **_ctx(w, {"track": track}))


def _gaps(request: Request, w: Web) -> dict:
    scope = _choice(request, "scope", gaps.SCOPES) or "putuo"
    track = _choice(request, "track", {t.value for t in Track})
    return gaps.compute(w.session, w.actor, scope, track, request.app.state.settings.fit_min_score)


@router.get("/dashboard/industry/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, w: Reader) -> Response:
    rep = _gaps(request, w)
    return render(request, "industry/gaps.html", rep=rep, scopes={s: SCOPES[s] for s in gaps.SCOPES},
                  f={"track": rep["track"], "scope": rep["scope"]},
                  **_ctx(w, {"scope": rep["scope"], "track": rep["track"]}))


@router.get("/dashboard/industry/gaps.csv")
def gaps_csv(request: Request, w: Reader) -> Response:
    rep = _gaps(request, w)
    return Response(gaps.to_csv(rep), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-gaps-{rep["scope"]}.csv"'})


@router.get("/dashboard/industry/org/{org_id}", response_class=HTMLResponse)
def org_page(request: Request, w: Reader, org_id: int) -> Response:
    session = w.session
    org = session.get(Organisation, org_id) if 0 < org_id < 2**31 else None  # INTEGER ids
    if org is None:
        return error_page(request, 404, msg("This page does not exist."))
    info = views.org_infos(session, w.actor)[org.id]
    place = places.get_public(session, org.id)
    res = list(session.exec(select(PlatformResource).where(PlatformResource.organisation_id == org.id,
                                                           PlatformResource.active.is_(True))
                            .order_by(PlatformResource.kind, PlatformResource.id)))
    caps = list(session.exec(select(Capability).where(Capability.organisation_id == org.id,
                                                      Capability.status == CapabilityStatus.active)))
    rows = list(session.exec(select(ChainLink).where((ChainLink.from_org_id == org.id) | (ChainLink.to_org_id == org.id))
                             .order_by(ChainLink.id)))
    others = {o.id: o for o in session.exec(select(Organisation).where(Organisation.id.in_(
        {x.from_org_id for x in rows} | {x.to_org_id for x in rows})))} if rows else {}
    return render(request, "industry/org.html", org=org, info=info, place=place,
                  area=AREAS.get(place.area) if place else None, resources=res, caps=caps, links=rows,
                  others=others, **_ctx(w, {}))
