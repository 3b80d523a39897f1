"""Signing in and out: e-mail and password, invitation and password-reset links, the start page that leads each
role home, and the access-token sign-in the dashboard had (kept for operators and scripts).

Failed sign-ins count towards the address's authentication throttle (the API's, app.security.AuthThrottle). The
sign-in page says the same for an unknown address, a wrong password and a deactivated person; the reset page
says the same whether or not the address has an account.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from asgi_correlation_id import correlation_id
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.errors import AppError, TooManyRequests, Unauthorized
from app.i18n import msg
from app.models import ApiToken, Organisation
from app.models.user import InvitationPurpose
from app.policy import Actor
from app.security import client_address, client_request_id
from app.services import accounts, sessions, users
from app.web.core import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    PageDep,
    Web,
    anonymous,
    form_errors,
    home_of,
    redirect,
    render,
    set_cookie,
)

router = APIRouter(include_in_schema=False)
Anyone = Annotated[Web, anonymous()]
AnyonePost = Annotated[Web, anonymous(csrf=True)]


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (no scheme, no //host, no backslash tricks) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return None


def start_session(request: Request, w: Web, actor: Actor, method: str, target: str | None,
                  token: ApiToken | None = None) -> RedirectResponse:
    """Open a server-side session for ``actor`` (ending the one this browser had) and go to ``target``."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        sessions.end_session(w.session, old, actor)
    lifetime = timedelta(hours=request.app.state.settings.session_lifetime_hours)
    secret = sessions.open_session(w.session, actor, lifetime=lifetime, method=method, token=token)
    resp = RedirectResponse(target or home_of(actor.role), status_code=303)
    set_cookie(request, resp, SESSION_COOKIE, secret, max_age=int(lifetime.total_seconds()))
    resp.delete_cookie(CSRF_COOKIE, path="/")
    return resp


@router.get("/", response_class=HTMLResponse)
def home(w: Anyone) -> Response:
    return RedirectResponse(home_of(w.actor.role) if w.actor else "/signin", status_code=303)


# --- e-mail and password -------------------------------------------------------------------------------------------

@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, w: Anyone, next: str | None = None) -> Response:
    if w.actor is not None:
        return RedirectResponse(_safe_next(next) or home_of(w.actor.role), status_code=303)
    return render(request, "auth/signin.html", next=_safe_next(next) or "")


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, w: AnyonePost, email: Annotated[str, Form(max_length=254)] = "",
           password: Annotated[str, Form(max_length=1000)] = "",
           next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    throttle, address = request.app.state.auth_throttle, client_address(request)
    credential = f"{email.strip().lower()}\n{password}"
    form = {"email": email}
    try:
        throttle.check(address, credential)
    except TooManyRequests as e:
        return render(request, "auth/signin.html", status=429, headers=e.headers, form=form, next=_safe_next(next),
                      errors={"_": w.t("Too many failed attempts; try again later.")})
    actor = accounts.authenticate_password(w.session, email, password, correlation_id.get(), client_request_id.get())
    if actor is None:
        throttle.failed(address)
        return render(request, "auth/signin.html", status=401, form=form, next=_safe_next(next),
                      errors={"_": w.t("The e-mail address or the password is not right.")})
    throttle.succeeded(credential)
    return start_session(request, w, actor, "password", _safe_next(next))


@router.post("/signout")
def signout(request: Request, w: PageDep, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    if w.session_secret:  # a live session ends only with its own CSRF token (no forced sign-out from elsewhere)
        if csrf_token != sessions.csrf_token(w.session_secret):
            return render(request, "error.html", status=403, status_code=403, csrf=True)
        sessions.end_session(w.session, w.session_secret, w.actor)
    resp = redirect("/signin", flash=msg("You are signed out."))
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# --- invitation and reset links ------------------------------------------------------------------------------------

def _link_page(request: Request, w: Web, token: str, purpose: InvitationPurpose, status: int = 200,
               errors: dict | None = None, form: dict | None = None) -> Response:
    inv = accounts.open_link(w.session, token, purpose)
    if inv is None:
        return render(request, "auth/link_invalid.html", status=410)
    org = w.session.get(Organisation, inv.organisation_id)
    return render(request, "auth/set_password.html", status=status, invitation=inv, organisation=org,
                  purpose=purpose.value, errors=errors or {}, form=form or {"full_name": inv.full_name},
                  min_length=request.app.state.settings.password_min_length)


def _use_link(request: Request, w: Web, token: str, purpose: InvitationPurpose, password: str, password2: str,
              full_name: str | None) -> Response:
    form = {"full_name": full_name or ""}
    if password != password2:
        return _link_page(request, w, token, purpose, 422, {"password2": w.t("The two passwords differ.")}, form)
    try:
        accounts.accept(w.session, request.app.state.settings, token, password, purpose, full_name)
    except AppError as e:
        w.session.rollback()
        return _link_page(request, w, token, purpose, 422, form_errors(e, w.lang), form)
    return redirect("/signin", flash=msg("Your password is set; sign in with it."))


@router.get("/invite/{token}", response_class=HTMLResponse)
def invitation_form(request: Request, w: Anyone, token: str) -> Response:
    return _link_page(request, w, token, InvitationPurpose.invite)


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept_invitation(request: Request, w: AnyonePost, token: str,
                      password: Annotated[str, Form(max_length=1000)] = "",
                      password2: Annotated[str, Form(max_length=1000)] = "",
                      full_name: Annotated[str, Form(max_length=200)] = "") -> Response:
    return _use_link(request, w, token, InvitationPurpose.invite, password, password2, full_name)


@router.get("/reset", response_class=HTMLResponse)
def reset_form(request: Request, w: Anyone) -> Response:
    return render(request, "auth/reset_request.html")


@router.post("/reset", response_class=HTMLResponse)
def reset_request(request: Request, w: AnyonePost, email: Annotated[str, Form(max_length=254)] = "") -> Response:
    if "@" not in email:
        return render(request, "auth/reset_request.html", status=422, form={"email": email},
                      errors={"email": w.t("Enter the e-mail address you sign in with.")})
    # each request counts against the address like a failed sign-in: nobody fills a mailbox with reset e-mails
    throttle, address = request.app.state.auth_throttle, client_address(request)
    try:
        throttle.check(address, None)
    except TooManyRequests as e:
        return render(request, "auth/reset_request.html", status=429, headers=e.headers, form={"email": email},
                      errors={"_": w.t("Too many failed attempts; try again later.")})
    throttle.failed(address)
    accounts.request_reset(w.session, request.app.state.settings, email, w.lang)
    return render(request, "auth/reset_sent.html")  # the same answer whether or not the address is known


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_password_form(request: Request, w: Anyone, token: str) -> Response:
    return _link_page(request, w, token, InvitationPurpose.reset)


@router.post("/reset/{token}", response_class=HTMLResponse)
def reset_password(request: Request, w: AnyonePost, token: str, password: Annotated[str, Form(max_length=1000)] = "",
                   password2: Annotated[str, Form(max_length=1000)] = "") -> Response:
    return _use_link(request, w, token, InvitationPurpose.reset, password, password2, None)


# --- an access token (the dashboard's first sign-in; operators and scripts) ----------------------------------------

@router.get("/dashboard/signin", response_class=HTMLResponse)
def token_form(request: Request, w: Anyone) -> Response:
    return render(request, "auth/token_signin.html")


@router.post("/dashboard/signin", response_class=HTMLResponse)
def token_signin(request: Request, w: AnyonePost, token: Annotated[str, Form(max_length=500)] = "") -> Response:
    token = token.strip()
    throttle, address = request.app.state.auth_throttle, client_address(request)
    try:
        throttle.check(address, token)
    except TooManyRequests as e:
        return render(request, "auth/token_signin.html", status=429, headers=e.headers,
                      errors={"_": w.t("Too many failed attempts; try again later.")})
    try:
        actor, tok = users.authenticate_token(w.session, token, correlation_id.get(), client_request_id.get()) \
            if token else (None, None)
    except Unauthorized:
        actor = tok = None
    if actor is None:
        throttle.failed(address)
        return render(request, "auth/token_signin.html", status=401,
                      errors={"_": w.t("The token is invalid, revoked or expired.")})
    throttle.succeeded(token)
    if not actor.reads_everything:  # this form is the dashboard's: others sign in with their password
        return render(request, "error.html", status=403, status_code=403, forbidden=True)
    return start_session(request, w, actor, "token", "/dashboard", token=tok)
