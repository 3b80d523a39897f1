"""Administration pages: organisations (list, create), people (list, deactivate, end every session and token),
invitations (send, withdraw). Admins do all of it; the commission invites people into the working roles
(app.policy.may_invite) and sees those invitations. Every write goes through the same services as the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import func, select

from app.errors import AppError, Conflict, Invalid
from app.i18n import msg
from app.models import Organisation, User, WebSession
from app.models.common import utcnow
from app.models.enums import ROLE_ORG_KINDS, OrgKind, Region, Role
from app.models.organisation import OrganisationCreate
from app.models.user import UserUpdate
from app.services import accounts, organisations, users
from app.services.listing import PageParams
from app.web.core import Web, form_errors, redirect, render, require

router = APIRouter(prefix="/admin", include_in_schema=False)
Admin = Annotated[Web, require(Role.admin)]
AdminPost = Annotated[Web, require(Role.admin, csrf=True)]
Inviter = Annotated[Web, require(Role.admin, Role.commission)]
InviterPost = Annotated[Web, require(Role.admin, Role.commission, csrf=True)]
PAGE_ROWS = 100


def _offset(request: Request) -> int:
    try:
        return max(0, min(int(request.query_params.get("offset") or 0), 10_000_000))
    except ValueError:
        return 0


# --- organisations ---------------------------------------------------------------------------------------------------

def _orgs_page(request: Request, w: Web, status: int = 200, errors: dict | None = None,
               form: dict | None = None) -> Response:
    q = (request.query_params.get("q") or "").strip()[:100] or None
    kind = request.query_params.get("kind") if request.query_params.get("kind") in {k.value for k in OrgKind} else None
    offset = _offset(request)
    rows, total = organisations.list_orgs(w.session, kind, None, q, PageParams(limit=PAGE_ROWS, offset=offset))
    counts = dict(w.session.exec(select(User.organisation_id, func.count()).where(
        User.organisation_id.in_([o.id for o in rows])).group_by(User.organisation_id)).all()) if rows else {}
    return render(request, "admin/organisations.html", status=status, rows=rows, total=total, counts=counts,
                  offset=offset, page_rows=PAGE_ROWS, q=q or "", kind=kind or "", kinds=[k.value for k in OrgKind],
                  regions=[r.value for r in Region], errors=errors or {},
                  form=form or {"kind": "hospital", "region": "putuo"})


@router.get("/organisations", response_class=HTMLResponse)
def organisations_page(request: Request, w: Admin) -> Response:
    return _orgs_page(request, w)


@router.post("/organisations", response_class=HTMLResponse)
def create_organisation(request: Request, w: AdminPost, kind: Annotated[str, Form(max_length=20)] = "",
                        name_zh: Annotated[str, Form(max_length=200)] = "",
                        name_en: Annotated[str, Form(max_length=200)] = "",
                        region: Annotated[str, Form(max_length=20)] = "",
                        contact_email: Annotated[str, Form(max_length=254)] = "") -> Response:
    form = {"kind": kind, "name_zh": name_zh, "name_en": name_en, "region": region, "contact_email": contact_email}
    values = {k: v.strip() for k, v in form.items() if v.strip()}
    try:
        org = organisations.create(w.session, w.actor, OrganisationCreate(**values))
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errors = form_errors(e, w.lang)
        if isinstance(e, ValidationError) and "_" in errors:  # the model's own rule: a name in either language
            errors["name_zh"] = errors.pop("_")
        return _orgs_page(request, w, 422, errors, form)
    return redirect(f"/admin/users?organisation_id={org.id}", flash=msg("The organisation is created; invite its people."))


# --- people ----------------------------------------------------------------------------------------------------------

@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, w: Admin) -> Response:
    q = request.query_params
    try:
        org_id = int(q["organisation_id"]) if q.get("organisation_id") else None
    except ValueError:
        org_id = None
    role = q.get("role") if q.get("role") in {r.value for r in Role} else None
    offset = _offset(request)
    rows, total = users.list_users(w.session, w.actor, org_id, role, PageParams(limit=PAGE_ROWS, offset=offset))
    orgs = {o.id: o for o in w.session.exec(select(Organisation).where(
        Organisation.id.in_({u.organisation_id for u in rows} | ({org_id} if org_id else set()))))}
    now = utcnow()
    live = dict(w.session.exec(select(WebSession.user_id, func.count()).where(
        WebSession.user_id.in_([u.id for u in rows]), WebSession.revoked_at.is_(None),
        WebSession.expires_at > now).group_by(WebSession.user_id)).all()) if rows else {}
    return render(request, "admin/users.html", rows=rows, total=total, orgs=orgs, live=live, offset=offset,
                  page_rows=PAGE_ROWS, organisation=orgs.get(org_id) if org_id else None, role=role or "",
                  roles=[r.value for r in Role])


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, w: Admin, user_id: int) -> Response:
    user = users.read_user(w.session, w.actor, user_id)  # a 404 AppError: the error page
    now = utcnow()
    live = w.session.exec(select(func.count()).select_from(WebSession).where(
        WebSession.user_id == user_id, WebSession.revoked_at.is_(None), WebSession.expires_at > now)).one()
    return render(request, "admin/user.html", user=user, org=w.session.get(Organisation, user.organisation_id),
                  tokens=users.list_tokens(w.session, w.actor, user_id), live_sessions=live, now=now)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, w: AdminPost, token_id: int) -> Response:
    tok = users.revoke_token(w.session, w.actor, token_id)  # and the browser sessions opened with it
    return redirect(f"/admin/users/{tok.user_id}", flash=msg("The token is revoked."))


@router.post("/users/{user_id}/deactivate", response_class=HTMLResponse)
def deactivate(request: Request, w: AdminPost, user_id: int) -> Response:
    if user_id == w.actor.user_id:
        raise Invalid("user_id", msg("You cannot deactivate yourself."))
    users.update_user(w.session, w.actor, user_id, UserUpdate(is_active=False))  # ends its tokens and sessions
    return redirect("/admin/users", flash=msg("The person is deactivated; their sessions and tokens have ended."))


@router.post("/users/{user_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, w: AdminPost, user_id: int) -> Response:
    users.revoke_everything(w.session, w.actor, user_id)
    return redirect("/admin/users", flash=msg("Every session and token of this person has ended."))


# --- invitations -----------------------------------------------------------------------------------------------------

def _invitations_page(request: Request, w: Web, status: int = 200, errors: dict | None = None,
                      form: dict | None = None) -> Response:
    rows = accounts.list_invitations(w.session, w.actor)
    orgs = {o.id: o for o in w.session.exec(select(Organisation).order_by(Organisation.name_zh))}
    roles = [r.value for r in Role if w.actor.role == Role.admin or r != Role.admin]
    now = utcnow()
    default_org = request.query_params.get("organisation_id", "")
    return render(request, "admin/invitations.html", status=status, rows=rows, orgs=orgs, roles=roles,
                  status_of=lambda inv: accounts.status(inv, now), errors=errors or {},
                  form=form or {"role": "hospital_staff", "organisation_id": default_org, "language": w.lang},
                  role_kinds={r.value: sorted(k.value for k in ROLE_ORG_KINDS[r]) for r in Role})


@router.get("/invitations", response_class=HTMLResponse)
def invitations_page(request: Request, w: Inviter) -> Response:
    return _invitations_page(request, w)


@router.post("/invitations", response_class=HTMLResponse)
def invite(request: Request, w: InviterPost, email: Annotated[str, Form(max_length=254)] = "",
           full_name: Annotated[str, Form(max_length=200)] = "", role: Annotated[str, Form(max_length=20)] = "",
           organisation_id: Annotated[str, Form(max_length=20)] = "",
           language: Annotated[str, Form(max_length=2)] = "zh") -> Response:
    form = {"email": email, "full_name": full_name, "role": role, "organisation_id": organisation_id,
            "language": language}
    errors: dict[str, str] = {}
    if "@" not in email or len(email.strip()) < 3:
        errors["email"] = w.t("Enter an e-mail address.")
    if role not in {r.value for r in Role}:
        errors["role"] = w.t("Choose a role.")
    if not organisation_id.isdigit():
        errors["organisation_id"] = w.t("Choose an organisation.")
    if not errors:
        try:
            accounts.invite(w.session, w.actor, request.app.state.settings, accounts.InvitationRequest(
                email=email, role=Role(role), organisation_id=int(organisation_id), full_name=full_name,
                language=language if language in ("zh", "en") else "zh"))
        except AppError as e:
            w.session.rollback()
            errors = form_errors(e, w.lang)
            if isinstance(e, Conflict):  # the address has an account already: said beside the address
                errors["email"] = errors.pop("_")
    if errors:
        return _invitations_page(request, w, 422, errors, form)
    return redirect("/admin/invitations", flash=msg("The invitation is on its way by e-mail."))


@router.post("/invitations/{invitation_id}/revoke", response_class=HTMLResponse)
def revoke_invitation(request: Request, w: InviterPost, invitation_id: int) -> Response:
    accounts.revoke_invitation(w.session, w.actor, invitation_id)
    return redirect("/admin/invitations", flash=msg("The invitation is withdrawn; its link no longer works."))
