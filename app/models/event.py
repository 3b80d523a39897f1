"""Domain events: written in the same transaction as the change they announce (the transactional outbox); the
notification worker turns each into notifications exactly once (``processed_at``), claiming them with a lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.models.common import created_at_field, json_list_field


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
