"""The people's web app: what every page module shares. Server-rendered Jinja, htmx for small enhancements, every
asset local under the CSP (app/security.py), Chinese by default.

Who is asking: the ``clinmatch_session`` cookie (HttpOnly, SameSite=Lax, Secure on https, path ``/``) holds only a
random id of a server-side session (app.services.sessions: idle and absolute expiry, ended at sign-out, when the
user is deactivated or their access revoked). An ``Authorization: Bearer`` header is accepted too (integrations,
tests); such a request needs no CSRF token, since no browser sends that header by itself.

The page's language: ``?lang=`` (the zh/en switch; remembered in a cookie, and as the person's own preference when
signed in), else the person's preference, else the cookie, else Accept-Language, else Chinese. Page strings are
English msgids translated by the ONE catalogue the API uses (app.i18n; Chinese in app/locale/build_po.py).

How a page module is written (app/web/admin.py is a complete example)::

    router = APIRouter(include_in_schema=False)

    @router.get("/needs", response_class=HTMLResponse)
    def needs_page(request: Request, w: Annotated[Web, require(Role.hospital_staff)]) -> Response:
        rows = needs.list_needs(w.session, w.actor, ...)          # the same service as the API, no second rule
        return render(request, "hospital/needs.html", rows=rows)   # adds lang, t, csrf_token, person, nav

    @router.post("/needs/new", response_class=HTMLResponse)
    def file_need(request: Request, w: Annotated[Web, require(Role.hospital_staff, csrf=True)],
                  title: Annotated[str, Form(max_length=300)] = "") -> Response:
        try:
            data = NeedCreate(title=title, ...)                   # pydantic: field errors
            need = needs.create(w.session, w.actor, data)          # AppError: a rule broken
        except (ValidationError, AppError) as e:
            w.session.rollback()                                   # nothing the failed try wrote is kept
            return render(request, "hospital/need_form.html", status=422, errors=form_errors(e, w.lang),
                          form={"title": title})
        return redirect(f"/needs/{need.id}", flash=msg("Need saved."))  # msg: an English catalogue entry

- ``require(*roles, csrf=False)``: signed in (else a redirect to /signin?next=...), one of ``roles`` if any are
  named (else the 403 page); ``csrf=True`` for every POST: the form's ``csrf_token`` (``{{ csrf_field() }}`` in
  the template) must match the session's, else a 403 page and nothing changes. ``anonymous(csrf=True)`` is the
  same for pages without a person (sign-in, set password, reset).
- ``render(request, template, status=200, **ctx)``: templates extend ``base.html`` and use ``t("English text")``
  (add the Chinese to build_po.py; tests/web/test_catalogue.py checks every ``t("...")`` of the templates).
- Forms: ``form_errors(exc, lang)`` gives ``{field: message}`` in the page's language (pydantic's field errors, an
  ``Invalid``'s field, any other ``AppError`` under ``"_"``); the ``field()`` macro of ``_forms.html`` shows each
  beside its field, ``"_"`` at the top of the form. A service's AppError that escapes a handler is still a page
  in the page's language (install_page_errors), never JSON or a stack trace.
- ``redirect(url, flash=msg("..."))``: 303 after a successful POST; the message is shown once by base.html.
- A new module: ``router = APIRouter(include_in_schema=False)`` and one line in ``PAGE_MODULES`` (app/web/__init__.py);
  its menu entries are in ``NAV`` below; its templates extend base.html and import ``_forms.html`` ``with context``.
- Tests: tests/web/conftest.py (live server, people with passwords, Chromium, axe-core, screenshots).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from asgi_correlation_id import correlation_id
from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.deps import SessionDep, authenticate_bearer
from app.errors import (
    AppError,
    CsrfRefused,
    Invalid,
    PageForbidden,
    PageTooMany,
    SignInRequired,
    TooManyRequests,
    Unauthorized,
    _field_path,
    field_message,
)
from app.i18n import LANGS, msg, negotiate, say
from app.models import Organisation, User, UserNotificationPreference
from app.models.common import LOCAL_TZ
from app.models.enums import Role
from app.models.notification import UserPreferenceUpdate
from app.policy import Actor
from app.security import client_request_id
from app.services import sessions
from app.services.notifications import preferences
from app.web.i18n import translator

log = logging.getLogger("clinmatch.web")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# times are shown on the cluster's clock, whatever the server's zone
templates.env.filters["local"] = lambda dt, fmt="%Y-%m-%d %H:%M": dt.astimezone(LOCAL_TZ).strftime(fmt) if dt else ""
SESSION_COOKIE = "clinmatch_session"
CSRF_COOKIE = "clinmatch_csrf"  # the double-submit cookie of forms shown before there is a session
LANG_COOKIE = "clinmatch_lang"
FLASH_COOKIE = "clinmatch_flash"
# Paths that are the API's (problem JSON), not pages
NOT_PAGES = ("/api/", "/docs", "/openapi.json", "/static/", "/health")

# Each role's menu: (path, English label). The first entry is the role's home (where / and sign-in lead).
NAV: dict[Role, list[tuple[str, str]]] = {
    Role.hospital_staff: [("/needs", msg("My needs")), ("/threads", msg("Messages")), ("/settings", msg("Settings"))],
    Role.company_staff: [("/inbox", msg("Matches")), ("/browse", msg("Browse needs")),
                         ("/capabilities", msg("Capabilities")), ("/threads", msg("Messages")),
                         ("/settings", msg("Settings"))],
    Role.commission: [("/dashboard", msg("Dashboard")), ("/queue", msg("Brokering queue")),
                      ("/introductions", msg("Introductions")), ("/notes", msg("Notes")),
                      ("/dashboard/industry/map", msg("Industry map")),
                      ("/dashboard/industry/chain", msg("Chain graph")),
                      ("/dashboard/industry/gaps", msg("Investment gaps")),
                      ("/audit", msg("Audit trail")), ("/admin/invitations", msg("Invitations"))],
    Role.admin: [("/admin/users", msg("People")), ("/admin/organisations", msg("Organisations")),
                 ("/admin/invitations", msg("Invitations")), ("/dashboard", msg("Dashboard")),
                 ("/audit", msg("Audit trail"))],
}


def home_of(role: Role) -> str:
    return NAV[role][0][0]


@dataclass(frozen=True)
class Person:
    """What the layout shows of the person: plain values, still there after a failed request's rollback has
    expired the database rows."""

    user_id: int
    email: str
    full_name: str
    role: Role
    organisation_id: int
    organisation_name: str


@dataclass
class Web:
    """The request as a page sees it: the database session, the person (or None), the page's language."""

    request: Request
    session: Session
    actor: Actor | None = None
    user: User | None = None
    organisation: Organisation | None = None
    lang: str = "zh"
    session_secret: str | None = None  # the session cookie's value: its CSRF token derives from it
    via_bearer: bool = False
    person: Person | None = None
    _anon_csrf: str | None = field(default=None, repr=False)

    @property
    def t(self):
        return translator(self.lang)

    def say(self, message: str) -> str:
        return say(message, self.lang)

    @property
    def csrf(self) -> str:
        """The token every form of this page carries: the session's, or (no session yet) the signed half of the
        double-submit pair whose other half is the CSRF cookie."""
        if self.session_secret:
            return sessions.csrf_token(self.session_secret)
        if self._anon_csrf is None:
            self._anon_csrf = self.request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        return _sign(self.request, self._anon_csrf)


def _sign(request: Request, value: str) -> str:
    return hmac.new(request.app.state.web_secret.encode(), value.encode(), hashlib.sha256).hexdigest()


# --- exceptions a page raises (rendered by install_page_errors) ---------------------------------------------------

# --- who is asking, in which language ----------------------------------------------------------------------------

def page_lang(request: Request, preferred: str | None = None) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    if preferred in LANGS:
        return preferred
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    return negotiate(request.headers.get("accept-language"))


def _remember_language(session: Session, actor: Actor, lang: str) -> None:
    """The switch was used while signed in: it becomes the person's own language (pages, e-mails, API errors),
    through the same service as PUT /notifications/preferences/me (versioned, audited)."""
    row = preferences.for_user(session, actor.user_id)
    try:
        preferences.update_user(session, actor, UserPreferenceUpdate(language=lang), row.version)
    except AppError:  # a concurrent change won: the page is still shown in the language asked for
        log.info("language preference of user %s not saved (changed meanwhile)", actor.user_id)


def web_context(request: Request, session: SessionDep) -> Web:
    """The page's context (a dependency; cached per request, so ``require`` and the handler share it)."""
    w = Web(request=request, session=session)
    auth = request.headers.get("authorization", "")
    secret = request.cookies.get(SESSION_COOKIE)
    preferred = None
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        try:
            w.actor = authenticate_bearer(request, session, auth[7:].strip())
        except Unauthorized:
            w.actor = None
        except TooManyRequests as e:
            raise PageTooMany(e.headers) from e
        if w.actor is not None:
            w.via_bearer = True
            w.user = session.get(User, w.actor.user_id)
            w.organisation = session.get(Organisation, w.actor.organisation_id)
            preferred = session.scalar(select(UserNotificationPreference.language)
                                       .where(UserNotificationPreference.user_id == w.actor.user_id))
    elif secret:
        idle = timedelta(minutes=request.app.state.settings.session_idle_minutes)
        person = sessions.session_person(session, secret, idle=idle, request_id=correlation_id.get(),
                                         client_request_id=client_request_id.get())
        if person is not None:
            w.actor, w.user, w.organisation, preferred = person.actor, person.user, person.organisation, \
                person.language
            w.session_secret = secret
    if w.user is not None and w.organisation is not None:
        w.person = Person(w.user.id, w.user.email, w.user.full_name, w.actor.role, w.organisation.id,
                          w.organisation.display_name)
    w.lang = page_lang(request, preferred)
    asked = request.query_params.get("lang")
    if w.user is not None and asked in LANGS and asked != preferred and not w.via_bearer:
        _remember_language(session, w.actor, asked)
    request.state.web = w
    request.state.actor = w.actor  # the API's error handlers speak the person's language too
    return w


PageDep = Annotated[Web, Depends(web_context)]


def _check_csrf(w: Web, sent: str) -> None:
    if w.via_bearer:
        return
    if w.session_secret:
        expected = sessions.csrf_token(w.session_secret)
    else:
        raw = w.request.cookies.get(CSRF_COOKIE)
        if not raw:
            raise CsrfRefused
        expected = _sign(w.request, raw)
    if not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused


def require(*roles: Role, csrf: bool = False):
    """A dependency: a signed-in person (of one of ``roles`` when named); ``csrf``: a POST's token checked."""
    def _person(w: Web) -> Web:
        if w.actor is None:
            raise SignInRequired
        if roles and w.actor.role not in roles:
            raise PageForbidden
        return w

    if csrf:
        def signed_in_post(w: PageDep, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Web:
            _person(w)
            _check_csrf(w, csrf_token)
            return w
        return Depends(signed_in_post)

    def signed_in(w: PageDep) -> Web:
        return _person(w)
    return Depends(signed_in)


def anonymous(csrf: bool = False):
    """A dependency for pages anybody may open (sign-in, set a password); ``csrf``: a POST's token checked."""
    if csrf:
        def anonymous_post(w: PageDep, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Web:
            _check_csrf(w, csrf_token)
            return w
        return Depends(anonymous_post)

    def anyone(w: PageDep) -> Web:
        return w
    return Depends(anyone)


# --- rendering -----------------------------------------------------------------------------------------------------

def nav_for(w: Web) -> list[dict[str, Any]]:
    if w.actor is None:
        return []
    path = w.request.url.path
    items = NAV[w.actor.role]
    # the deepest entry the path is under is the current one (/dashboard/industry/map, not also /dashboard)
    under = [href for href, _ in items if path == href or path.startswith(href + "/")]
    current = max(under, key=len) if under else None
    return [{"href": href, "label": w.t(label), "current": href == current} for href, label in items]


def _lang_url(request: Request, lang: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(query)}"


def _anonymous_context(request: Request) -> Web:
    """For pages rendered where no dependency ran (an unknown path, a malformed request): no person, no database."""
    w = Web(request=request, session=None)  # type: ignore[arg-type]
    w.lang = page_lang(request)
    return w


def render(request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None,
           **ctx: Any) -> HTMLResponse:
    """The template with what every page needs: lang, t, csrf_token, person, organisation, nav, the other
    language's URL, the flash message, the CSP nonce (for a page's own inline script or style)."""
    w: Web = getattr(request.state, "web", None) or _anonymous_context(request)
    other = "en" if w.lang == "zh" else "zh"
    flash = request.cookies.get(FLASH_COOKIE)
    base = {"lang": w.lang, "t": w.t, "say": w.say, "csrf_token": w.csrf, "person": w.person, "actor": w.actor, "nav": nav_for(w), "other_lang": other,
            "lang_url": _lang_url(request, other),
            "flash": w.t(flash) if flash else None, "nonce": getattr(request.state, "csp_nonce", ""),
            "errors": {}, "form": {}}
    resp = templates.TemplateResponse(request, template, {**base, **ctx}, status_code=status, headers=headers)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Content-Language"] = "zh-CN" if w.lang == "zh" else "en"
    secure = request.url.scheme == "https"
    if request.query_params.get("lang") in LANGS:
        resp.set_cookie(LANG_COOKIE, w.lang, max_age=365 * 86400, samesite="lax", secure=secure, path="/")
    if w._anon_csrf is not None and request.cookies.get(CSRF_COOKIE) != w._anon_csrf:
        set_cookie(request, resp, CSRF_COOKIE, w._anon_csrf, max_age=3600)
    if flash:
        resp.delete_cookie(FLASH_COOKIE, path="/")
    return resp


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax (a link from WeChat or an e-mail opens the page signed in; every change is a POST
    with a CSRF token), Secure on https, path /."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """303 after a POST that worked; ``flash``: an English catalogue entry shown once on the next page."""
    resp = RedirectResponse(url, status_code=303)
    if flash:
        resp.set_cookie(FLASH_COOKIE, flash, max_age=60, httponly=True, samesite="lax", path="/")
    return resp


def form_errors(exc: Exception, lang: str) -> dict[str, str]:
    """``{field: message}`` in ``lang``: pydantic's field errors, an ``Invalid``'s field, or ``"_"`` for any other
    service error (shown at the top of the form)."""
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for e in exc.errors():
            out.setdefault(_field_path(e.get("loc", ())) or "_", field_message(e, lang))
        return out
    if isinstance(exc, Invalid) and exc.errors:
        return {e["field"]: say(e["message"], lang) for e in exc.errors}
    if isinstance(exc, AppError):
        return {"_": say(exc.detail, lang)}
    raise exc


def error_page(request: Request, status: int, message: str | None = None, headers: dict[str, str] | None = None,
               **ctx: Any) -> HTMLResponse:
    return render(request, "error.html", status=status, headers=headers, status_code=status, message=message, **ctx)


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(NOT_PAGES)


def install_page_errors(app: FastAPI) -> None:
    """Pages answer errors as pages in the page's language; the API keeps its problem JSON (the handlers
    app/errors.py installed are called for everything that is not a page)."""
    api_app_error = app.exception_handlers[AppError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        resp = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        if request.cookies.get(SESSION_COOKIE):  # ended or unknown: forget it
            resp.delete_cookie(SESSION_COOKIE, path="/")
        return resp

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden):
        return error_page(request, 403, forbidden=True)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused):
        return error_page(request, 403, csrf=True)

    @app.exception_handler(PageTooMany)
    async def _too_many(request: Request, exc: PageTooMany):
        return error_page(request, 429, msg("Too many failed attempts; try again later."), headers=exc.headers)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError):
        if not is_page(request):
            return await api_app_error(request, exc)
        w = getattr(request.state, "web", None)
        lang = w.lang if w else page_lang(request)
        return error_page(request, exc.status, say(exc.detail, lang), headers=getattr(exc, "headers", None),
                          translated=True)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if not is_page(request):
            return await api_validation(request, exc)
        return error_page(request, 422, msg("The form could not be read; reload the page and try again."))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if not is_page(request) or exc.status_code not in (404, 405):
            return await api_http(request, exc)
        return error_page(request, exc.status_code, msg("This page does not exist.") if exc.status_code == 404
                          else msg("This page does not accept that request."))
