"""The commission's pages: the dashboard (app.services.analytics, the API's own figures; charts by Chart.js 4.6.1,
vendored), the brokering queue and introductions (app.services.introductions), its notes, and the audit trail
(read-only). The dashboard and the audit trail are open to admins too; brokering is the commission's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import select

from app.errors import AppError
from app.i18n import msg
from app.models import AuditEvent, Capability, Need, Organisation, User
from app.models.common import LOCAL_TZ
from app.models.enums import Region, Role, Track
from app.models.introduction import IntroductionCreate, IntroductionStatus
from app.models.note import NoteCreate, NoteTarget
from app.services import analytics, audit, engagements, introductions, notes
from app.services.listing import PageParams
from app.web.core import Web, error_page, form_errors, redirect, render, require

router = APIRouter(include_in_schema=False)
Reader = Annotated[Web, require(Role.commission, Role.admin)]
Broker = Annotated[Web, require(Role.commission)]
BrokerPost = Annotated[Web, require(Role.commission, csrf=True)]
ReaderPost = Annotated[Web, require(Role.commission, Role.admin, csrf=True)]
PAGE_ROWS = 50  # rows shown per list; the CSV export has them all


def _int(value: str | None, default: int | None = None, low: int = 0, high: int = 2**62) -> int | None:
    try:
        return max(low, min(int(value), high)) if value not in (None, "") else default
    except ValueError:
        return default


# --- the dashboard ---------------------------------------------------------------------------------------------------

def _filters(request: Request) -> analytics.Filters:
    """The filters from the query string; anything malformed is ignored (the page shows what it used)."""
    q = request.query_params

    def day(name: str) -> date | None:
        try:
            return analytics.date_in_range(date.fromisoformat(q[name])) if q.get(name) else None
        except ValueError:  # malformed or out of range (9999-12-31 overflowed the query: a 500)
            return None

    track, region = q.get("track"), q.get("region")
    return analytics.Filters(date_from=day("date_from"), date_to=day("date_to"),
                             track=Track(track) if track in {t.value for t in Track} else None,
                             region=region if region in analytics.REGION_FILTERS else None,
                             stale_days=_int(q.get("stale_days"), 30, 0, 3650),
                             fit_min_score=request.app.state.settings.fit_min_score)


def _query(f: analytics.Filters) -> str:
    return urlencode({k: v for k, v in {"date_from": f.date_from, "date_to": f.date_to,
                                        "track": f.track.value if f.track else None, "region": f.region,
                                        "stale_days": f.stale_days}.items() if v is not None})


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, w: Reader) -> Response:
    f = _filters(request)
    rep = analytics.report(w.session, w.actor, f, limit=PAGE_ROWS)
    t = w.t
    labels = {"steps": [t(r["step"]) for r in rep["funnel"]], "stages": [t(r["stage"]) for r in rep["stage_durations"]],
              **{k: t(k) for k in ("median", "p90", "filed", "interested", "intent_signed", "clinical_use", "count")}}
    generated = datetime.fromisoformat(rep["generated_at"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return render(request, "commission/dashboard.html", rep=rep, generated_local=generated, labels=labels, f=f,
                  query=_query(f), tracks=[x.value for x in Track], regions=[r.value for r in Region] + ["jiangsu"],
                  dimensions=analytics.DIMENSIONS, steps_of=analytics.steps_of,
                  chart={"funnel": rep["funnel"], "durations": rep["stage_durations"],
                         "months": rep["breakdowns"]["month"]})


@router.get("/dashboard/export/{name}.csv")
def export(request: Request, w: Reader, name: str) -> Response:
    section, _, dimension = name.partition("-")
    if section not in analytics.SECTIONS or (section == "breakdowns") != (dimension in analytics.DIMENSIONS):
        return error_page(request, 404, msg("This page does not exist."))
    rep = analytics.report(w.session, w.actor, _filters(request), sections=[section])
    header, rows = analytics.table(rep, section, dimension or None)
    return Response(analytics.to_csv(header, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="clinmatch-{name}.csv"'})


@router.get("/dashboard/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement(request: Request, w: Reader, engagement_id: int) -> Response:
    eng = engagements.get_visible(w.session, w.actor, engagement_id)  # a 404 AppError: the error page
    return render(request, "commission/engagement.html", e=engagements.detail(w.session, w.actor, eng))


# --- brokering -------------------------------------------------------------------------------------------------------

@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, w: Broker) -> Response:
    f = _filters(request)
    q = introductions.queue(w.session, w.actor, f, limit=PAGE_ROWS)
    return render(request, "commission/queue.html", q=q, f=f)


def _introductions_page(request: Request, w: Web, status: int = 200, errors: dict | None = None,
                        form: dict | None = None) -> Response:
    which = request.query_params.get("status")
    st = IntroductionStatus(which) if which in {s.value for s in IntroductionStatus} else None
    offset = _int(request.query_params.get("offset"), 0)
    rows, total = introductions.list_introductions(
        w.session, w.actor, introductions.IntroductionFilters(status=st),
        PageParams(limit=PAGE_ROWS, offset=offset))
    q = request.query_params
    form = form or {"need_id": q.get("need_id", ""), "capability_ids": q.get("capability_ids", ""), "note": ""}
    return render(request, "commission/introductions.html", status=status, rows=rows, total=total, offset=offset,
                  page_rows=PAGE_ROWS, which=st.value if st else "", statuses=[s.value for s in IntroductionStatus],
                  errors=errors or {}, form=form, may_introduce=w.actor.role == Role.commission)


@router.get("/introductions", response_class=HTMLResponse)
def introductions_page(request: Request, w: Reader) -> Response:
    return _introductions_page(request, w)


@router.post("/introductions", response_class=HTMLResponse)
def introduce(request: Request, w: BrokerPost, need_id: Annotated[str, Form(max_length=20)] = "",
              capability_ids: Annotated[str, Form(max_length=400)] = "",
              note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    form = {"need_id": need_id, "capability_ids": capability_ids, "note": note}
    ids = [x for x in capability_ids.replace("，", ",").replace(" ", ",").split(",") if x]
    try:
        data = IntroductionCreate(**({"need_id": need_id} if need_id else {}), capability_ids=ids, note=note)
        introductions.introduce(w.session, w.actor, data)
    except (ValidationError, AppError) as e:
        w.session.rollback()
        errors = form_errors(e, w.lang)
        errors = {k.split(".")[0]: v for k, v in errors.items()}  # capability_ids.0 -> beside the one field
        return _introductions_page(request, w, 422, errors, form)
    return redirect("/introductions", flash=msg("The introduction is sent; the parties are notified."))


# --- notes -------------------------------------------------------------------------------------------------------

def _subject(session, entity: str, entity_id: int) -> str:
    model = {"need": Need, "capability": Capability, "organisation": Organisation}.get(entity)
    row = session.get(model, entity_id) if model else None
    if row is None:
        return f"#{entity_id}"
    return row.display_name if isinstance(row, Organisation) else row.title


def _notes_page(request: Request, w: Web, status: int = 200, errors: dict | None = None,
                form: dict | None = None) -> Response:
    q = request.query_params
    entity = q.get("entity") if q.get("entity") in {e.value for e in NoteTarget} else None
    entity_id = _int(q.get("entity_id"))
    offset = _int(q.get("offset"), 0)
    rows, total = notes.list_notes(w.session, w.actor, entity, entity_id, PageParams(limit=PAGE_ROWS, offset=offset))
    authors = {u.id: u for u in w.session.exec(select(User).where(User.id.in_({n.author_id for n in rows})))} \
        if rows else {}
    shown = [{"note": n, "subject": _subject(w.session, n.entity, n.entity_id),
              "author": authors.get(n.author_id)} for n in rows]
    form = form or {"entity": entity or "need", "entity_id": q.get("entity_id", ""), "body": ""}
    return render(request, "commission/notes.html", status=status, rows=shown, total=total, offset=offset,
                  page_rows=PAGE_ROWS, errors=errors or {}, form=form, targets=[e.value for e in NoteTarget])


@router.get("/notes", response_class=HTMLResponse)
def notes_page(request: Request, w: Reader) -> Response:
    return _notes_page(request, w)


@router.post("/notes", response_class=HTMLResponse)
def add_note(request: Request, w: ReaderPost, entity: Annotated[str, Form(max_length=20)] = "",
             entity_id: Annotated[str, Form(max_length=20)] = "",
             body: Annotated[str, Form(max_length=4000)] = "") -> Response:
    form = {"entity": entity, "entity_id": entity_id, "body": body}
    try:
        notes.create_note(w.session, w.actor, NoteCreate(entity=entity, body=body,
                                                         **({"entity_id": entity_id} if entity_id else {})))
    except (ValidationError, AppError) as e:
        w.session.rollback()
        return _notes_page(request, w, 422, form_errors(e, w.lang), form)
    return redirect("/notes", flash=msg("The note is saved."))


# --- the audit trail (read-only) -------------------------------------------------------------------------------------

@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, w: Reader) -> Response:
    q = request.query_params
    entity = (q.get("entity") or "").strip()[:40] or None
    action = (q.get("action") or "").strip()[:40] or None
    entity_id = _int(q.get("entity_id"))
    offset = _int(q.get("offset"), 0, 0, 10_000_000)
    rows, total = audit.list_events(w.session, w.actor, entity, entity_id, None, action,
                                    PageParams(limit=PAGE_ROWS, offset=offset))
    who = {u.id: u.email for u in w.session.exec(select(User).where(User.id.in_({r.user_id for r in rows if
                                                                                   r.user_id})))} if rows else {}
    entities = list(w.session.exec(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)).all())
    query = urlencode({k: v for k, v in {"entity": entity, "entity_id": entity_id, "action": action}.items() if v})
    return render(request, "commission/audit.html", rows=rows, total=total, offset=offset, page_rows=PAGE_ROWS,
                  who=who, entities=entities, f={"entity": entity or "", "entity_id": entity_id or "",
                                                 "action": action or ""}, query=query)
