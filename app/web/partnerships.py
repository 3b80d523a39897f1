"""Pages both sides share: a partnership's timeline (stages, evidence, milestones, documents, messages) with the
steps the viewer's side may take, conversations, and invitations to take part.

The steps come from app.workflow (the table names the targets, the guards say what is still missing, in the page's
language), the rules from app.services.engagements and app.policy; a refused step is shown as the service says it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError

from app.errors import AppError, Invalid, NotFound
from app.i18n import msg, say
from app.models.common import LOCAL_TZ, DbInt
from app.models.engagement import MilestoneCreate, ParticipantCreate, TransitionCreate
from app.models.enums import OrgKind, Role
from app.models.message import MessageCreate
from app.policy import engagement_side
from app.services import engagements, messages, organisations
from app.services.listing import PageParams
from app.web.core import Web, form_errors, redirect, render, require
from app.web.people import MAX_INT, Pager, org_name, page_number
from app.workflow import EngagementState, allowed_targets
from app.workflow.guards import unmet
from app.workflow.states import FINAL, PATHWAY_CHOSEN_BY, REASON_REQUIRED, TAKEN_BY, Pathway
from app.workflow.vocab import REFERENCE_REQUIRED, MilestoneKind, ParticipantRole

router = APIRouter(include_in_schema=False)

Reader = Annotated[Web, require(Role.hospital_staff, Role.company_staff, Role.commission)]
Party = Annotated[Web, require(Role.hospital_staff, Role.company_staff)]
PartyPost = Annotated[Web, require(Role.hospital_staff, Role.company_staff, csrf=True)]
Comment = Annotated[str, Form(max_length=4000)]
EXITS = frozenset({EngagementState.on_hold, EngagementState.withdrawn, EngagementState.terminated})
SIDES = {"hospital": "the hospital", "lead": "the lead company", "participant": "a participant"}


def _settings(request: Request):
    return request.app.state.settings


# --- a partnership -------------------------------------------------------------------------------------------------

def _steps(w: Web, eng, side: str | None, documents_required: frozenset[str]) -> list[dict]:
    """Each target the table allows now, with what its guards still miss (in the page's language) and whether the
    viewer's side takes it."""
    if side is None:
        return []
    facts = engagements.gather_facts(w.session, eng, documents_required)
    held = EngagementState(eng.held_from) if eng.held_from else None
    out = []
    targets = allowed_targets(EngagementState(eng.state), held, Pathway(eng.pathway))
    # the road ahead first; pausing and ending after it, folded away on the page
    for target in sorted(targets, key=lambda s: (s in EXITS, s.value)):
        taken_by = TAKEN_BY.get(target)
        out.append({"exit": target in EXITS,"target": target.value, "missing": [say(m, w.lang) for m in unmet(target, facts,
                                                                                          Pathway(eng.pathway))],
                    "ours": taken_by is None or taken_by == side, "taken_by": taken_by,
                    "reason_required": target in REASON_REQUIRED, "pathway_choice": target == PATHWAY_CHOSEN_BY})
    return out


def partnership_page(request: Request, w: Web, engagement_id: DbInt, status: int = 200, action_error: str | None = None,
                     errors: dict | None = None, form: dict | None = None) -> Response:
    s = w.session
    eng = engagements.get_visible(s, w.actor, engagement_id)
    detail = engagements.detail(s, w.actor, eng)
    side = engagement_side(w.actor, eng)
    settings = _settings(request)
    msgs = []
    try:  # the commission reads the conversation of partnerships it brokered only (app.policy)
        conv = messages.engagement_conversation(s, w.actor, eng.id, settings.commission_reads_all_threads)
        msgs, _ = messages.list_messages(s, w.actor, conv, PageParams(limit=100, offset=0))
    except NotFound:
        pass
    participant = w.actor.organisation_id in {p.organisation.id for p in detail.participants if p.status == "active"}
    my_accept = None
    if side is not None and eng.state == EngagementState.proposed:
        my_accept = getattr(eng, f"{side}_accepted_at") is None
    invitable = []
    if side is not None and EngagementState(eng.state) not in FINAL:
        # who may be invited: companies, labs, platforms; other hospitals only once the need's hospital is known to
        # the viewer (app.policy.may_add_participant refuses the rest)
        kinds = [OrgKind.enterprise, OrgKind.lab, OrgKind.platform] + ([] if detail.hospital_hidden
                                                                        else [OrgKind.hospital])
        taken = {eng.hospital_id, eng.lead_org_id}
        for kind in kinds:
            rows, _ = organisations.list_orgs(s, kind, None, None, PageParams(limit=200, offset=0))
            invitable += [(o.id, org_name(o, w.lang)) for o in rows if o.id not in taken]
    return render(request, "partnerships/partnership.html", status=status, e=detail, side=side,
                  invitable=invitable, roles=[r.value for r in ParticipantRole],
                  side_name=SIDES.get(side or "", ""), may_record=side is not None or participant,
                  steps=_steps(w, eng, side, frozenset(settings.evidence_documents_required)),
                  my_accept=my_accept, messages=msgs, may_write=side is not None or participant,
                  hospital_name=org_name(detail.hospital, w.lang) if detail.hospital else None,
                  lead_name=org_name(detail.lead, w.lang), kinds=[k.value for k in MilestoneKind],
                  reference_required=[k.value for k in REFERENCE_REQUIRED], pathways=[p.value for p in Pathway],
                  action_error=action_error, errors=errors or {}, form=form or {},
                  milestone_open=any(k.startswith("milestone.") for k in errors or {}),
                  today=datetime.now(LOCAL_TZ).date().isoformat(), sides=SIDES)


@router.get("/partnerships/{engagement_id}", response_class=HTMLResponse)
def show(request: Request, w: Reader, engagement_id: DbInt) -> Response:
    return partnership_page(request, w, engagement_id)


def _refused(request: Request, w: Web, engagement_id: DbInt, e: Exception, form: dict | None = None,
             prefix: str = "") -> Response:
    w.session.rollback()
    errs = form_errors(e, w.lang)
    top = errs.pop("_", None)
    return partnership_page(request, w, engagement_id, status=409 if top else 422, action_error=top,
                            errors={f"{prefix}{k}": v for k, v in errs.items()}, form=form)


@router.post("/partnerships/{engagement_id}/accept", response_class=HTMLResponse)
def accept(request: Request, w: PartyPost, engagement_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1) -> Response:
    try:
        engagements.accept(w.session, w.actor, engagement_id, version)
    except AppError as e:
        return _refused(request, w, engagement_id, e)
    return redirect(f"/partnerships/{engagement_id}", flash="Partnership accepted.")


@router.post("/partnerships/{engagement_id}/step", response_class=HTMLResponse)
def step(request: Request, w: PartyPost, engagement_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
         target: Annotated[str, Form(max_length=30)] = "", comment: Comment = "",
         pathway: Annotated[str, Form(max_length=20)] = "",
         occurred_on: Annotated[str, Form(max_length=10)] = "") -> Response:
    form = {"target": target, "comment": comment, "occurred_on": occurred_on}
    try:  # a day on the cluster's clock (noon: the day stays the day whatever the zone)
        occurred = datetime.combine(date.fromisoformat(occurred_on), time(12), LOCAL_TZ) if occurred_on else None
    except ValueError:  # a malformed date from a browser without a date picker
        return _refused(request, w, engagement_id, Invalid("occurred_at", msg("Must be a date (YYYY-MM-DD).")),
                        form, prefix="step.")
    try:
        data = TransitionCreate(target=target, comment=comment, pathway=pathway or None, occurred_at=occurred)
        engagements.transition(w.session, w.actor, engagement_id, data, version,
                               frozenset(_settings(request).evidence_documents_required))
    except (ValidationError, AppError) as e:
        return _refused(request, w, engagement_id, e, form, prefix="step.")
    return redirect(f"/partnerships/{engagement_id}", flash="Step recorded.")


@router.post("/partnerships/{engagement_id}/participants", response_class=HTMLResponse)
def invite(request: Request, w: PartyPost, engagement_id: DbInt, version: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
           organisation_id: Annotated[int, Form(ge=1, le=MAX_INT)] = 1,
           role: Annotated[str, Form(max_length=30)] = "") -> Response:
    """The hospital or the lead invites an organisation to take part (it takes part once it accepts)."""
    form = {"organisation_id": organisation_id, "role": role}
    try:
        engagements.add_participant(w.session, w.actor, engagement_id,
                                    ParticipantCreate(organisation_id=organisation_id, role=role), version)
    except (ValidationError, AppError) as e:
        return _refused(request, w, engagement_id, e, form, prefix="participant.")
    return redirect(f"/partnerships/{engagement_id}#participants", flash="Invitation sent.")


@router.post("/partnerships/{engagement_id}/milestones", response_class=HTMLResponse)
def add_milestone(request: Request, w: PartyPost, engagement_id: DbInt,
                  kind: Annotated[str, Form(max_length=40)] = "", title: Annotated[str, Form(max_length=300)] = "",
                  occurred_on: Annotated[str, Form(max_length=10)] = "",
                  reference: Annotated[str, Form(max_length=100)] = "", notes: Comment = "") -> Response:
    form = {"kind": kind, "title": title, "occurred_on": occurred_on, "reference": reference, "notes": notes}
    try:
        data = MilestoneCreate(kind=kind, title=title, occurred_on=occurred_on, reference=reference or None,
                               notes=notes)
        engagements.add_milestone(w.session, w.actor, engagement_id, data)
    except (ValidationError, AppError) as e:
        return _refused(request, w, engagement_id, e, form, prefix="milestone.")
    return redirect(f"/partnerships/{engagement_id}#milestones", flash="Milestone recorded.")


@router.post("/partnerships/{engagement_id}/milestones/{milestone_id}/documents", response_class=HTMLResponse)
def attach(request: Request, w: PartyPost, engagement_id: DbInt, milestone_id: DbInt,
           file: Annotated[UploadFile | None, File()] = None) -> Response:
    settings = _settings(request)
    try:
        if file is None or not file.filename:
            raise Invalid("file", msg("The file is empty."))
        engagements.attach_document(w.session, w.actor, engagement_id, milestone_id, file.filename,
                                    file.content_type, file.file, folder=settings.attachments_dir,
                                    max_bytes=settings.max_attachment_bytes)
    except AppError as e:
        return _refused(request, w, engagement_id, e, prefix=f"doc{milestone_id}.")
    return redirect(f"/partnerships/{engagement_id}#milestones", flash="Document attached.")


@router.get("/partnerships/{engagement_id}/documents/{document_id}")
def download(request: Request, w: Reader, engagement_id: DbInt, document_id: DbInt) -> Response:
    doc, path = engagements.open_document(w.session, w.actor, engagement_id, document_id,
                                          _settings(request).attachments_dir)
    return FileResponse(path, media_type=doc.content_type, filename=doc.filename,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


# --- conversations -------------------------------------------------------------------------------------------------

@router.get("/threads", response_class=HTMLResponse)
def threads(request: Request, w: Reader, page_: Annotated[str | None, Query(alias="page", max_length=8)] = None):
    n = page_number(page_)
    rows, total = messages.list_threads(w.session, w.actor, _settings(request).commission_reads_all_threads,
                                        PageParams(limit=20, offset=(n - 1) * 20))
    return render(request, "partnerships/threads.html", rows=rows, pager=Pager(n, total),
                  names={t.id: (org_name(t.hospital, w.lang) if t.hospital else None,
                                org_name(t.company, w.lang) if t.company else None) for t in rows})


def _page_url(conv) -> str:
    if conv.engagement is not None:
        return f"/threads/partnerships/{conv.engagement.id}"
    return f"/threads/needs/{conv.need.id}/{conv.company_org_id}"


def conversation_page(request: Request, w: Web, conv, status: int = 200, errors: dict | None = None,
                      body: str = "") -> Response:
    rows, _ = messages.list_messages(w.session, w.actor, conv, PageParams(limit=200, offset=0))
    side = messages.writer_side(w.session, w.actor, conv)
    head = messages.thread_public(w.session, w.actor, conv.thread) if conv.thread is not None else None
    return render(request, "partnerships/thread.html", status=status, conv=conv, rows=rows, side=side,
                  head=head, url=_page_url(conv), errors=errors or {}, body=body, sides=SIDES,
                  hospital_name=org_name(head.hospital, w.lang) if head and head.hospital else None,
                  company_name=org_name(head.company, w.lang) if head and head.company else None)


def _post(request: Request, w: Web, conv, body: str, file: UploadFile | None = None) -> Response:
    settings = _settings(request)
    try:
        if file is not None and file.filename:  # words beside a file are optional
            messages.post_attachment(w.session, w.actor, conv, body, file.filename, file.content_type, file.file,
                                     folder=settings.attachments_dir, max_bytes=settings.max_attachment_bytes)
        else:
            data = MessageCreate(body=body)
            messages.post(w.session, w.actor, conv, data.body)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errs = form_errors(e, w.lang)
        top = "file" if file is not None and file.filename else "body"  # a refused file is the file's error
        errs[top] = errs.get(top) or errs.get("_")
        return conversation_page(request, w, conv, status=422,
                                 errors={k: v for k, v in errs.items() if k in ("body", "file") and v}, body=body)
    return redirect(_page_url(conv) + "#latest", flash="Message sent.")


@router.get("/threads/needs/{need_id}/{company_org_id}", response_class=HTMLResponse)
def need_thread(request: Request, w: Reader, need_id: DbInt, company_org_id: DbInt) -> Response:
    conv = messages.need_conversation(w.session, w.actor, need_id, company_org_id,
                                      _settings(request).commission_reads_all_threads)
    return conversation_page(request, w, conv)


@router.post("/threads/needs/{need_id}/{company_org_id}", response_class=HTMLResponse)
def write_need_thread(request: Request, w: PartyPost, need_id: DbInt, company_org_id: DbInt,
                      body: Annotated[str, Form(max_length=4000)] = "",
                      file: Annotated[UploadFile | None, File()] = None) -> Response:
    conv = messages.need_conversation(w.session, w.actor, need_id, company_org_id,
                                      _settings(request).commission_reads_all_threads)
    return _post(request, w, conv, body, file)


@router.get("/threads/needs/{need_id}/{company_org_id}/messages/{message_id}/attachment")
def need_attachment(request: Request, w: Reader, need_id: DbInt, company_org_id: DbInt,
                    message_id: DbInt) -> Response:
    settings = _settings(request)
    conv = messages.need_conversation(w.session, w.actor, need_id, company_org_id,
                                      settings.commission_reads_all_threads)
    return _file(*messages.open_attachment(w.session, conv, message_id, settings.attachments_dir))


def _file(m, path) -> FileResponse:
    return FileResponse(path, media_type=m.content_type, filename=m.filename,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@router.get("/threads/partnerships/{engagement_id}", response_class=HTMLResponse)
def partnership_thread(request: Request, w: Reader, engagement_id: DbInt) -> Response:
    conv = messages.engagement_conversation(w.session, w.actor, engagement_id,
                                            _settings(request).commission_reads_all_threads)
    return conversation_page(request, w, conv)


@router.post("/threads/partnerships/{engagement_id}", response_class=HTMLResponse)
def write_partnership_thread(request: Request, w: PartyPost, engagement_id: DbInt,
                             body: Annotated[str, Form(max_length=4000)] = "",
                             file: Annotated[UploadFile | None, File()] = None) -> Response:
    conv = messages.engagement_conversation(w.session, w.actor, engagement_id,
                                            _settings(request).commission_reads_all_threads)
    return _post(request, w, conv, body, file)


@router.get("/threads/partnerships/{engagement_id}/messages/{message_id}/attachment")
def partnership_attachment(request: Request, w: Reader, engagement_id: DbInt, message_id: DbInt) -> Response:
    settings = _settings(request)
    conv = messages.engagement_conversation(w.session, w.actor, engagement_id, settings.commission_reads_all_threads)
    return _file(*messages.open_attachment(w.session, conv, message_id, settings.attachments_dir))


# --- invitations -------------------------------------------------------------------------------------------------

@router.get("/invitations", response_class=HTMLResponse)
def invitations(request: Request, w: Party, status: int = 200, action_error: str | None = None) -> Response:
    rows, _ = engagements.list_invitations(w.session, w.actor, None, PageParams(limit=100, offset=0))
    return render(request, "partnerships/invitations.html", status=status, rows=rows, action_error=action_error,
                  names={i.id: (org_name(i.hospital, w.lang) if i.hospital else None, org_name(i.lead, w.lang))
                         for i in rows})


@router.post("/invitations/{invitation_id}", response_class=HTMLResponse)
def answer_invitation(request: Request, w: PartyPost, invitation_id: DbInt,
                      answer: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        inv = engagements.answer_invitation(w.session, w.actor, invitation_id, accept=answer == "accept")
    except AppError as e:
        w.session.rollback()
        return invitations(request, w, status=409, action_error=say(e.detail, w.lang))
    if answer == "accept":
        return redirect(f"/partnerships/{inv.engagement_id}", flash="Invitation accepted.")
    return redirect("/invitations", flash="Invitation declined.")
