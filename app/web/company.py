"""Company staff's pages: the inbox of ranked matches told to my organisation, the needs browser, my capability
catalogue (create, edit, archive, import from a spreadsheet with a preview of each row's errors first), a need as a
company reads it (interest, not interested with a reason, propose a partnership: the form lives on ``/needs/{id}``),
notification preferences and webhooks.

Anonymous needs: every need, list and notification item here comes from the services, which ask app.policy
(``needs.to_public``, ``matching.matches_for_capability``, the notification composer); nothing here decides it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from app.errors import AppError, Invalid, PayloadTooLarge
from app.i18n import msg
from app.models import Capability, MatchFeedback, Need
from app.models.capability import CapabilityCreate, CapabilityUpdate
from app.models.common import DbInt
from app.models.enums import CapabilityKind, CapabilityStatus, NeedStatus, PartnerType, Role, Stage
from app.models.introduction import IntroductionAnswer
from app.models.match import Party
from app.models.notification import PreferenceUpdate, UserPreferenceUpdate, WebhookCreate, WebhookUpdate
from app.services import capabilities, capability_import, engagements, introductions, needs, reasons
from app.services.capabilities import CapabilityFilters
from app.services.engagements import EngagementFilters
from app.services.introductions import IntroductionFilters
from app.services.listing import PageParams
from app.services.matching import responses
from app.services.needs import NeedFilters
from app.services.notifications import inbox, preferences, render, webhooks
from app.web.core import Web, form_errors, redirect, require
from app.web.core import render as page
from app.web.people import (
    BANDS,
    CHANNELS,
    COLUMN_NAMES,
    INTRO_STATUSES,
    KINDS,
    MAX_INT,
    PARTNER_TYPES,
    REASONS,
    REGIONS,
    RHYTHMS,
    STAGES,
    TRACKS,
    Pager,
    choice,
    org_name,
    page_number,
    specialty_options,
    vocab,
)

router = APIRouter(include_in_schema=False)

Company = Annotated[Web, require(Role.company_staff)]
CompanyPost = Annotated[Web, require(Role.company_staff, csrf=True)]
Member = Annotated[Web, require(Role.company_staff, Role.hospital_staff)]
MemberPost = Annotated[Web, require(Role.company_staff, Role.hospital_staff, csrf=True)]
Short = Annotated[str, Form(max_length=300)]
Values = Annotated[list[str], Form()]


# --- a need, as a company reads it (rendered by hospital.need_page) ----------------------------------------------

def need_view(w: Web, need: Need) -> dict:
    """My capabilities to answer with, my organisation's answers so far, my partnerships on this need."""
    s = w.session
    mine, _ = capabilities.list_capabilities(s, w.actor, CapabilityFilters(organisation_id=w.actor.organisation_id,
                                                                           status=CapabilityStatus.active),
                                             PageParams(limit=100, offset=0, sort="title"))
    answers = {f.capability_id: f for f in s.exec(select(MatchFeedback).where(
        MatchFeedback.need_id == need.id, MatchFeedback.party == Party.company,
        MatchFeedback.organisation_id == w.actor.organisation_id)).all()}
    engs, _ = engagements.list_engagements(s, w.actor, EngagementFilters(need_id=need.id),
                                           PageParams(limit=20, offset=0))
    return {"my_capabilities": mine, "answers": answers, "engagements": engs,
            "thread_url": f"/threads/needs/{need.id}/{w.actor.organisation_id}",
            "can_answer": need.status == NeedStatus.open}


# --- inbox ---------------------------------------------------------------------------------------------------------

def _page_link(link: str | None) -> str | None:
    """A notification's link as a path on this site (never the API's: that one is for integrations)."""
    if not link:
        return None
    path = urlsplit(link).path
    return None if path.startswith("/api/") else path


def _items(n, lang: str) -> list[dict]:
    out = []
    for it in (n.payload or {}).get("items", []):
        why = (it.get("why_zh") if lang == "zh" else None) or it.get("why")
        out.append({"line": render.item_line(it, lang), "kind": it.get("kind"), "band": it.get("band"),
                    "confidence": it.get("confidence"), "why": why, "href": _page_link(it.get("link")),
                    "comment": it.get("comment")})
    return out


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, w: Member, page_: Annotated[str | None, Query(alias="page", max_length=8)] = None,
               kind: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    n = page_number(page_)
    kind = choice(kind, ("match", "interest", "engagement", "introduction", "message", "reminder", "digest"))
    rows, total = inbox.list_inbox(w.session, w.actor, PageParams(limit=20, offset=(n - 1) * 20), kind=kind)
    invitations, _ = engagements.list_invitations(w.session, w.actor, None, PageParams(limit=20, offset=0))
    pending = [i for i in invitations if i.status == "invited"]
    has_caps = w.actor.role != Role.company_staff or w.session.exec(select(Capability.id).where(
        Capability.organisation_id == w.actor.organisation_id)).first() is not None
    return _inbox(request, w, rows, Pager(n, total), kind, pending, has_caps)


def _inbox(request: Request, w: Web, rows, pager: Pager, kind: str | None, pending, has_caps: bool,
           status: int = 200, action_error: str | None = None, errors: dict | None = None) -> Response:
    intros = []
    if w.actor.role == Role.company_staff:  # the commission's introductions to my organisation, still open
        found, _ = introductions.list_introductions(w.session, w.actor, IntroductionFilters(),
                                                    PageParams(limit=20, offset=0))
        intros = [i for i in found if i.status in ("introduced", "interested", "not_interested")]
    return page(request, "company/inbox.html", status=status,
                notes=[{"n": r, "items": _items(r, w.lang), "href": _page_link(r.link)} for r in rows],
                pager=pager, kind=kind, bands=BANDS, invitations=pending, has_caps=has_caps,
                unread=inbox.unread_count(w.session, w.actor), intros=intros, reasons=vocab(w.t, REASONS),
                intro_statuses=INTRO_STATUSES,
                action_error=action_error, errors=errors or {},
                names={i.id: org_name(i.hospital, w.lang) if i.hospital else None for i in intros})


@router.post("/inbox/introductions/{intro_id}", response_class=HTMLResponse)
def answer_introduction(request: Request, w: CompanyPost, intro_id: DbInt,
                        verdict: Annotated[str, Form(max_length=20)] = "",
                        reason: Annotated[str, Form(max_length=20)] = "",
                        comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The company answers the commission's introduction: interested (its words reach the hospital) or not, with
    its reason (app.services.introductions.answer)."""
    try:
        introductions.answer(w.session, w.actor, intro_id,
                             IntroductionAnswer(verdict=verdict, reason=reason or None, comment=comment))
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errs = form_errors(e, w.lang)
        rows, total = inbox.list_inbox(w.session, w.actor, PageParams(limit=20, offset=0))
        return _inbox(request, w, rows, Pager(1, total), None, [], True, status=422,
                      action_error=errs.pop("_", None) or next(iter(errs.values())),
                      errors={f"{intro_id}.{k}": v for k, v in errs.items()})
    return redirect("/inbox", flash="Answer recorded.")


@router.post("/inbox/read", response_class=HTMLResponse)
def mark_read(request: Request, w: MemberPost) -> Response:
    inbox.mark_read(w.session, w.actor, None)
    return redirect("/inbox", flash="All marked read.")


# --- needs browser -----------------------------------------------------------------------------------------------

@router.get("/browse", response_class=HTMLResponse)
def browse(request: Request, w: Company, q: Annotated[str | None, Query(max_length=200)] = None,
           track: Annotated[str | None, Query(max_length=40)] = None,
           region: Annotated[str | None, Query(max_length=20)] = None,
           partner_type: Annotated[str | None, Query(max_length=20)] = None,
           stage: Annotated[str | None, Query(max_length=40)] = None,
           page_: Annotated[str | None, Query(alias="page", max_length=8)] = None) -> Response:
    f = NeedFilters(q=(q or "").strip() or None, track=choice(track, TRACKS), region=choice(region, REGIONS),
                    partner_type=choice(partner_type, PartnerType), stage=choice(stage, Stage),
                    status=NeedStatus.open)
    n = page_number(page_)
    rows, total = needs.list_needs(w.session, w.actor, f, PageParams(limit=20, offset=(n - 1) * 20, sort="-opened_at"))
    query = {k: v for k, v in {"q": f.q, "track": f.track, "region": f.region, "partner_type": f.partner_type,
                               "stage": f.stage}.items() if v}
    return page(request, "company/browse.html", rows=rows, f=f, query=query, pager=Pager(n, total),
                tracks=[(v, w.t(v)) for v in TRACKS], regions=[(v, w.t(v)) for v in REGIONS],
                partner_types=vocab(w.t, PARTNER_TYPES), stages=vocab(w.t, STAGES),
                names={r.id: org_name(r.hospital, w.lang) for r in rows if r.hospital})


# --- capabilities --------------------------------------------------------------------------------------------------

def _cap_form(w: Web, form: dict, errors: dict | None = None, cap=None) -> dict:
    return {"form": form, "errors": errors or {}, "cap": cap, "tracks": [(v, w.t(v)) for v in TRACKS],
            "regions": [(v, w.t(v)) for v in REGIONS], "stages": vocab(w.t, STAGES), "kinds": vocab(w.t, KINDS),
            "specialties": specialty_options(w.lang)}


def _cap_values(kind, title, description, tracks, stages, certifications, region, external_ref,
                specialties=()) -> dict:
    certs = [c.strip() for c in certifications.replace("，", ",").replace("；", ",").replace(";", ",").split(",")
             if c.strip()]
    return {"kind": kind or CapabilityKind.product.value, "title": title, "description": description,
            "tracks": tracks, "specialties": list(specialties), "stages": stages, "certifications": certs,
            "region": region or None,
            "external_ref": external_ref.strip() or None}


@router.get("/capabilities", response_class=HTMLResponse)
def catalogue(request: Request, w: Company, status: Annotated[str | None, Query(max_length=20)] = None,
              page_: Annotated[str | None, Query(alias="page", max_length=8)] = None) -> Response:
    status = choice(status, CapabilityStatus) or CapabilityStatus.active.value
    n = page_number(page_)
    rows, total = capabilities.list_capabilities(
        w.session, w.actor, CapabilityFilters(organisation_id=w.actor.organisation_id, status=status),
        PageParams(limit=20, offset=(n - 1) * 20, sort="-updated_at"))
    return page(request, "company/capabilities.html", rows=rows, current=status, pager=Pager(n, total), kinds=KINDS)


@router.get("/capabilities/new", response_class=HTMLResponse)
def new_capability(request: Request, w: Company) -> Response:
    return page(request, "company/capability_form.html", **_cap_form(w, {"kind": "product", "tracks": [],
                                                                         "stages": []}))


@router.post("/capabilities/new", response_class=HTMLResponse)
def create_capability(request: Request, w: CompanyPost, kind: Short = "", title: Short = "",
                      description: Annotated[str, Form(max_length=8000)] = "", tracks: Values = [],  # noqa: B006
                      stages: Values = [], certifications: Short = "", region: Short = "",  # noqa: B006
                      external_ref: Short = "", specialties: Values = []) -> Response:  # noqa: B006
    form = _cap_values(kind, title, description, tracks, stages, certifications, region, external_ref, specialties)
    try:
        cap = capabilities.create_capability(w.session, w.actor, CapabilityCreate(**form),
                                             request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return page(request, "company/capability_form.html", status=422,
                    **_cap_form(w, {**form, "certifications": certifications}, form_errors(e, w.lang)))
    return redirect(f"/capabilities/{cap.id}", flash="Capability saved.")


@router.get("/capabilities/import", response_class=HTMLResponse)
def import_form(request: Request, w: Company) -> Response:
    return page(request, "company/import.html", report=None, columns=capability_import.COLUMNS,
                max_rows=capability_import.MAX_ROWS)


def _preview(request: Request, w: Web, rows, ignored, status: int = 200) -> Response:
    report = capability_import.check(w.session, w.actor, rows, ignored)
    return page(request, "company/import.html", status=status, report=report,
                row_errors={r.line: {w.t(COLUMN_NAMES.get(e.field, e.field)): e.text(w.lang) for e in r.errors}
                            for r in report.rows},
                carried=capability_import.carry([(r.line, r.values) for r in report.rows]),
                columns=capability_import.COLUMNS, max_rows=capability_import.MAX_ROWS)


@router.post("/capabilities/import", response_class=HTMLResponse)
def import_preview(request: Request, w: CompanyPost, file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Step one: read and check every row; nothing is stored."""
    limit = request.app.state.settings.max_attachment_bytes
    try:
        if file is None or not file.filename:
            raise Invalid("file", msg("Upload a CSV or XLSX file (a .csv or .xlsx name)."))
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise PayloadTooLarge(msg("Attachments are limited to {max_bytes} bytes.", max_bytes=limit))
        rows, ignored = capability_import.read(file.filename, data)
    except AppError as e:
        return page(request, "company/import.html", status=422, report=None, errors=form_errors(e, w.lang),
                    columns=capability_import.COLUMNS, max_rows=capability_import.MAX_ROWS)
    return _preview(request, w, rows, ignored)


@router.post("/capabilities/import/confirm", response_class=HTMLResponse)
def import_confirm(request: Request, w: CompanyPost,
                   carried: Annotated[str, Form(max_length=8 * 1024 * 1024)] = "") -> Response:
    """Step two: the rows of the preview, checked again, the valid ones registered. The form is multipart: the
    rows it carries may exceed what a plain form body may hold."""
    try:
        rows = capability_import.uncarry(carried)
    except AppError as e:
        return page(request, "company/import.html", status=422, report=None, errors=form_errors(e, w.lang),
                    columns=capability_import.COLUMNS, max_rows=capability_import.MAX_ROWS)
    report = capability_import.check(w.session, w.actor, rows)
    if not report.valid:
        return _preview(request, w, rows, [], status=422)
    capability_import.store(w.session, w.actor, report, request.app.state.match_index)
    return redirect("/capabilities", flash="Capabilities imported.")


@router.get("/capabilities/{cap_id}", response_class=HTMLResponse)
def show_capability(request: Request, w: Company, cap_id: DbInt) -> Response:
    cap = capabilities.get_manageable(w.session, w.actor, cap_id)
    ranked = {"items": [], "no_fit": True, "hidden_weak": 0}
    if cap.status == CapabilityStatus.active:
        ranked = responses.matches_for_capability(w.session, request.app.state.match_index, w.actor, cap,
                                                  responses.MatchQuery(limit=10, lang=w.lang))
    matches = [{"need": m["need"], "band": m["band"], "confidence": m["confidence"],
                "why": reasons.why(m["explanation"], w.lang), "feedback": m["feedback"],
                "hospital": org_name(m["need"].hospital, w.lang) if m["need"].hospital else None}
               for m in ranked["items"]]
    return page(request, "company/capability.html", cap=capabilities.to_public(w.session, cap), matches=matches,
                no_fit=ranked["no_fit"], bands=BANDS, kinds=KINDS, stages=STAGES)


@router.get("/capabilities/{cap_id}/edit", response_class=HTMLResponse)
def edit_capability(request: Request, w: Company, cap_id: DbInt) -> Response:
    cap = capabilities.get_manageable(w.session, w.actor, cap_id)
    form = {k: getattr(cap, k) for k in ("kind", "title", "description", "tracks", "specialties", "stages", "region",
                                         "external_ref")}
    form.update(certifications=", ".join(cap.certifications), version=cap.version)
    return page(request, "company/capability_form.html", **_cap_form(w, form, cap=cap))


@router.post("/capabilities/{cap_id}/edit", response_class=HTMLResponse)
def save_capability(request: Request, w: CompanyPost, cap_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
                    kind: Short = "", title: Short = "", description: Annotated[str, Form(max_length=8000)] = "",
                    tracks: Values = [], stages: Values = [], certifications: Short = "",  # noqa: B006
                    region: Short = "", external_ref: Short = "", specialties: Values = []) -> Response:  # noqa: B006
    cap = capabilities.get_manageable(w.session, w.actor, cap_id)
    form = _cap_values(kind, title, description, tracks, stages, certifications, region, external_ref, specialties)
    try:
        values = {**form, "external_ref": form["external_ref"] or ""}
        capabilities.update_capability(w.session, w.actor, cap_id, CapabilityUpdate(**values), version,
                                       request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        cap = capabilities.get_manageable(w.session, w.actor, cap_id)
        return page(request, "company/capability_form.html", status=422,
                    **_cap_form(w, {**form, "certifications": certifications, "version": version},
                                form_errors(e, w.lang), cap=cap))
    return redirect(f"/capabilities/{cap.id}", flash="Capability saved.")


@router.post("/capabilities/{cap_id}/status", response_class=HTMLResponse)
def archive_capability(request: Request, w: CompanyPost, cap_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
                       status: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        capabilities.update_capability(w.session, w.actor, cap_id, CapabilityUpdate(status=status), version,
                                       request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        cap = capabilities.get_manageable(w.session, w.actor, cap_id)
        return page(request, "company/capability.html", status=409, cap=capabilities.to_public(w.session, cap),
                    matches=[], no_fit=True, bands=BANDS, kinds=KINDS, stages=STAGES,
                    action_error=next(iter(form_errors(e, w.lang).values())))
    return redirect("/capabilities" if status == CapabilityStatus.archived else f"/capabilities/{cap_id}",
                    flash="Capability archived." if status == CapabilityStatus.archived else "Capability restored.")


# --- notification preferences and webhooks -----------------------------------------------------------------------

def _settings_page(request: Request, w: Web, status: int = 200, errors: dict | None = None, form: dict | None = None,
                   secret: str | None = None, hook_errors: dict | None = None, hook_form: dict | None = None):
    pref = preferences.for_org(w.session, w.actor.organisation_id)
    mine = preferences.for_user(w.session, w.actor.user_id)
    hooks, _ = webhooks.list_endpoints(w.session, w.actor, PageParams(limit=50, offset=0))
    return page(request, "company/notifications.html", status=status, pref=pref, mine=mine, form=form or {
        "channels": pref.channels, "rhythm": pref.rhythm, "min_score": pref.min_score, "tracks": pref.tracks,
        "regions": pref.regions, "language": pref.language, "version": pref.version},
        errors=errors or {}, hooks=hooks, secret=secret, hook_errors=hook_errors or {}, hook_form=hook_form or {},
        channels=vocab(w.t, CHANNELS), rhythms=vocab(w.t, RHYTHMS),
        tracks=[(v, w.t(v)) for v in TRACKS], regions=[(v, w.t(v)) for v in REGIONS],
        email_available=bool(request.app.state.settings.smtp_host))


@router.get("/settings")
def settings_home(w: Member) -> Response:
    """The menu's Settings: the organisation's notification preferences (the one settings page people have)."""
    return RedirectResponse("/settings/notifications", status_code=303)


@router.get("/settings/notifications", response_class=HTMLResponse)
def notification_settings(request: Request, w: Member) -> Response:
    return _settings_page(request, w)


@router.post("/settings/notifications", response_class=HTMLResponse)
def save_notification_settings(request: Request, w: MemberPost, version: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
                               channels: Values = [], rhythm: Short = "",  # noqa: B006
                               min_score: Annotated[str, Form(max_length=10)] = "", tracks: Values = [],  # noqa: B006
                               regions: Values = [], language: Short = "") -> Response:  # noqa: B006
    form = {"channels": channels, "rhythm": rhythm, "min_score": min_score, "tracks": tracks, "regions": regions,
            "language": language, "version": version}
    try:
        data = PreferenceUpdate(channels=channels, rhythm=rhythm or None, min_score=min_score or None,
                                tracks=tracks, regions=regions, language=language or None)
        preferences.update_org(w.session, w.actor, data, version)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return _settings_page(request, w, status=422, errors=form_errors(e, w.lang), form=form)
    return redirect("/settings/notifications", flash="Preferences saved.")


@router.post("/settings/notifications/me", response_class=HTMLResponse)
def save_my_email(request: Request, w: MemberPost, version: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
                  email: Annotated[str, Form(max_length=5)] = "") -> Response:
    """One person's own switch: the organisation's e-mails to me, or not (app.services.notifications.preferences)."""
    try:
        preferences.update_user(w.session, w.actor, UserPreferenceUpdate(email=email == "on"), version)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return _settings_page(request, w, status=409, errors=form_errors(e, w.lang))
    return redirect("/settings/notifications", flash="Preferences saved.")


@router.post("/settings/webhooks", response_class=HTMLResponse)
def add_webhook(request: Request, w: MemberPost, url: Annotated[str, Form(max_length=2000)] = "",
                description: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        ep = webhooks.create(w.session, w.actor, request.app.state.settings,
                             WebhookCreate(url=url.strip(), description=description))
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return _settings_page(request, w, status=422, hook_errors=form_errors(e, w.lang),
                              hook_form={"url": url, "description": description})
    # the secret is shown once, now (as the API does): no redirect, so it is never kept in a cookie or a URL
    return _settings_page(request, w, secret=ep.secret)


@router.post("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
def toggle_webhook(request: Request, w: MemberPost, endpoint_id: DbInt, version: Annotated[int, Form(ge=0, le=MAX_INT)] = 0,
                   active: Annotated[str, Form(max_length=5)] = "") -> Response:
    try:
        webhooks.update(w.session, w.actor, request.app.state.settings, endpoint_id,
                        WebhookUpdate(is_active=active == "true"), version)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return _settings_page(request, w, status=409, hook_errors=form_errors(e, w.lang))
    return redirect("/settings/notifications", flash="Webhook saved.")
