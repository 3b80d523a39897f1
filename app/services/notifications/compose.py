"""From domain events to what each organisation is told: items, notifications (the inbox) and deliveries (the outbox).

One event is handled in one transaction: its items, the notifications an instant rhythm makes of them, their
deliveries, and the event's ``processed_at`` commit together or not at all, so an event is never half told.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlmodel import Session, select

from app.config import Settings
from app.models import (
    Capability,
    Delivery,
    DomainEvent,
    Engagement,
    Introduction,
    MatchFeedback,
    MatchNotice,
    MatchRecord,
    Message,
    Milestone,
    Need,
    Notification,
    NotificationItem,
    NotificationPreference,
    Organisation,
    Thread,
    User,
    WebhookEndpoint,
)
from app.models.enums import CapabilityStatus, NeedStatus, OrgKind, Role
from app.models.event import EventType
from app.models.match import Party, Verdict
from app.models.notification import Channel, NotificationKind, Rhythm
from app.policy import Actor, hospital_identity_visible
from app.services import reasons
from app.services.industry.notices import HANDLERS as INDUSTRY_HANDLERS
from app.services.notifications import preferences, render

log = logging.getLogger("clinmatch.notifications")

MAX_MATCHES_PER_MESSAGE = 10  # the right few: at most this many matches in one instant message


def links(settings: Settings, page: str, api: str) -> dict[str, str]:
    """Where an item leads: ``link`` to the web page a person opens (from an e-mail, a WeChat share), ``api_link``
    to the API resource integrations read."""
    base = settings.public_base_url
    return {"link": f"{base}{page}", "api_link": f"{base}{api}"}


# --- views of the things an item names, as its recipient may see them ----------------------------------------------

def _actor_for(org: Organisation) -> Actor:
    role = {OrgKind.hospital: Role.hospital_staff, OrgKind.commission: Role.commission}.get(org.kind, Role.company_staff)
    return Actor(user_id=None, organisation_id=org.id, org_kind=org.kind, role=role)


def _need_view(session: Session, settings: Settings, need: Need, viewer: Organisation) -> dict[str, Any]:
    """The need as ``viewer`` may see it: an anonymous need names no hospital until the hospital accepts."""
    shown = hospital_identity_visible(_actor_for(viewer), need, session)
    hospital = session.get(Organisation, need.hospital_id) if shown else None
    return {"id": need.id, "title": need.title, "tracks": need.tracks, "regions": need.regions,
            "hospital": hospital.display_name if hospital else None, "hospital_id": hospital.id if hospital else None,
            **links(settings, f"/needs/{need.id}", f"/api/v1/needs/{need.id}")}


def _match_item(session, settings, need: Need, cap: Capability, rec: MatchRecord, viewer: Organisation) -> dict:
    exp = rec.explanation or {}
    passages = exp.get("best_passages") or {}
    return {"kind": "match", "score": round(float(rec.score), 4), "confidence": rec.confidence, "band": rec.band,
            "need": _need_view(session, settings, need, viewer),
            "capability": {"id": cap.id, "title": cap.title,
                           **links(settings, f"/capabilities/{cap.id}", f"/api/v1/capabilities/{cap.id}/matches")},
            **reasons.both(exp), "passage": passages.get("need", ""),
            "conditions": [{"condition": c.get("condition"), "holds": c.get("holds")}
                           for c in exp.get("structured", [])],
            **links(settings, f"/needs/{need.id}", f"/api/v1/needs/{need.id}")}


# --- event handlers: event -> {organisation id: [items]} -----------------------------------------------------------

def _new_matches(session: Session, settings: Settings, recs: list[MatchRecord]) -> dict[int, list[dict]]:
    """The persisted matches not yet told to the capability's organisation, above its threshold, within its
    interests, not declined by it, not weak (calibrated band); for open needs and active capabilities."""
    if not recs:
        return {}
    caps = {c.id: c for c in session.exec(select(Capability).where(
        Capability.id.in_({r.capability_id for r in recs}), Capability.status == CapabilityStatus.active)).all()}
    needs = {n.id: n for n in session.exec(select(Need).where(
        Need.id.in_({r.need_id for r in recs}), Need.status == NeedStatus.open)).all()}
    orgs = {o.id: o for o in session.exec(select(Organisation).where(Organisation.id.in_(
        {c.organisation_id for c in caps.values()} | {n.hospital_id for n in needs.values()}))).all()}
    prefs = preferences.for_orgs(session, [c.organisation_id for c in caps.values()])
    pairs = [(r.need_id, r.capability_id) for r in recs]
    told = {(n, c) for o, n, c in _told(session, pairs) if o == caps[c].organisation_id} if caps else set()
    declined = set(session.exec(select(MatchFeedback.need_id, MatchFeedback.capability_id).where(
        MatchFeedback.need_id.in_({p[0] for p in pairs}), MatchFeedback.party == Party.company,
        MatchFeedback.verdict == Verdict.not_interested)).all())
    skip = told | declined
    out: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(recs, key=lambda r: -r.score):
        cap, need = caps.get(r.capability_id), needs.get(r.need_id)
        if cap is None or need is None or (r.need_id, r.capability_id) in skip or r.band == "weak":
            continue  # a weak match is nobody's news: it stays visible on request (include_weak), never pushed
        org_id = cap.organisation_id
        pref = prefs[org_id]
        # the hospital's region only where the company may know the hospital (an anonymous need's region filter
        # would otherwise tell where it comes from)
        region = orgs[need.hospital_id].region if hospital_identity_visible(_actor_for(orgs[org_id]), need, session) \
            else None
        if r.score < pref.min_score or not preferences.wants_need(pref, need, region):
            continue
        if len(out[org_id]) >= MAX_MATCHES_PER_MESSAGE:
            continue
        session.add(MatchNotice(organisation_id=org_id, need_id=need.id, capability_id=cap.id, score=r.score))
        skip.add((need.id, cap.id))
        out[org_id].append(_match_item(session, settings, need, cap, r, orgs[org_id]))
    return out


def _told(session: Session, pairs: list[tuple[int, int]]) -> set[tuple[int, int, int]]:
    """(organisation, need, capability) of every match already told, among ``pairs``."""
    if not pairs:
        return set()
    return set(session.exec(select(MatchNotice.organisation_id, MatchNotice.need_id, MatchNotice.capability_id)
                            .where(MatchNotice.need_id.in_({p[0] for p in pairs}),
                                   MatchNotice.capability_id.in_({p[1] for p in pairs}))).all())


def _new_fits(session: Session, settings: Settings, recs: list[MatchRecord]) -> dict[int, list[dict]]:
    """A new or changed capability that reaches ``strong`` for an open need is news for the need's hospital too
    (once a pair): hospitals hear of new fits without asking for their matches again."""
    strong = [r for r in recs if r.band == "strong"]
    if not strong:
        return {}
    caps = {c.id: c for c in session.exec(select(Capability).where(
        Capability.id.in_({r.capability_id for r in strong}), Capability.status == CapabilityStatus.active)).all()}
    needs = {n.id: n for n in session.exec(select(Need).where(
        Need.id.in_({r.need_id for r in strong}), Need.status == NeedStatus.open)).all()}
    told = _told(session, [(r.need_id, r.capability_id) for r in strong])
    declined = set(session.exec(select(MatchFeedback.need_id, MatchFeedback.capability_id).where(
        MatchFeedback.need_id.in_(needs), MatchFeedback.party == Party.hospital,
        MatchFeedback.verdict == Verdict.not_interested)).all()) if needs else set()
    out: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(strong, key=lambda r: -r.score):
        cap, need = caps.get(r.capability_id), needs.get(r.need_id)
        if cap is None or need is None or (need.hospital_id, need.id, cap.id) in told \
                or (need.id, cap.id) in declined or len(out[need.hospital_id]) >= MAX_MATCHES_PER_MESSAGE:
            continue
        hospital = session.get(Organisation, need.hospital_id)
        session.add(MatchNotice(organisation_id=hospital.id, need_id=need.id, capability_id=cap.id, score=r.score))
        company = session.get(Organisation, cap.organisation_id)
        item = _match_item(session, settings, need, cap, r, hospital)
        item.update(audience="hospital", company=company.display_name,
                    **links(settings, f"/needs/{need.id}", f"/api/v1/needs/{need.id}/matches"))
        out[hospital.id].append(item)
    return out


def _on_need(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    recs = session.exec(select(MatchRecord).where(MatchRecord.need_id == ev.payload["need_id"])).all()
    return _new_matches(session, settings, list(recs))


def _on_capability(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    recs = list(session.exec(select(MatchRecord).where(MatchRecord.capability_id == ev.payload["capability_id"])))
    out = _new_matches(session, settings, recs)
    for org_id, items in _new_fits(session, settings, recs).items():
        out.setdefault(org_id, []).extend(items)
    return out


def _on_feedback(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    """Interest is news for the other party: a company's for the hospital, a hospital's for the company."""
    p = ev.payload
    if p["verdict"] != Verdict.interested:
        return {}
    need, cap = session.get(Need, p["need_id"]), session.get(Capability, p["capability_id"])
    if need is None or cap is None:  # pragma: no cover - rows are never deleted
        return {}
    company = session.get(Organisation, cap.organisation_id)
    if p["party"] == Party.company:
        to = session.get(Organisation, need.hospital_id)
        fb = session.exec(select(MatchFeedback).where(MatchFeedback.need_id == need.id,
                                                      MatchFeedback.capability_id == cap.id,
                                                      MatchFeedback.party == Party.company)).first()
        item = {"kind": "interest", "who": company.display_name, "subject": need.title, "score": p.get("score"),
                "comment": fb.comment if fb else "",
                "need": {"id": need.id, "title": need.title}, "capability": {"id": cap.id, "title": cap.title},
                **links(settings, f"/needs/{need.id}", f"/api/v1/needs/{need.id}/matches")}
    else:
        to = company
        view = _need_view(session, settings, need, company)
        item = {"kind": "interest", "who": view["hospital"], "subject": cap.title, "score": p.get("score"),
                "need": view, "capability": {"id": cap.id, "title": cap.title}, "link": view["link"],
                "api_link": view["api_link"]}
    return {to.id: [item]}


def _on_engagement(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    """Every party of the partnership hears of its steps (the hospital's name stays out: the need's title says it)."""
    p = ev.payload
    eng = session.get(Engagement, p["engagement_id"])
    need = session.get(Need, p["need_id"])
    detail = ""
    if ev.type == EventType.engagement_transition:
        detail = p.get("comment") or ""
    elif ev.type == EventType.engagement_milestone:
        m = session.get(Milestone, p["milestone_id"])
        detail = m.title if m else p.get("kind", "")
    elif ev.type == EventType.engagement_document:
        detail = p.get("filename", "")
    elif ev.type in (EventType.engagement_participant_invited, EventType.engagement_participant_answered):
        detail = " ".join(x for x in (p.get("role"), p.get("status")) if x)
    item = {"kind": "engagement", "event": ev.type, "engagement_id": eng.id, "need_title": need.title,
            "state": p.get("to_state") or p.get("state"), "detail": detail[:200],
            **links(settings, f"/partnerships/{eng.id}", f"/api/v1/engagements/{eng.id}")}
    out = {org_id: [dict(item)] for org_id in ev.organisation_ids}
    invitee = p.get("organisation_id") if ev.type.startswith("engagement.participant_") else None
    if invitee in out:  # an invited organisation reads its invitation, not the partnership (it is no party yet)
        out[invitee][0].update(links(settings, "/invitations", "/api/v1/invitations"))
    return out


def _on_introduction(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    """An introduction is news for each party it names: the company (the need as it may see it, the commission's
    note and the matcher's reasons), the hospital (who was introduced, who answered and what they offer), and the
    commission that brokered it."""
    p = ev.payload
    intro = session.get(Introduction, p["introduction_id"])
    need, cap = session.get(Need, intro.need_id), session.get(Capability, intro.capability_id)
    company = session.get(Organisation, intro.organisation_id)
    rec = session.exec(select(MatchRecord).where(MatchRecord.need_id == need.id,
                                                 MatchRecord.capability_id == cap.id)).first()
    base = {"kind": "introduction", "event": ev.type, "introduction_id": intro.id, "status": intro.status,
            "note": intro.note, "comment": intro.comment, "reason": intro.reason,
            "capability": {"id": cap.id, "title": cap.title}, "company": company.display_name,
            "score": round(float(rec.score), 4) if rec else None,
            **reasons.both(rec.explanation if rec else None)}
    api = f"/api/v1/introductions/{intro.id}"
    out: dict[int, list[dict]] = {}
    for org_id in ev.organisation_ids:
        org = session.get(Organisation, org_id)
        if org is None:  # pragma: no cover - organisations are never deleted
            continue
        # each reads it where it acts on it: the company in its inbox, the hospital on its need, the commission
        # in its introductions
        page = {OrgKind.hospital: f"/needs/{need.id}", OrgKind.commission: "/introductions"}.get(org.kind, "/inbox")
        out[org_id] = [{**base, "need": _need_view(session, settings, need, org), **links(settings, page, api)}]
    return out


def _on_message(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    """A new message is news for the other side of its conversation (never the commission): who wrote (an
    anonymous need's hospital as its side only), the start of the words, the link to the thread."""
    msg = session.get(Message, ev.payload["message_id"])
    thread = session.get(Thread, msg.thread_id)
    need = session.get(Need, thread.need_id)
    author = session.get(Organisation, msg.organisation_id)
    path = (f"/api/v1/engagements/{thread.engagement_id}/messages" if thread.engagement_id
            else f"/api/v1/needs/{need.id}/threads/{thread.company_org_id}/messages")
    page = (f"/threads/partnerships/{thread.engagement_id}" if thread.engagement_id
            else f"/threads/needs/{need.id}/{thread.company_org_id}")
    out: dict[int, list[dict]] = {}
    for org_id in ev.organisation_ids:
        org = session.get(Organisation, org_id)
        if org is None:  # pragma: no cover - organisations are never deleted
            continue
        view = _need_view(session, settings, need, org)
        named = msg.organisation_id != need.hospital_id or view["hospital_id"] is not None
        out[org_id] = [{"kind": "message", "side": msg.side, "who": author.display_name if named else None,
                        "need": view, "thread_id": thread.id, "engagement_id": thread.engagement_id,
                        "comment": msg.body[:300], "attachment": msg.filename, **links(settings, page, path)}]
    return out


E = EventType
HANDLERS = {
    E.need_opened: _on_need, E.need_changed: _on_need, E.need_matched: _on_need,
    E.capability_added: _on_capability, E.capability_changed: _on_capability,
    E.match_feedback: _on_feedback,
    E.message_posted: _on_message,
    **{t: _on_introduction for t in (E.introduction_made, E.introduction_answered, E.introduction_decided)},
    **{t: _on_engagement for t in (E.engagement_proposed, E.engagement_accepted, E.engagement_transition,
                                   E.engagement_milestone, E.engagement_participant_invited,
                                   E.engagement_participant_answered, E.engagement_document)},
    **INDUSTRY_HANDLERS,
}
# Recorded, told to no one: a need goes in or out of partnership only as an engagement step that its parties are
# told of already (engagement.transition, in the same transaction); a second message would repeat it.
SILENT = frozenset({E.need_status_changed})


# --- items -> notification -> deliveries ---------------------------------------------------------------------------

def _kind_of(items: list[dict]) -> str:
    kinds = {i["kind"] for i in items}
    return kinds.pop() if len(kinds) == 1 else NotificationKind.digest


def make_notification(session: Session, settings: Settings, org_id: int, items: list[dict], key: str,
                      kind: str | None = None, rhythm: str = Rhythm.instant,
                      pref: NotificationPreference | None = None) -> Notification:
    """One message to ``org_id`` from ``items`` (ranked), in the organisation's language, with a delivery for each
    chosen push channel and recipient. ``key``: the idempotency key (unique: a second call with it fails)."""
    pref = pref or preferences.for_org(session, org_id)
    kind = kind or _kind_of(items)
    ranked = render.ranked(items)
    title = render.title(kind, ranked, pref.language, rhythm)
    link = ranked[0].get("link", "") if len(ranked) == 1 else f"{settings.public_base_url}/inbox"
    n = Notification(organisation_id=org_id, kind=kind, title=title[:300], body=render.body(ranked, pref.language),
                     language=pref.language, link=link[:500], payload={"items": ranked, "rhythm": rhythm},
                     idempotency_key=key,
                     inbox=Channel.inbox in pref.channels)
    session.add(n)
    session.flush()
    add_deliveries(session, settings, n, pref.channels, pref.language)
    return n


def add_deliveries(session: Session, settings: Settings, n: Notification, channels, org_language: str,
                   endpoints: list[WebhookEndpoint] | None = None) -> list[Delivery]:
    """A delivery per active webhook endpoint (when webhooks are chosen) and per member's mailbox (when e-mail is
    chosen and the server can send it). Keys ``msg_<notification>_w<endpoint>`` / ``_u<user>``: stable forever."""
    out = []
    if Channel.webhook in channels:
        if endpoints is None:
            endpoints = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == n.organisation_id,
                                                                   WebhookEndpoint.is_active.is_(True))).all()
        for ep in endpoints:
            out.append(Delivery(notification_id=n.id, organisation_id=n.organisation_id, channel=Channel.webhook,
                                endpoint_id=ep.id, recipient=ep.url, language=n.language,
                                idempotency_key=f"msg_{n.id}_w{ep.id}"))
    if Channel.email in channels and settings.smtp_host:
        members = session.exec(select(User).where(User.organisation_id == n.organisation_id,
                                                  User.is_active.is_(True))).all()
        own = preferences.for_users(session, [u.id for u in members])
        for u in members:
            if own[u.id].email:
                out.append(Delivery(notification_id=n.id, organisation_id=n.organisation_id, channel=Channel.email,
                                    recipient=u.email, language=own[u.id].language or org_language,
                                    idempotency_key=f"msg_{n.id}_u{u.id}"))
        if not members:
            org = session.get(Organisation, n.organisation_id)
            if org.contact_email:
                out.append(Delivery(notification_id=n.id, organisation_id=n.organisation_id, channel=Channel.email,
                                    recipient=org.contact_email, language=org_language,
                                    idempotency_key=f"msg_{n.id}_org"))
    session.add_all(out)
    return out


def tell(session: Session, settings: Settings, per_org: dict[int, list[dict]], key_prefix: str,
         dedup: dict[int, str] | None = None) -> list[Notification]:
    """Record the items; for organisations on the instant rhythm make the notifications now, one per kind (the
    digest collects the rest later); an organisation that turned notifications off gets nothing."""
    made = []
    prefs = preferences.for_orgs(session, per_org)
    for org_id, items in per_org.items():
        pref = prefs[org_id]
        if not items or pref.rhythm == Rhythm.off:
            continue
        rows = [NotificationItem(organisation_id=org_id, kind=i["kind"], score=i.get("score"), payload=i,
                                 dedup_key=(dedup or {}).get(org_id)) for i in items]
        session.add_all(rows)
        if pref.rhythm != Rhythm.instant:
            continue
        by_kind: dict[str, list[NotificationItem]] = defaultdict(list)
        for r in rows:
            by_kind[r.kind].append(r)
        for kind, group in by_kind.items():
            n = make_notification(session, settings, org_id, [r.payload for r in group],
                                  f"{key_prefix}:{org_id}:{kind}", kind=kind, pref=pref)
            for r in group:
                r.notification_id = n.id
            made.append(n)
    session.flush()
    return made


def collect(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    """What ``ev`` tells each organisation (nothing for the ``SILENT`` events)."""
    handler = HANDLERS.get(ev.type)
    return handler(session, settings, ev) if handler else {}
