"""The outbox: claiming work with a lease, dispatching domain events, delivering messages at least once.

Written here rather than taken from a task-queue library: the queue must live in the service's own database (the
events and deliveries are written in the business transaction — that is what makes it lossless), on SQLite as well
as PostgreSQL. procrastinate is PostgreSQL-only; huey, rq, dramatiq and celery need a broker (Redis, RabbitMQ) that
the embedded default does not have, and would break the same-transaction guarantee. What is needed is small: a
claim (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`` on PostgreSQL; on SQLite the one writer at a time
makes the same statement atomic), a lease that expires when a worker dies, and a backoff schedule.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.config import Settings
from app.errors import NotFound
from app.i18n import msg
from app.models import Delivery, DomainEvent, Notification, WebhookEndpoint
from app.models.common import utcnow
from app.models.enums import Role
from app.models.notification import Channel, DeliveryStatus, NotificationKind
from app.policy import Actor, require_role
from app.services import audit
from app.services.notifications import channels, compose, netguard

log = logging.getLogger("clinmatch.notifications")


def claim(engine: Engine, model, ready, limit: int, lease_seconds: float, now: datetime | None = None
          ) -> tuple[str, list[int]]:
    """Take up to ``limit`` ready rows no live lease holds; they are this claim's until the lease ends."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    free = or_(model.claimed_until.is_(None), model.claimed_until < now)
    pick = (select(model.id).where(*ready, free).order_by(model.id).limit(limit)
            .with_for_update(skip_locked=True))  # SQLite renders no FOR UPDATE: its single writer serialises this
    with Session(engine) as s:
        s.execute(update(model).where(model.id.in_(pick))
                  .values(claim_token=token, claimed_until=now + timedelta(seconds=lease_seconds))
                  .execution_options(synchronize_session=False))
        s.commit()
        ids = list(s.exec(select(model.id).where(model.claim_token == token).order_by(model.id)).all())
    return token, ids


# --- events -> notifications ---------------------------------------------------------------------------------------

def dispatch_events(engine: Engine, settings: Settings, limit: int | None = None) -> int:
    """Turn unprocessed domain events into notifications (returns how many events were handled).

    A claimed batch is handled in one transaction, so what it tells an organisation comes as one message per kind
    (ten needs filed in a minute: one message with the ranked matches, not ten). Should one event fail, the batch
    is done again event by event, and the failing one is logged and skipped, never blocking the rest."""
    token, ids = claim(engine, DomainEvent, [DomainEvent.processed_at.is_(None)], limit or settings.worker_batch_size,
                       settings.worker_lease_seconds)
    if not ids:
        return 0
    try:
        return _dispatch(engine, settings, token, ids)
    except Exception:  # noqa: BLE001 - whatever failed the batch, each event alone: one bad event holds no other
        return sum(_dispatch_one(engine, settings, token, i) for i in ids)


def _dispatch_one(engine: Engine, settings: Settings, token: str, ev_id: int) -> int:
    try:
        return _dispatch(engine, settings, token, [ev_id])
    except Exception:
        log.exception("event %s could not be turned into notifications; skipped", ev_id)
        return _dispatch(engine, settings, token, [ev_id], skip=True)


def _dispatch(engine: Engine, settings: Settings, token: str, ids: list[int], skip: bool = False) -> int:
    with Session(engine, expire_on_commit=False) as s:
        if not skip:
            per_org: dict[int, list[dict]] = {}
            for ev_id in ids:
                for org_id, items in compose.collect(s, settings, s.get(DomainEvent, ev_id)).items():
                    per_org.setdefault(org_id, []).extend(items)
            compose.tell(s, settings, per_org, f"events:{ids[0]}-{ids[-1]}")
        marked = s.execute(update(DomainEvent).where(DomainEvent.id.in_(ids), DomainEvent.claim_token == token,
                                                     DomainEvent.processed_at.is_(None))
                           .values(processed_at=utcnow()).execution_options(synchronize_session=False))
        if marked.rowcount != len(ids):  # our lease ran out and another worker took some: its result stands
            s.rollback()
            return 0
        s.commit()
        return len(ids)


# --- deliveries ----------------------------------------------------------------------------------------------------

def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before try ``attempts + 1``: base * 2^(attempts-1), capped, with +-20% jitter (no thundering herd)."""
    delay = min(settings.delivery_backoff_base_seconds * 2 ** max(attempts - 1, 0),
                settings.delivery_backoff_max_seconds)
    return delay * random.uniform(0.8, 1.2)


@dataclass
class DeliveryRun:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(engine: Engine, settings: Settings, client: httpx.Client | None = None,
                limit: int | None = None) -> DeliveryRun:
    """Send the deliveries that are due, each at least once; every outcome is committed as soon as it is known."""
    now = utcnow()
    token, ids = claim(engine, Delivery, [Delivery.status == DeliveryStatus.pending, Delivery.next_attempt_at <= now],
                       limit or settings.worker_batch_size, settings.worker_lease_seconds, now)
    run = DeliveryRun()
    if not ids:
        return run
    own = client is None
    client = client or netguard.client(settings)
    try:
        for d_id in ids:
            _deliver_one(engine, settings, client, d_id, token, run)
    finally:
        if own:
            client.close()
    return run


def _deliver_one(engine: Engine, settings: Settings, client: httpx.Client, d_id: int, token: str,
                 run: DeliveryRun) -> None:
    with Session(engine, expire_on_commit=False) as s:
        d = s.get(Delivery, d_id)
        n = s.get(Notification, d.notification_id)
        ep = s.get(WebhookEndpoint, d.endpoint_id) if d.endpoint_id else None
    # (the session is closed: no transaction is held open while the receiver thinks)
    code, error = None, ""
    try:
        if d.channel == Channel.webhook:
            if ep is None or not ep.is_active:
                raise channels.SendError("the endpoint was disabled or removed")
            code = channels.send_webhook(client, settings, ep, n, d.idempotency_key)
        elif d.channel == Channel.email:
            if not settings.smtp_host:
                raise channels.SendError("no SMTP server is configured (CLINMATCH_SMTP_HOST)")
            code = channels.send_email(settings, n, d.recipient, d.language, d.idempotency_key)
        else:  # pragma: no cover - channels are validated
            raise channels.SendError(f"unknown channel {d.channel}")
    except channels.SendError as e:
        code, error = e.status_code, str(e)
    attempts = d.attempts + 1
    now = utcnow()
    if not error:
        values = {"status": DeliveryStatus.delivered, "delivered_at": now, "last_error": ""}
        run.delivered += 1
    elif attempts >= settings.delivery_max_attempts:
        values = {"status": DeliveryStatus.dead, "last_error": error}
        run.dead += 1
        log.warning("delivery %s to %s is dead after %d tries: %s", d.id, netguard.redact(d.recipient), attempts,
                    error)
    else:
        values = {"next_attempt_at": now + timedelta(seconds=backoff(settings, attempts)), "last_error": error}
        run.failed += 1
    if error:
        run.errors.append(error)
    with Session(engine) as s:
        s.execute(update(Delivery).where(Delivery.id == d_id, Delivery.claim_token == token)
                  .values(attempts=attempts, last_status_code=code, claimed_until=None, **values))
        if not error and n.kind == NotificationKind.account:
            # an invitation's or reset's one-time link: once sent, it is kept in the mailbox only, not here
            items = [{**i, "link": ""} for i in n.payload.get("items", [])]
            s.execute(update(Notification).where(Notification.id == n.id).values(link="", payload={"items": items}))
        s.commit()


def redeliver(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    """Send a delivery again (a dead one, or a delivered one the receiver lost), with the same idempotency key: the
    organisation's own members, or an admin."""
    d = get_visible_delivery(session, actor, delivery_id)
    if d.organisation_id != actor.organisation_id:
        require_role(actor, Role.admin)
    before = {"status": d.status, "attempts": d.attempts}
    d.status, d.attempts, d.next_attempt_at = DeliveryStatus.pending, 0, utcnow()
    d.claimed_until, d.claim_token, d.delivered_at = None, None, None
    if d.endpoint_id:  # a webhook goes where the endpoint now points (its URL may have been fixed)
        ep = session.get(WebhookEndpoint, d.endpoint_id)
        if ep is not None:
            d.recipient = ep.url
    session.add(d)
    session.flush()
    audit.record(session, actor, "delivery", d.id, "redeliver",
                 audit.diff(before, {"status": d.status, "attempts": d.attempts}))
    return d


def get_visible_delivery(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    d = session.get(Delivery, delivery_id)
    if d is None or not (actor.reads_everything or d.organisation_id == actor.organisation_id):
        raise NotFound(msg("Delivery {delivery_id} not found.", delivery_id=delivery_id))
    return d
