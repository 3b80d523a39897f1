"""The commission's dashboard: server-rendered pages over app.services.analytics (the API's own figures).

Sign-in takes an access token of a commission or admin account and opens a server-side session
(app.services.sessions): the HttpOnly, SameSite=Strict cookie holds only a random session id, checked on every
request (signing out, revoking the token or all of the user's access, or deactivating the user ends it at once). A
request may also send ``Authorization: Bearer``. Every POST form carries a CSRF token: the session's own once signed
in; before that (the sign-in form) a signed double-submit cookie. Failed sign-ins count towards the address's
authentication throttle. Anybody else gets a 403 page. Chinese by default; ``?lang=en`` switches and is remembered
in a cookie. Charts: Chart.js 4.6.1, vendored under static/vendor (no CDN).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.deps import SessionDep, authenticate_bearer
from app.errors import AppError, TooManyRequests, Unauthorized
from app.models.common import LOCAL_TZ
from app.models.enums import Region, Track
from app.policy import Actor
from app.security import client_address, client_request_id
from app.services import analytics, engagements, sessions, users
from app.web.i18n import LANGS, translator

log = logging.getLogger("clinmatch.web")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# times are shown on the cluster's clock, whatever the server's zone
templates.env.filters["local"] = lambda dt, fmt="%Y-%m-%d %H:%M": dt.astimezone(LOCAL_TZ).strftime(fmt) if dt else ""
SESSION_COOKIE = "clinmatch_session"
CSRF_COOKIE = "clinmatch_csrf"  # the sign-in form's double-submit cookie (before there is a session)
LANG_COOKIE = "clinmatch_lang"
CHARTJS = "vendor/chartjs-4.6.1/chart.umd.min.js"
PAGE_ROWS = 50  # rows shown per list; the CSV export has them all

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return lang if lang in LANGS else "zh"


def _remember_lang(request: Request, response: Response, lang: str) -> Response:
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def _page(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
          **ctx: Any) -> HTMLResponse:
    lang = _lang(request)
    secret = getattr(request.state, "session_secret", None)
    base = {"lang": lang, "t": translator(lang), "chartjs": CHARTJS,
            "csrf_token": sessions.csrf_token(secret) if secret else ""}
    resp = templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status, headers=headers)
    resp.headers["Cache-Control"] = "no-store"
    _remember_lang(request, resp, lang)
    return resp


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/dashboard")


def _signin_page(request: Request, status: int = 200, error: str | None = None,
                 headers: dict[str, str] | None = None) -> HTMLResponse:
    raw, signed = _signin_csrf(request)
    resp = _page(request, "signin.html", status=status, headers=headers, error=error, signin_csrf=signed)
    _set_cookie(request, resp, CSRF_COOKIE, raw, max_age=3600)
    return resp


def _too_many(request: Request, e: TooManyRequests) -> HTMLResponse:
    return _signin_page(request, status=429, error="too_many", headers=e.headers)


def _actor(request: Request, session) -> Actor | None:
    """The caller from a bearer header or the session cookie; None when there is neither or it is invalid."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        try:
            return authenticate_bearer(request, session, auth[7:].strip())
        except Unauthorized:
            return None
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
    actor = sessions.session_actor(session, secret, idle=idle, request_id=correlation_id.get(),
                                   client_request_id=client_request_id.get())
    if actor is not None:
        request.state.session_secret = secret
    return actor


def _gate(request: Request, session) -> Actor | Response:
    try:
        actor = _actor(request, session)
    except TooManyRequests as e:
        return _too_many(request, e)
    if actor is None:
        resp = RedirectResponse("/dashboard/signin", status_code=303)
        if request.cookies.get(SESSION_COOKIE):  # ended or unknown: forget it
            resp.delete_cookie(SESSION_COOKIE, path="/dashboard")
        return resp
    if not actor.reads_everything:
        return _page(request, "forbidden.html", status=403)
    return actor


def _sign(request: Request, value: str) -> str:
    return hmac.new(request.app.state.dashboard_secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def _signin_csrf(request: Request) -> tuple[str, str]:
    """The sign-in form's double-submit pair: (cookie value, form value = its HMAC under the server's key)."""
    raw = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    return raw, _sign(request, raw)


def _csrf_refused(request: Request) -> HTMLResponse:
    return _page(request, "forbidden.html", status=403, csrf=True)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request) -> Response:
    return _signin_page(request)


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, session: SessionDep, token: Annotated[str, Form(max_length=500)] = "",
           csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw or not hmac.compare_digest(_sign(request, raw), csrf_token):
        return _csrf_refused(request)
    token = token.strip()
    throttle, address = request.app.state.auth_throttle, client_address(request)
    try:
        throttle.check(address, token)
    except TooManyRequests as e:
        return _too_many(request, e)
    try:
        actor, tok = users.authenticate_token(session, token, correlation_id.get(), client_request_id.get()) \
            if token else (None, None)
    except Unauthorized:
        actor = tok = None
    if actor is None:
        throttle.failed(address)
        return _signin_page(request, status=401, error="bad_token")
    throttle.succeeded(token)
    if not actor.reads_everything:
        return _page(request, "forbidden.html", status=403)
    if request.cookies.get(SESSION_COOKIE):  # a new sign-in replaces the session this browser had
        sessions.end_session(session, request.cookies[SESSION_COOKIE], actor)
    lifetime = timedelta(hours=request.app.state.settings.session_lifetime_hours)
    secret = sessions.open_session(session, actor, lifetime=lifetime, method="token", token=tok)
    resp = RedirectResponse("/dashboard", status_code=303)
    _set_cookie(request, resp, SESSION_COOKIE, secret, max_age=int(lifetime.total_seconds()))
    resp.delete_cookie(CSRF_COOKIE, path="/dashboard")
    return resp


@router.post("/signout")
def signout(request: Request, session: SessionDep, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        actor = sessions.session_actor(session, secret, idle=idle, request_id=correlation_id.get(),
                                       client_request_id=client_request_id.get())
        if actor is not None:  # a live session ends only with its own CSRF token (no forced sign-out from elsewhere)
            if not hmac.compare_digest(sessions.csrf_token(secret), csrf_token):
                request.state.session_secret = secret
                return _csrf_refused(request)
            sessions.end_session(session, secret, actor)
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
                             region=region if region in analytics.REGION_FILTERS else None, stale_days=stale,
                             fit_min_score=request.app.state.settings.fit_min_score)


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
    generated = datetime.fromisoformat(rep["generated_at"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return _page(request, "dashboard.html", rep=rep, generated_local=generated, labels=labels, f=f, query=urlencode(query),
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
    """Mount the dashboard and its static files; set the key that signs the sign-in form's CSRF cookie."""
    key = app.state.settings.secret_key
    if not key:
        key = secrets.token_urlsafe(32)
        log.warning("CLINMATCH_SECRET_KEY is not set: the dashboard's sign-in form uses a random per-process key (a "
                    "form opened before a restart or on another worker must be reloaded). Set CLINMATCH_SECRET_KEY.")
    app.state.dashboard_secret = key
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
