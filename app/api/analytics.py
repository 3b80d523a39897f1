"""Pipeline analytics for the commission (commission, admin): JSON, or CSV with ``?format=csv`` or a ``.csv`` path.

Every figure comes from app.services.analytics.report; see its docstring for the definitions.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator

from app.deps import CurrentActor, SessionDep, SettingsDep
from app.models.enums import Track
from app.services import analytics

router = APIRouter(prefix="/analytics", tags=["analytics"])

RegionFilter = Literal["putuo", "shanghai", "nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang",
                       "taizhou", "other", "jiangsu"]
Dimension = Literal["track", "hospital", "department", "partner", "region", "partner_region", "month"]
Format = Literal["json", "csv"]
# What the operations answer, for the OpenAPI document: JSON, or CSV with format=csv; the .csv paths CSV only.
JSON_OR_CSV = {200: {"content": {"application/json": {"schema": {"type": "object"}},
                                 "text/csv": {"schema": {"type": "string"}}}}}
CSV_ONLY = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


# A filter date outside analytics.DATE_MIN..DATE_MAX is a 422 naming it.
FilterDate = Annotated[date | None, AfterValidator(analytics.date_in_range)]
_RANGE = f" ({analytics.DATE_MIN.isoformat()} to {analytics.DATE_MAX.isoformat()})"


def filters(settings: SettingsDep,
            date_from: Annotated[FilterDate, Query(description="Needs published on or after" + _RANGE)] = None,
            date_to: Annotated[FilterDate, Query(description="Needs published on or before" + _RANGE)] = None,
            track: Track | None = None,
            region: Annotated[RegionFilter | None, Query(description="Hospital's or lead partner's region; "
                                                                     "'jiangsu' = the seven corridor cities")] = None,
            stale_days: Annotated[int, Query(ge=0, le=3650, description="Stalled / waiting threshold")] = 30,
            ) -> analytics.Filters:
    return analytics.Filters(date_from=date_from, date_to=date_to, track=track, region=region, stale_days=stale_days,
                             fit_min_score=settings.fit_min_score)


FiltersDep = Annotated[analytics.Filters, Depends(filters)]
# JSON lists (stalled, waiting needs, partnerships) keep their first `limit` rows, with `totals`; CSV has every row.
Limit = Annotated[int, Query(ge=1, le=100_000, description="Rows per list in JSON (CSV exports every row)")]


def csv_response(rep: dict[str, Any], section: str, name: str, dimension: str | None = None) -> Response:
    header, rows = analytics.table(rep, section, dimension)
    return Response(analytics.to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-{name}.csv"'})


def _section(section: str, name: str):
    def endpoint(session: SessionDep, actor: CurrentActor, f: FiltersDep, format: Format = "json",
                 limit: Limit = 100) -> Any:
        if format == "csv":
            return csv_response(analytics.report(session, actor, f, sections=[section]), section, name)
        rep = analytics.report(session, actor, f, sections=[section], limit=limit)
        body = {"filters": rep["filters"], section: rep[section]}
        if section in rep.get("totals", {}):
            body["total"] = rep["totals"][section]
        return JSONResponse(body)

    def endpoint_csv(session: SessionDep, actor: CurrentActor, f: FiltersDep) -> Response:
        return csv_response(analytics.report(session, actor, f, sections=[section]), section, name)

    return endpoint, endpoint_csv


_SUMMARIES = {
    "headline": "The figures to read first: open needs and those without a fitting partner, partnerships by stage, "
                "days from need to intent, brokered against matched",
    "funnel": "The funnel: needs filed → matched → interested → each device-path stage, counts and conversions",
    "stage_durations": "Median and 90th-percentile days in each stage (completed stays, from the history)",
    "stalled": "Active engagements with no transition or milestone for stale_days",
    "waiting": "Open needs with no interested company for stale_days",
    "without_fit": "Open needs without a fitting partner (no persisted match at CLINMATCH_FIT_MIN_SCORE or above)",
    "partnerships": "Every engagement with the furthest stage it reached, furthest first",
    "matching": "Matching efficiency: open needs with an interested company, time to first interest",
}
_PATHS = {"headline": "headline", "funnel": "funnel", "stage_durations": "stage-durations", "stalled": "stalled",
          "waiting": "waiting-needs", "without_fit": "needs-without-fit", "partnerships": "partnerships",
          "matching": "matching"}

for _sec, _path in _PATHS.items():
    _json, _csv = _section(_sec, _path)
    router.add_api_route(f"/{_path}", _json, methods=["GET"], summary=_SUMMARIES[_sec] + " (commission, admin)",
                         name=f"analytics_{_sec}", response_class=JSONResponse, responses=JSON_OR_CSV)
    router.add_api_route(f"/{_path}.csv", _csv, methods=["GET"], summary=f"{_path} as CSV (commission, admin)",
                         name=f"analytics_{_sec}_csv", response_class=Response, responses=CSV_ONLY)


@router.get("", summary="Every figure at once (commission, admin)")
def summary(session: SessionDep, actor: CurrentActor, f: FiltersDep, limit: Limit = 100) -> JSONResponse:
    # JSONResponse directly: the report is plain JSON data, and FastAPI's encoder would walk it again (slow)
    return JSONResponse(analytics.report(session, actor, f, limit=limit))


@router.get("/breakdowns/{dimension}.csv", summary="A breakdown as CSV (commission, admin)", response_class=Response,
            responses=CSV_ONLY)
def breakdown_csv(session: SessionDep, actor: CurrentActor, f: FiltersDep, dimension: Dimension) -> Response:
    rep = analytics.report(session, actor, f, sections=["breakdowns"])
    return csv_response(rep, "breakdowns", f"by-{dimension}", dimension)


@router.get("/breakdowns/{dimension}", summary="Funnel counts by track, hospital, department, partner, region, "
                                               "partner_region or month (commission, admin)",
            response_class=JSONResponse, responses=JSON_OR_CSV)
def breakdown(session: SessionDep, actor: CurrentActor, f: FiltersDep, dimension: Dimension,
              format: Format = "json") -> Any:
    rep = analytics.report(session, actor, f, sections=["breakdowns"])
    if format == "csv":
        return csv_response(rep, "breakdowns", f"by-{dimension}", dimension)
    return JSONResponse({"filters": rep["filters"], "dimension": dimension,
                         "steps": list(analytics.steps_of(dimension)), "rows": rep["breakdowns"][dimension]})
