from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.common import created_at_field


class AuditEvent(SQLModel, table=True):
    """Append-only record of every write. Nothing in the API edits or deletes it."""

    __tablename__ = "audit_events"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id")
    entity: str = Field(max_length=40, index=True)
    entity_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    request_id: str | None = Field(default=None, max_length=64)


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    user_id: int | None
    organisation_id: int | None
    entity: str
    entity_id: int | None
    action: str
    changes: dict[str, Any]
    request_id: str | None
