"""Domain events: written in the same transaction as the change they announce (the transactional outbox); the
notification worker turns each into notifications exactly once (``processed_at``), claiming them with a lease."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.models.common import created_at_field, json_list_field


class EventType(StrEnum):
    """Every domain event's type: the emitters (the services) and the handlers
    (``app.services.notifications.compose.HANDLERS``) name them from here. The values are stored: never change one."""

    need_opened = "need.opened"
    need_changed = "need.changed"
    need_matched = "need.matched"
    need_status_changed = "need.status_changed"
    capability_added = "capability.added"
    capability_changed = "capability.changed"
    match_feedback = "match.feedback"
    message_posted = "message.posted"
    introduction_made = "introduction.made"
    introduction_answered = "introduction.answered"
    introduction_decided = "introduction.decided"
    engagement_proposed = "engagement.proposed"
    engagement_accepted = "engagement.accepted"
    engagement_transition = "engagement.transition"
    engagement_milestone = "engagement.milestone"
    engagement_participant_invited = "engagement.participant_invited"
    engagement_participant_answered = "engagement.participant_answered"
    engagement_document = "engagement.document"
    booking_requested = "booking.requested"
    booking_answered = "booking.answered"
    chain_link_proposed = "chain_link.proposed"
    chain_link_answered = "chain_link.answered"


class DomainEvent(SQLModel, table=True):
    __tablename__ = "domain_events"
    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    organisation_ids: list[int] = json_list_field()  # the organisations concerned (whom to notify)
    created_at: datetime = created_at_field()
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    claim_token: str | None = Field(default=None, max_length=40)
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
