"""The commission's dashboard: server-rendered pages over app.services.analytics (the API's own figures).

Sign-in takes an access token; a commission or admin token is kept, signed (itsdangerous), in an HttpOnly,
SameSite=Strict cookie and checked again on every request (so revoking the token ends the session). A request may
also send ``Authorization: Bearer``. Anybody else gets a 403 page. Chinese by default; ``?lang=en`` switches and is
remembered in a cookie. Charts: Chart.js 4.6.1, vendored under static/vendor (no CDN).
"""

from __future__ import annotations

import logging
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.deps import SessionDep
from app.errors import AppError, Unauthorized
from app.models.enums import Region, Track
from app.policy import Actor
from app.services import analytics, engagements, users
from app.web.i18n import LANGS, translator

log = logging.getLogger("clinmatch.web")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SESSION_COOKIE = "clinmatch_session"
LANG_COOKIE = "clinmatch_lang"
SESSION_MAX_AGE = 8 * 3600
CHARTJS = "vendor/chartjs-4.6.1/chart.umd.min.js"
PAGE_ROWS = 50  # rows shown per list; the CSV export has them all

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.dashboard_secret, salt="clinmatch-dashboard")


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return lang if lang in LANGS else "zh"


def _remember_lang(request: Request, response: Response, lang: str) -> Response:
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    base = {"lang": lang, "t": translator(lang), "chartjs": CHARTJS}
    resp = templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)
    resp.headers["Cache-Control"] = "no-store"
    _remember_lang(request, resp, lang)
    return resp


def _actor(request: Request, session) -> Actor | None:
    """The caller from the session cookie or a bearer header; None when there is neither or it is invalid."""
    secret = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        secret = auth[7:].strip()
    elif request.cookies.get(SESSION_COOKIE):
        try:
            secret = _serializer(request).loads(request.cookies[SESSION_COOKIE], max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
    if not secret:
        return None
    try:
        return users.authenticate(session, secret)
    except Unauthorized:
        return None


def _gate(request: Request, session) -> Actor | Response:
    actor = _actor(request, session)
    if actor is None:
        return RedirectResponse("/dashboard/signin", status_code=303)
    if not actor.reads_everything:
        return _page(request, "forbidden.html", status=403)
    return actor


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return _page(request, "signin.html")


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, session: SessionDep, token: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        actor = users.authenticate(session, token.strip()) if token.strip() else None
    except Unauthorized:
        actor = None
    if actor is None:
        return _page(request, "signin.html", status=401, error="bad_token")
    if not actor.reads_everything:
        return _page(request, "forbidden.html", status=403)
    resp = RedirectResponse("/dashboard", status_code=303)
    resp.set_cookie(SESSION_COOKIE, _serializer(request).dumps(token.strip()), max_age=SESSION_MAX_AGE,
                    httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/dashboard")
    return resp


@router.post("/signout")
def signout() -> Response:
    resp = RedirectResponse("/dashboard/signin", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return resp


def _parse(request: Request) -> analytics.Filters:
    """The filters from the query string; anything malformed is ignored (the page shows what it used)."""
    q = request.query_params

    def day(name: str) -> date | None:
        try:
            return analytics.date_in_range(date.fromisoformat(q[name])) if q.get(name) else None
        except ValueError:  # malformed or out of range (9999-12-31 overflowed the query: a 500)
            return None

    try:
        stale = max(0, min(int(q.get("stale_days") or 30), 3650))
    except ValueError:
        stale = 30
    track = q.get("track")
    region = q.get("region")
    return analytics.Filters(date_from=day("date_from"), date_to=day("date_to"),
                             track=Track(track) if track in {t.value for t in Track} else None,
                             region=region if region in analytics.REGION_FILTERS else None, stale_days=stale)


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    f = _parse(request)
    rep = analytics.report(session, gate, f, limit=PAGE_ROWS)
    query = {k: v for k, v in {"date_from": f.date_from, "date_to": f.date_to, "track": f.track.value if f.track
                               else None, "region": f.region, "stale_days": f.stale_days}.items() if v is not None}
    t = translator(_lang(request))
    labels = {"steps": [t(r["step"]) for r in rep["funnel"]], "stages": [t(r["stage"]) for r in rep["stage_durations"]],
              **{k: t(k) for k in ("median", "p90", "filed", "interested", "intent_signed", "clinical_use", "count")}}
    return _page(request, "dashboard.html", rep=rep, labels=labels, f=f, query=urlencode(query),
                 tracks=[t.value for t in Track], regions=[r.value for r in Region] + ["jiangsu"],
                 dimensions=analytics.DIMENSIONS, steps_of=analytics.steps_of,
                 other_lang="en" if _lang(request) == "zh" else "zh",
                 lang_query=urlencode({**query, "lang": "en" if _lang(request) == "zh" else "zh"}),
                 chart={"funnel": rep["funnel"], "durations": rep["stage_durations"],
                        "months": rep["breakdowns"]["month"]})


@router.get("/export/{name}.csv")
def export(request: Request, session: SessionDep, name: str) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    section, _, dimension = name.partition("-")
    if section not in analytics.SECTIONS or (section == "breakdowns") != (dimension in analytics.DIMENSIONS):
        return Response("unknown export", status_code=404, media_type="text/plain")
    rep = analytics.report(session, gate, _parse(request), sections=[section])
    header, rows = analytics.table(rep, section, dimension or None)
    return Response(analytics.to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-{name}.csv"'})


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement(request: Request, session: SessionDep, engagement_id: int) -> Response:
    gate = _gate(request, session)
    if not isinstance(gate, Actor):
        return gate
    try:
        eng = engagements.get_visible(session, gate, engagement_id)
    except AppError:
        return _page(request, "forbidden.html", status=404, missing=True)
    return _page(request, "engagement.html", e=engagements.detail(session, gate, eng))


def install_web(app: FastAPI) -> None:
    """Mount the dashboard and its static files; set the cookie-signing key."""
    key = app.state.settings.secret_key
    if not key:
        key = secrets.token_urlsafe(32)
        log.warning("CLINMATCH_SECRET_KEY is not set: dashboard sessions use a random per-process key (they end on "
                    "restart and do not span workers). Set CLINMATCH_SECRET_KEY in production.")
    app.state.dashboard_secret = key
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
