"""Hospital staff's pages: my department's needs, filing and editing a need with the guided need statement (the
solution warning as one types), a need's matches with their reasons, the companies' interest, accepting or declining
a partner. ``/needs/{id}`` is also where a company reads a need and says whether it is interested (company.py), so
that a notification's link is the same for everyone; what each sees is app.policy's answer, through the services.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import select

from app.errors import AppError
from app.models import Capability, Engagement, MatchFeedback, MatchRecord, Need
from app.models.common import DbInt
from app.models.engagement import EngagementCreate
from app.models.enums import Confidentiality, NeedStatus, PartnerType, Role
from app.models.introduction import IntroductionDecision
from app.models.match import FeedbackCreate, Party, Verdict
from app.models.need import NeedCreate, NeedUpdate
from app.policy import can_manage_need, capability_visible
from app.services import capabilities, engagements, introductions, messages, needs, reasons
from app.services.engagements import EngagementFilters
from app.services.introductions import IntroductionFilters
from app.services.listing import PageParams
from app.services.matching import feedback as match_feedback
from app.services.matching import responses
from app.services.needs import NeedFilters
from app.web import company
from app.web.core import Web, form_errors, redirect, render, require
from app.web.people import (
    BANDS,
    CONFIDENTIALITY,
    INTRO_STATUSES,
    MAX_INT,
    NEED_STATUSES,
    PARTNER_TYPES,
    REASONS,
    REGIONS,
    STAGES,
    TRACKS,
    Pager,
    choice,
    org_name,
    page_number,
    specialty_options,
    statement_notes,
    vocab,
)
from app.workflow.need_lifecycle import NEED_TRANSITIONS, WORKFLOW_ONLY_NEED_CHANGES
from app.workflow.states import Pathway

router = APIRouter(include_in_schema=False)

Hospital = Annotated[Web, require(Role.hospital_staff)]
HospitalPost = Annotated[Web, require(Role.hospital_staff, csrf=True)]
Person = Annotated[Web, require(Role.hospital_staff, Role.company_staff, Role.commission, Role.admin)]
PartyPost = Annotated[Web, require(Role.hospital_staff, Role.company_staff, csrf=True)]
Text = Annotated[str, Form(max_length=8000)]
Short = Annotated[str, Form(max_length=300)]
Values = Annotated[list[str], Form()]

STATUS_ACTIONS = ((NeedStatus.open, "Publish"), (NeedStatus.closed, "Close (solved or no longer needed)"),
                  (NeedStatus.withdrawn, "Withdraw"))
STATEMENT = ("clinical_problem", "current_practice", "shortcomings", "affected_population", "desired_outcome")


# --- my needs ----------------------------------------------------------------------------------------------------

def _counts(w: Web, ids: list[int]) -> dict[int, dict[str, int]]:
    """Per need: matches worth a look (not weak), companies interested, partnerships. Three grouped queries."""
    out = {i: {"matches": 0, "interested": 0, "partnerships": 0} for i in ids}
    if not ids:
        return out
    s = w.session
    for nid, n in s.exec(select(MatchRecord.need_id, func.count()).where(
            MatchRecord.need_id.in_(ids), (MatchRecord.band.is_(None)) | (MatchRecord.band != "weak"))
            .group_by(MatchRecord.need_id)).all():
        out[nid]["matches"] = n
    for nid, n in s.exec(select(MatchFeedback.need_id, func.count()).where(
            MatchFeedback.need_id.in_(ids), MatchFeedback.party == Party.company,
            MatchFeedback.verdict == Verdict.interested).group_by(MatchFeedback.need_id)).all():
        out[nid]["interested"] = n
    for nid, n in s.exec(select(Engagement.need_id, func.count()).where(Engagement.need_id.in_(ids))
                         .group_by(Engagement.need_id)).all():
        out[nid]["partnerships"] = n
    return out


@router.get("/needs", response_class=HTMLResponse)
def my_needs(request: Request, w: Hospital, status: Annotated[str | None, Query(max_length=20)] = None,
             page: Annotated[str | None, Query(max_length=8)] = None) -> Response:
    status = choice(status, NeedStatus)
    f = NeedFilters(hospital_id=w.actor.organisation_id, status=status)
    n = page_number(page)
    rows, total = needs.list_needs(w.session, w.actor, f, PageParams(limit=20, offset=(n - 1) * 20, sort="-updated_at"))
    return render(request, "hospital/needs.html", rows=rows, counts=_counts(w, [r.id for r in rows]),
                  current=status, statuses=vocab(w.t, NEED_STATUSES), pager=Pager(n, total))


# --- filing and editing ------------------------------------------------------------------------------------------

def _form_context(w: Web, form: dict, errors: dict | None = None, need: Need | None = None) -> dict:
    return {"form": form, "errors": errors or {}, "need": need,
            "notes": statement_notes(form.get("desired_outcome", ""), w.lang),
            "tracks": [(v, w.t(v)) for v in TRACKS], "regions": [(v, w.t(v)) for v in REGIONS],
            "specialties": specialty_options(w.lang),
            "stages": vocab(w.t, STAGES), "partner_types": vocab(w.t, PARTNER_TYPES),
            "confidentiality": vocab(w.t, CONFIDENTIALITY)}


def _form_of(need: Need) -> dict:
    return {**{k: getattr(need, k) for k in ("title", "description", "department", *STATEMENT, "tracks", "specialties",
                                             "partner_types", "stages", "regions", "confidentiality",
                                             "contact_name", "contact_email", "contact_phone")},
            "version": need.version}


def _submitted(title, description, department, clinical_problem, current_practice, shortcomings,
               affected_population, desired_outcome, tracks, partner_types, stages, regions, confidentiality,
               contact_name, contact_email, contact_phone, specialties=()) -> dict:
    statement = {"clinical_problem": clinical_problem, "current_practice": current_practice,
                 "shortcomings": shortcomings, "affected_population": affected_population,
                 "desired_outcome": desired_outcome}
    if not description.strip():  # the summary is optional on the page: the statement says it
        description = "\n".join(v.strip() for v in (clinical_problem, shortcomings, desired_outcome) if v.strip())
    return {"title": title, "description": description, "department": department, **statement,
            "tracks": tracks, "specialties": list(specialties),
            "partner_types": partner_types or [PartnerType.enterprise.value], "stages": stages,
            "regions": regions, "confidentiality": confidentiality or Confidentiality.public.value,
            "contact_name": contact_name.strip() or None, "contact_email": contact_email.strip() or None,
            "contact_phone": contact_phone.strip() or None}


@router.get("/needs/new", response_class=HTMLResponse)
def new_need(request: Request, w: Hospital) -> Response:
    form = {"partner_types": [PartnerType.enterprise.value], "confidentiality": Confidentiality.public.value,
            "department": ""}
    return render(request, "hospital/need_form.html", **_form_context(w, form))


@router.post("/needs/new", response_class=HTMLResponse)
def file_need(request: Request, w: HospitalPost, title: Short = "", description: Text = "",
              department: Annotated[str, Form(max_length=200)] = "", clinical_problem: Text = "",
              current_practice: Text = "", shortcomings: Text = "", affected_population: Text = "",
              desired_outcome: Text = "", tracks: Values = [], partner_types: Values = [],  # noqa: B006
              stages: Values = [], regions: Values = [], confidentiality: Short = "",  # noqa: B006
              contact_name: Short = "", contact_email: Short = "", contact_phone: Short = "",
              publish: Short = "", specialties: Values = []) -> Response:  # noqa: B006
    form = _submitted(title, description, department, clinical_problem, current_practice, shortcomings,
                      affected_population, desired_outcome, tracks, partner_types, stages, regions, confidentiality,
                      contact_name, contact_email, contact_phone, specialties)
    try:
        data = NeedCreate(**form, status=NeedStatus.open if publish else NeedStatus.draft)
        need = needs.create_need(w.session, w.actor, data, request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return render(request, "hospital/need_form.html", status=422,
                      **_form_context(w, {**form, "description": description}, form_errors(e, w.lang)))
    return redirect(f"/needs/{need.id}", flash="Need published." if publish else "Draft saved.")


@router.get("/needs/statement-check", response_class=HTMLResponse)
def statement_check(request: Request, w: Hospital,
                    desired_outcome: Annotated[str, Query(max_length=8000)] = "") -> Response:
    """The solution warning as the person types (htmx swaps this fragment in beside the field)."""
    return render(request, "hospital/_statement_notes.html", notes=statement_notes(desired_outcome, w.lang))


@router.get("/needs/{need_id}/edit", response_class=HTMLResponse)
def edit_need(request: Request, w: Hospital, need_id: DbInt) -> Response:
    need = needs.get_manageable(w.session, w.actor, need_id)
    return render(request, "hospital/need_form.html", **_form_context(w, _form_of(need), need=need))


@router.post("/needs/{need_id}/edit", response_class=HTMLResponse)
def save_need(request: Request, w: HospitalPost, need_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
              title: Short = "", description: Text = "", department: Annotated[str, Form(max_length=200)] = "",
              clinical_problem: Text = "", current_practice: Text = "", shortcomings: Text = "",
              affected_population: Text = "", desired_outcome: Text = "", tracks: Values = [],  # noqa: B006
              partner_types: Values = [], stages: Values = [], regions: Values = [],  # noqa: B006
              confidentiality: Short = "", contact_name: Short = "", contact_email: Short = "",
              contact_phone: Short = "", publish: Short = "", specialties: Values = []) -> Response:  # noqa: B006
    need = needs.get_manageable(w.session, w.actor, need_id)
    form = _submitted(title, description, department, clinical_problem, current_practice, shortcomings,
                      affected_population, desired_outcome, tracks, partner_types, stages, regions, confidentiality,
                      contact_name, contact_email, contact_phone, specialties)
    try:
        values = {**form, **{k: form[k] or "" for k in ("contact_name", "contact_email", "contact_phone")}}
        if publish and need.status == NeedStatus.draft:
            values["status"] = NeedStatus.open
        needs.update_need(w.session, w.actor, need_id, NeedUpdate(**values), version, request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        need = needs.get_manageable(w.session, w.actor, need_id)
        return render(request, "hospital/need_form.html", status=422,
                      **_form_context(w, {**form, "description": description, "version": version},
                                      form_errors(e, w.lang), need=need))
    return redirect(f"/needs/{need_id}", flash="Need saved.")


@router.post("/needs/{need_id}/status", response_class=HTMLResponse)
def change_status(request: Request, w: HospitalPost, need_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
                  status: Annotated[str, Form(max_length=20)] = "") -> Response:
    try:
        needs.update_need(w.session, w.actor, need_id, NeedUpdate(status=status), version,
                          request.app.state.match_index)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return need_page(request, w, need_id, action_error=next(iter(form_errors(e, w.lang).values())),
                         status_code=409)
    return redirect(f"/needs/{need_id}", flash="Status changed.")


# --- one need -----------------------------------------------------------------------------------------------------

def _hospital_view(request: Request, w: Web, need: Need) -> dict:
    """The need's matches with their reasons in the page's language, the companies' interest, its partnerships and
    conversations: everything the hospital decides on."""
    s, lang = w.session, w.lang
    ranked = responses.matches_for_need(s, request.app.state.match_index, w.actor, need,
                                        responses.MatchQuery(limit=10, lang=lang))
    matches = [{"rank": m["rank"], "band": m["band"], "confidence": m["confidence"],
                "why": reasons.why(m["explanation"], lang), "capability": m["capability"],
                "company": org_name(m["capability"].organisation, lang), "feedback": m["feedback"]}
               for m in ranked["items"]]
    interest = []
    rows = s.exec(select(MatchFeedback).where(MatchFeedback.need_id == need.id, MatchFeedback.party == Party.company,
                                              MatchFeedback.verdict == Verdict.interested)
                  .order_by(MatchFeedback.updated_at.desc())).all()
    mine = {f.capability_id: f.verdict for f in s.exec(select(MatchFeedback).where(
        MatchFeedback.need_id == need.id, MatchFeedback.party == Party.hospital)).all()}
    # the capabilities the hospital may still read (an archived one leaves the list with its interest)
    caps = {c.id: c for c in capabilities.to_public_many(s, s.exec(select(Capability).where(
        Capability.id.in_({f.capability_id for f in rows}), capability_visible(w.actor))).all())} if rows else {}
    for f in rows:
        cap = caps.get(f.capability_id)
        if cap is not None:
            interest.append({"feedback": f, "capability": cap, "company": org_name(cap.organisation, lang),
                             "company_id": cap.organisation.id, "hospital_verdict": mine.get(f.capability_id)})
    engs, _ = engagements.list_engagements(s, w.actor, EngagementFilters(need_id=need.id),
                                           PageParams(limit=50, offset=0))
    threads, _ = messages.list_threads(s, w.actor, False, PageParams(limit=50, offset=0), need_id=need.id)
    running = {e.capability_id for e in engs if e.state not in ("withdrawn", "terminated")}
    intros, _ = introductions.list_introductions(s, w.actor, IntroductionFilters(need_id=need.id),
                                                 PageParams(limit=50, offset=0))
    return {"matches": matches, "no_fit": ranked["no_fit"], "hidden_weak": ranked["hidden_weak"],
            "interest": interest, "engagements": engs, "threads": threads, "running": running, "intros": intros}


def need_page(request: Request, w: Web, need_id: DbInt, action_error: str | None = None, status_code: int = 200,
              errors: dict | None = None) -> Response:
    need = needs.get_visible(w.session, w.actor, need_id)
    public = needs.to_public(w.session, w.actor, need)
    ctx = {"need": public, "notes": statement_notes(need.desired_outcome, w.lang), "action_error": action_error,
           "errors": errors or {}, "bands": BANDS, "reasons": vocab(w.t, REASONS), "statuses": NEED_STATUSES,
           "stages": STAGES, "partner_types": PARTNER_TYPES, "pathways": [p.value for p in Pathway],
           "intro_statuses": INTRO_STATUSES,
           "hospital_name": org_name(public.hospital, w.lang) if public.hospital else None}
    if can_manage_need(w.actor, need):
        current = NeedStatus(need.status)
        allowed = {t for t in NEED_TRANSITIONS[current] if (current, t) not in WORKFLOW_ONLY_NEED_CHANGES}
        ctx.update(_hospital_view(request, w, need), manage=True,
                   status_actions=[(t, label) for t, label in STATUS_ACTIONS if t in allowed])
    elif w.actor.role == Role.company_staff:
        ctx.update(company.need_view(w, need), company=True)
    return render(request, "hospital/need.html", status=status_code, **ctx)


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def show_need(request: Request, w: Person, need_id: DbInt) -> Response:
    return need_page(request, w, need_id)


@router.post("/needs/{need_id}/feedback", response_class=HTMLResponse)
def feedback(request: Request, w: PartyPost, need_id: DbInt, capability_id: Annotated[int, Form(ge=1, le=MAX_INT)] = 0,
             verdict: Annotated[str, Form(max_length=20)] = "", reason: Annotated[str, Form(max_length=20)] = "",
             comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Interested / not interested (with its reason) on one (need, capability) pair: the hospital on a match or
    a company's interest, the company on the need (app.services.matching.feedback decides who may)."""
    try:
        data = FeedbackCreate(need_id=need_id, capability_id=capability_id, verdict=verdict,
                              reason=reason or None, comment=comment)
        match_feedback.require_party(w.actor)
        match_feedback.give_feedback(w.session, w.actor, needs.get_visible(w.session, w.actor, data.need_id),
                                     capabilities.get_visible(w.session, w.actor, data.capability_id), data)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errs = form_errors(e, w.lang)
        return need_page(request, w, need_id, action_error=errs.pop("_", None) or next(iter(errs.values())),
                         status_code=422, errors={f"{capability_id}.{k}": v for k, v in errs.items()})
    flash = "Interest sent to the hospital." if verdict == Verdict.interested and w.actor.role == Role.company_staff \
        else "Answer recorded."
    return redirect(f"/needs/{need_id}", flash=flash)


@router.post("/needs/{need_id}/introductions/{intro_id}", response_class=HTMLResponse)
def decide_introduction(request: Request, w: HospitalPost, need_id: DbInt, intro_id: DbInt,
                        decision: Annotated[str, Form(max_length=10)] = "",
                        comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The hospital accepts a company the commission introduced (a partnership is proposed, brokered by the
    commission) or declines it (app.services.introductions.decide)."""
    try:
        intro = introductions.decide(w.session, w.actor, intro_id, decision == "accept",
                                     IntroductionDecision(comment=comment))
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return need_page(request, w, need_id, action_error=next(iter(form_errors(e, w.lang).values())),
                         status_code=409)
    if intro.engagement_id:
        return redirect(f"/partnerships/{intro.engagement_id}", flash="Partnership proposed.")
    return redirect(f"/needs/{need_id}", flash="Answer recorded.")


@router.post("/needs/{need_id}/propose", response_class=HTMLResponse)
def propose(request: Request, w: PartyPost, need_id: DbInt, capability_id: Annotated[int, Form(ge=1, le=MAX_INT)] = 0,
            pathway: Annotated[str, Form(max_length=20)] = "device",
            comment: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Propose a partnership: the hospital accepts a company as its partner on this need (the company then
    accepts), or a company proposes one with its capability (the hospital then accepts)."""
    try:
        data = EngagementCreate(need_id=need_id, capability_id=capability_id, pathway=pathway or "device",
                                comment=comment)
        eng = engagements.create_engagement(w.session, w.actor, data)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errs = form_errors(e, w.lang)
        return need_page(request, w, need_id, action_error=errs.pop("_", None) or next(iter(errs.values())),
                         status_code=409)
    return redirect(f"/partnerships/{eng.id}", flash="Partnership proposed.")
