"""Notifications: preferences, webhook endpoints, the inbox, pending digest items, match notices and the delivery
outbox (one row per message per channel and recipient)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AnyHttpUrl, field_validator
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.i18n import msg
from app.models.common import DbInt, Input, UniqueList, created_at_field, json_list_field, updated_at_field
from app.models.enums import Language, Region, Track


class Channel(StrEnum):
    inbox = "inbox"
    webhook = "webhook"
    email = "email"


class Rhythm(StrEnum):
    instant = "instant"
    daily = "daily"
    weekly = "weekly"
    off = "off"


class NotificationKind(StrEnum):
    match = "match"  # new ranked matches (companies: needs for their capabilities)
    interest = "interest"  # the other party marked a pair interested
    engagement = "engagement"  # a partnership moved, got a milestone, a participant, a document
    introduction = "introduction"  # the commission introduced a need to a company; answers and decisions
    message = "message"  # a new message in a conversation (a need's thread with a company, or a partnership's)
    reminder = "reminder"  # a need or a partnership has waited too long
    digest = "digest"  # several of the above, bundled by a daily or weekly rhythm
    ping = "ping"  # a test message to a webhook endpoint
    account = "account"  # to one person: an invitation or a password-reset link (e-mail only, never the inbox)


class DeliveryStatus(StrEnum):
    pending = "pending"  # due at next_attempt_at (first try or a retry)
    delivered = "delivered"
    dead = "dead"  # gave up after the bounded number of tries; can be redelivered


def _opt_dt(**kw):
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, **kw))


# --- preferences -----------------------------------------------------------------------------------------------

Channels = Annotated[list[Channel], UniqueList]
Tracks = Annotated[list[Track], UniqueList]
Regions = Annotated[list[Region], UniqueList]


class PreferenceFields(SQLModel):
    channels: Channels = Field(default_factory=lambda: [Channel.inbox, Channel.email], max_length=3)
    rhythm: Rhythm = Rhythm.instant
    min_score: float = Field(default=0.35, ge=0.0, le=1.0, description="Matches scoring below this are not sent")
    tracks: Tracks = Field(default_factory=list, description="Tracks of interest; empty = all")
    regions: Regions = Field(default_factory=list, description="Regions of interest; empty = all")
    language: Language = Language.zh


class NotificationPreference(SQLModel, table=True):
    """An organisation's choice of channels, rhythm, threshold and interests (one row; defaults until set)."""

    __tablename__ = "notification_preferences"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", unique=True)
    channels: list[str] = json_list_field()
    rhythm: str = Field(default=Rhythm.instant, max_length=10)
    min_score: float = 0.35
    tracks: list[str] = json_list_field()
    regions: list[str] = json_list_field()
    language: str = Field(default=Language.zh, max_length=2)
    last_digest_at: datetime | None = _opt_dt()
    version: int = 1
    updated_at: datetime = updated_at_field()


class PreferenceUpdate(Input):
    channels: Channels | None = Field(default=None, max_length=3)
    rhythm: Rhythm | None = None
    min_score: float | None = Field(default=None, ge=0.0, le=1.0)
    tracks: Tracks | None = None
    regions: Regions | None = None
    language: Language | None = None
    version: DbInt | None = Field(default=None, ge=0, description="The version read (0: the defaults); or If-Match")


class PreferencePublic(PreferenceFields):
    organisation_id: int
    version: int
    email_available: bool = Field(description="Whether the server has SMTP settings (else e-mail is not sent)")
    last_digest_at: datetime | None = None


class UserNotificationPreference(SQLModel, table=True):
    """What one person wants for their own mailbox: e-mail on or off, and its language."""

    __tablename__ = "user_notification_preferences"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    email: bool = True
    language: str | None = Field(default=None, max_length=2)  # None: the organisation's
    version: int = 1
    updated_at: datetime = updated_at_field()


class UserPreferenceUpdate(Input):
    email: bool | None = None
    language: Language | None = None
    version: DbInt | None = Field(default=None, ge=0, description="The version read (0: the defaults); or If-Match")


class UserPreferencePublic(SQLModel):
    user_id: int
    email: bool
    language: Language | None
    version: int


# --- webhook endpoints ----------------------------------------------------------------------------------------

class WebhookEndpoint(SQLModel, table=True):
    """An organisation's HTTPS receiver. Messages are signed as Standard Webhooks specifies; after a secret rotation
    the previous secret also signs until ``previous_secret_expires_at``, so receivers can switch without a gap."""

    __tablename__ = "webhook_endpoints"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=200)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = _opt_dt()
    is_active: bool = True
    version: int = 1
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


def _http_url(v: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if v is not None and len(str(v)) > 2000:
        raise ValueError(msg("at most 2000 characters"))
    return v


class WebhookCreate(Input):
    url: AnyHttpUrl
    description: str = Field(default="", max_length=200)

    _url = field_validator("url")(_http_url)


class WebhookUpdate(Input):
    url: AnyHttpUrl | None = None
    description: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None
    version: DbInt | None = Field(default=None, ge=0, description="The version read (0: the defaults); or If-Match")

    _url = field_validator("url")(_http_url)


class WebhookPublic(SQLModel):
    id: int
    organisation_id: int
    url: str
    description: str
    is_active: bool
    version: int
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="whsec_…: shown when the endpoint is made and when the secret is rotated")


class SecretRotation(Input):
    grace_hours: float = Field(default=24.0, ge=0.0, le=24 * 7,
                               description="How long the old secret keeps signing beside the new one")


# --- inbox, digest items, notices ------------------------------------------------------------------------------

class Notification(SQLModel, table=True):
    """One message to an organisation: what its inbox shows and what its webhook and e-mail deliveries carry."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_org_unread", "organisation_id", "read_at"),
                      Index("ix_notifications_org_kind", "organisation_id", "kind"))
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    kind: str = Field(max_length=20)
    title: str = Field(max_length=300)
    body: str = ""
    language: str = Field(max_length=2)
    link: str = Field(default="", max_length=500)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(max_length=120, unique=True)
    inbox: bool = True  # shown in the inbox (the organisation chose the inbox channel)
    read_at: datetime | None = _opt_dt()
    created_at: datetime = created_at_field()


class NotificationPublic(SQLModel):
    id: int
    organisation_id: int
    kind: NotificationKind
    title: str
    body: str
    language: Language
    link: str
    payload: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class UnreadCount(SQLModel):
    unread: int


class MarkRead(Input):
    ids: list[DbInt] | None = Field(default=None, max_length=1000, description="These; none = every unread one")


class MarkedRead(SQLModel):
    marked: int


class NotificationItem(SQLModel, table=True):
    """One thing to tell an organisation. Instant rhythm: bundled at once into a notification per event; daily and
    weekly: waits (``notification_id`` null) until the digest bundles every pending item of the organisation."""

    __tablename__ = "notification_items"
    __table_args__ = (Index("ix_notification_items_pending", "organisation_id", "notification_id"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id")
    kind: str = Field(max_length=20)
    score: float | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notification_id: int | None = Field(default=None, foreign_key="notifications.id")
    dedup_key: str | None = Field(default=None, max_length=120, unique=True)  # reminders: one per period
    created_at: datetime = created_at_field()


class MatchNotice(SQLModel, table=True):
    """A (need, capability) pair already told to an organisation: a match is news once, whatever re-ranks it."""

    __tablename__ = "match_notices"
    __table_args__ = (UniqueConstraint("organisation_id", "need_id", "capability_id", name="uq_match_notices_pair"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id")
    need_id: int = Field(foreign_key="needs.id", index=True)
    capability_id: int = Field(foreign_key="capabilities.id")
    score: float
    created_at: datetime = created_at_field()


# --- the delivery outbox ---------------------------------------------------------------------------------------

class Delivery(SQLModel, table=True):
    """A message on its way through one channel to one recipient, delivered at least once. ``idempotency_key`` is
    the webhook-id (and the e-mail's Message-ID): the same on every retry and redelivery, so receivers drop
    repeats. Claimed by a worker with a lease (``claim_token``, ``claimed_until``) so several workers share work."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_deliveries_org_channel", "organisation_id", "channel"))
    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notifications.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    channel: str = Field(max_length=10)
    endpoint_id: int | None = Field(default=None, foreign_key="webhook_endpoints.id", index=True)
    recipient: str = Field(max_length=2000)  # the URL or the e-mail address
    language: str = Field(max_length=2)
    idempotency_key: str = Field(max_length=120, unique=True)
    status: str = Field(default=DeliveryStatus.pending, max_length=10)
    attempts: int = 0
    next_attempt_at: datetime = created_at_field()
    last_error: str = Field(default="", max_length=500)
    last_status_code: int | None = None
    claim_token: str | None = Field(default=None, max_length=40)
    claimed_until: datetime | None = _opt_dt()
    delivered_at: datetime | None = _opt_dt()
    created_at: datetime = created_at_field()


class DeliveryPublic(SQLModel):
    id: int
    notification_id: int
    organisation_id: int
    channel: Channel
    endpoint_id: int | None
    recipient: str
    idempotency_key: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime
