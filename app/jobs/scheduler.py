"""What the clock triggers: digests for the daily and weekly rhythms, and the reminders that keep anybody from
waiting in silence (a need nobody took up, a partnership that stopped moving)."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.config import Settings
from app.models import (
    Engagement,
    EngagementParticipant,
    EngagementTransition,
    MatchFeedback,
    MatchNotice,
    Milestone,
    Need,
    Notification,
    NotificationItem,
    NotificationPreference,
    Organisation,
)
from app.models.common import utcnow
from app.models.enums import NeedStatus, OrgKind
from app.models.match import Party, Verdict
from app.models.notification import NotificationKind, Rhythm
from app.services.notifications import compose, preferences, render
from app.workflow.states import FINAL

log = logging.getLogger("clinmatch.notifications")

MAX_DIGEST_ITEMS = 50


def period_start(rhythm: str, now: datetime, settings: Settings) -> datetime:
    """The start of the digest period ``now`` is in: the last ``digest_hour`` (daily), on a Monday (weekly)."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    start = local.replace(hour=settings.digest_hour, minute=0, second=0, microsecond=0)
    if local < start:
        start -= timedelta(days=1)
    if rhythm == Rhythm.weekly:
        start -= timedelta(days=start.weekday())
    return start


def run_digests(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """One message per organisation and period with every pending item, ranked. An organisation that went back to
    the instant rhythm gets its pending items at once; one that turned notifications off keeps them pending."""
    now = now or utcnow()
    made = 0
    with Session(engine) as s:
        org_ids = s.exec(select(NotificationItem.organisation_id).where(
            NotificationItem.notification_id.is_(None)).distinct()).all()
    for org_id in org_ids:
        with Session(engine, expire_on_commit=False) as s:
            pref = preferences.for_org(s, org_id)
            if pref.rhythm == Rhythm.off:
                continue
            rows = s.exec(select(NotificationItem).where(NotificationItem.organisation_id == org_id,
                                                         NotificationItem.notification_id.is_(None))
                          .order_by(NotificationItem.id)).all()
            if not rows:
                continue
            if pref.rhythm == Rhythm.instant:
                key = f"digest:{org_id}:flush:{rows[-1].id}"
            else:
                start = period_start(pref.rhythm, now, settings)
                if _aware(rows[0].created_at) >= start:
                    continue  # everything pending came in this period: it goes out at the next boundary
                if pref.last_digest_at is not None and _aware(pref.last_digest_at) >= start:
                    continue  # this period's digest went out already
                key = f"digest:{org_id}:{pref.rhythm}:{start.date().isoformat()}"
                if s.exec(select(Notification.id).where(Notification.idempotency_key == key)).first():
                    continue
            items = [r.payload for r in rows]
            n = compose.make_notification(s, settings, org_id, render.ranked(items)[:MAX_DIGEST_ITEMS], key,
                                          kind=NotificationKind.digest, rhythm=pref.rhythm, pref=pref)
            if len(items) > MAX_DIGEST_ITEMS:
                n.payload = {**n.payload, "more": len(items) - MAX_DIGEST_ITEMS}
            for r in rows:
                r.notification_id = n.id
                s.add(r)
            if pref.id is not None:
                s.execute(NotificationPreference.__table__.update()
                          .where(NotificationPreference.id == pref.id).values(last_digest_at=now))
            try:
                s.commit()
                made += 1
            except IntegrityError:  # another worker sent this digest first
                s.rollback()
    return made


# --- reminders -----------------------------------------------------------------------------------------------------

def _commission_orgs(s: Session) -> list[int]:
    return list(s.exec(select(Organisation.id).where(Organisation.kind == OrgKind.commission)).all())


def _remind(s: Session, settings: Settings, subject: str, period: int, org_ids, item: dict) -> int:
    """Tell each organisation once per subject and period (``NotificationItem.dedup_key``)."""
    keys = {o: f"reminder:{subject}:{period}:{o}" for o in sorted(set(org_ids))}
    seen = set(s.exec(select(NotificationItem.dedup_key).where(NotificationItem.dedup_key.in_(keys.values()))).all())
    todo = {o: [dict(item)] for o, k in keys.items() if k not in seen}
    if not todo:
        return 0
    compose.tell(s, settings, todo, f"reminder:{subject}:{period}", dedup={o: keys[o] for o in todo})
    return len(todo)


def run_reminders(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    """Reminders for needs open ``reminder_need_days`` with no interested company and no partnership, and for
    partnerships without a transition or milestone for ``reminder_engagement_days``; again every such period."""
    now = now or utcnow()
    sent = 0
    base = settings.public_base_url
    with Session(engine, expire_on_commit=False) as s:
        commission = _commission_orgs(s)
        n_days = settings.reminder_need_days
        interested = select(MatchFeedback.need_id).where(MatchFeedback.party == Party.company,
                                                         MatchFeedback.verdict == Verdict.interested)
        waiting = s.exec(select(Need).where(Need.status == NeedStatus.open,
                                            Need.opened_at <= now - timedelta(days=n_days),
                                            Need.id.not_in(interested),
                                            Need.id.not_in(select(Engagement.need_id)))).all()
        told = defaultdict(set)
        if waiting:
            for org_id, need_id in s.exec(select(MatchNotice.organisation_id, MatchNotice.need_id).where(
                    MatchNotice.need_id.in_([n.id for n in waiting]))).all():
                told[need_id].add(org_id)
        for need in waiting:
            days = (now - need.opened_at).days
            item = {"kind": "reminder", "subject_kind": "need", "need_id": need.id, "title": need.title,
                    "days": days, "link": f"{base}/needs/{need.id}",
                    "api_link": f"{base}/api/v1/needs/{need.id}"}
            sent += _remind(s, settings, f"need:{need.id}", days // n_days,
                            [need.hospital_id, *commission, *told[need.id]], item)
        e_days = settings.reminder_engagement_days
        active = s.exec(select(Engagement).where(Engagement.state.not_in([st.value for st in FINAL]))).all()
        if active:
            ids = [e.id for e in active]
            last_t = dict(s.exec(select(EngagementTransition.engagement_id, func.max(EngagementTransition.at))
                                 .where(EngagementTransition.engagement_id.in_(ids))
                                 .group_by(EngagementTransition.engagement_id)).all())
            last_m = dict(s.exec(select(Milestone.engagement_id, func.max(Milestone.created_at))
                                 .where(Milestone.engagement_id.in_(ids)).group_by(Milestone.engagement_id)).all())
            parts = defaultdict(set)
            for eid, oid in s.exec(select(EngagementParticipant.engagement_id, EngagementParticipant.organisation_id)
                                   .where(EngagementParticipant.engagement_id.in_(ids))).all():
                parts[eid].add(oid)
            titles = dict(s.exec(select(Need.id, Need.title).where(Need.id.in_({e.need_id for e in active}))).all())
            for e in active:
                last = max(_aware(t) for t in (e.created_at, last_t.get(e.id), last_m.get(e.id)) if t is not None)
                idle = now - last
                if idle < timedelta(days=e_days):
                    continue
                days = idle.days
                item = {"kind": "reminder", "subject_kind": "engagement", "engagement_id": e.id,
                        "title": titles.get(e.need_id, ""), "state": e.state, "days": days,
                        "link": f"{base}/partnerships/{e.id}", "api_link": f"{base}/api/v1/engagements/{e.id}"}
                sent += _remind(s, settings, f"engagement:{e.id}:{last.date().isoformat()}", days // e_days,
                                [e.hospital_id, e.lead_org_id, *parts[e.id], *commission], item)
        try:
            s.commit()
        except IntegrityError:  # another worker raised the same reminders meanwhile
            s.rollback()
            return 0
    return sent


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)
