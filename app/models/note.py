from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.common import Input, created_at_field


class NoteTarget(StrEnum):
    need = "need"
    capability = "capability"
    organisation = "organisation"


class NoteCreate(Input):
    entity: NoteTarget
    entity_id: int = Field(ge=1, le=2**63 - 1)
    body: str = Field(min_length=1, max_length=4000)


class Note(SQLModel, table=True):
    """The commission's internal notes on needs, capabilities and organisations (the only thing it writes)."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_entity_entity_id", "entity", "entity_id"),)  # GET /notes?entity=&entity_id=
    id: int | None = Field(default=None, primary_key=True)
    entity: str = Field(max_length=20)
    entity_id: int
    body: str
    author_id: int = Field(foreign_key="users.id")
    organisation_id: int = Field(foreign_key="organisations.id")
    created_at: datetime = created_at_field()


class NotePublic(SQLModel):
    id: int
    entity: NoteTarget
    entity_id: int
    body: str
    author_id: int
    organisation_id: int
    created_at: datetime
