"""Webhook endpoints: an organisation's receivers, their secrets and rotation, a test message, and deliveries."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.config import Settings
from app.errors import Blocked, Conflict, Invalid, NotFound
from app.i18n import msg
from app.models import Delivery, Notification, WebhookEndpoint
from app.models.common import utcnow
from app.models.enums import Role
from app.models.notification import (
    Channel,
    DeliveryStatus,
    NotificationKind,
    SecretRotation,
    WebhookCreate,
    WebhookUpdate,
)
from app.policy import Actor, require_role
from app.services import audit
from app.services.common import check_version, compare_and_swap
from app.services.listing import PageParams, paginate
from app.services.notifications import channels, compose, netguard

ENTITY = "webhook_endpoint"


def _member(actor: Actor) -> None:
    require_role(actor, Role.hospital_staff, Role.company_staff, Role.commission)


def list_endpoints(session: Session, actor: Actor, page: PageParams):
    stmt = select(WebhookEndpoint)
    if not actor.reads_everything:
        stmt = stmt.where(WebhookEndpoint.organisation_id == actor.organisation_id)
    return paginate(session, stmt, page, {"id": WebhookEndpoint.id}, "id")


def get(session: Session, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    ep = session.get(WebhookEndpoint, endpoint_id)
    if ep is None or not (actor.reads_everything or ep.organisation_id == actor.organisation_id):
        raise NotFound(msg("Webhook endpoint {endpoint_id} not found.", endpoint_id=endpoint_id))
    return ep


def get_own(session: Session, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    ep = get(session, actor, endpoint_id)
    if ep.organisation_id != actor.organisation_id:
        raise NotFound(msg("Webhook endpoint {endpoint_id} not found.", endpoint_id=endpoint_id))
    _member(actor)
    return ep


def check_url(settings: Settings, url: str) -> str:
    """The URL, if webhooks may go there (netguard's rule); else a 422 naming ``url``."""
    try:
        netguard.check_url(url, netguard.Rules.from_settings(settings))
    except Blocked as e:
        raise Invalid("url", msg("This webhook URL is not accepted: {e}.", e=e)) from e
    return url


def create(session: Session, actor: Actor, settings: Settings, data: WebhookCreate) -> WebhookEndpoint:
    _member(actor)
    url = check_url(settings, str(data.url))
    ep = WebhookEndpoint(organisation_id=actor.organisation_id, url=url, description=data.description,
                         secret=channels.new_secret())
    session.add(ep)
    session.flush()
    audit.record(session, actor, ENTITY, ep.id, "create", {"url": [None, ep.url]})  # never the secret
    return ep


def update(session: Session, actor: Actor, settings: Settings, endpoint_id: int, data: WebhookUpdate,
           expected: int) -> WebhookEndpoint:
    ep = get_own(session, actor, endpoint_id)
    values = {k: (str(v) if k == "url" else v) for k, v in data.model_dump(exclude_unset=True, exclude={"version"})
              .items() if v is not None}
    if "url" in values:
        check_url(settings, values["url"])
    changes = audit.diff(ep.model_dump(), values)
    if not changes:
        check_version(ep, expected)
        return ep
    compare_and_swap(session, WebhookEndpoint, ep, expected, values)
    audit.record(session, actor, ENTITY, ep.id, "update", changes)
    return ep


def rotate_secret(session: Session, actor: Actor, endpoint_id: int, data: SecretRotation) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs beside it for ``grace_hours`` (receivers switch over)."""
    ep = get_own(session, actor, endpoint_id)
    now = utcnow()
    values = {"previous_secret": ep.secret, "previous_secret_expires_at": now + timedelta(hours=data.grace_hours),
              "secret": channels.new_secret()}
    compare_and_swap(session, WebhookEndpoint, ep, ep.version, values)
    audit.record(session, actor, ENTITY, ep.id, "rotate_secret",
                 {"previous_secret_expires_at": [None, values["previous_secret_expires_at"].isoformat()]})
    return ep


def ping(session: Session, actor: Actor, settings: Settings, endpoint_id: int) -> Delivery:
    """Queue a test message to one endpoint (the worker sends it like any other)."""
    ep = get_own(session, actor, endpoint_id)
    if not ep.is_active:
        raise Conflict(msg("The endpoint is disabled; enable it first."))
    now = utcnow()
    item = {"kind": "ping", "text": "clinmatch test message / 测试消息"}
    n = Notification(organisation_id=ep.organisation_id, kind=NotificationKind.ping, title=item["text"],
                     language="zh", payload={"items": [item]}, inbox=False,
                     idempotency_key=f"ping:{ep.id}:{now.timestamp():.6f}")
    session.add(n)
    session.flush()
    (d,) = compose.add_deliveries(session, settings, n, [Channel.webhook], n.language, endpoints=[ep])
    session.flush()
    return d


def list_deliveries(session: Session, actor: Actor, page: PageParams, status: str | None = None,
                    channel: str | None = None, endpoint_id: int | None = None,
                    notification_id: int | None = None):
    stmt = select(Delivery)
    if not actor.reads_everything:
        stmt = stmt.where(Delivery.organisation_id == actor.organisation_id)
    for col, v in ((Delivery.status, status), (Delivery.channel, channel), (Delivery.endpoint_id, endpoint_id),
                   (Delivery.notification_id, notification_id)):
        if v is not None:
            stmt = stmt.where(col == v)
    return paginate(session, stmt, page, {"id": Delivery.id, "created_at": Delivery.created_at}, "-id")


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
