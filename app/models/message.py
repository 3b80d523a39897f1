"""Conversations: a thread per (need, company) before a partnership, and one per engagement after; its messages,
each with an optional attachment (stored like engagement documents, content-addressed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import Input, NonBlank, created_at_field, updated_at_field
from app.models.need import OrgRef

MAX_BODY = 4000


class AuthorSide(StrEnum):
    hospital = "hospital"  # the need's hospital
    company = "company"  # the company of a (need, company) thread
    lead = "lead"  # an engagement's lead company
    participant = "participant"  # an engagement's active participant


class Thread(SQLModel, table=True):
    """Either (need_id, company_org_id) before a partnership, or engagement_id (need_id kept for the rules)."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("need_id", "company_org_id", name="uq_threads_need_company"),
                      UniqueConstraint("engagement_id", name="uq_threads_engagement"))
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="needs.id", index=True)
    company_org_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    engagement_id: int | None = Field(default=None, foreign_key="engagements.id")
    message_count: int = 0
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()  # when its last message was posted


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_thread_id_id", "thread_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="threads.id")
    organisation_id: int = Field(foreign_key="organisations.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    side: str = Field(max_length=16)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    filename: str | None = Field(default=None, max_length=255)
    content_type: str | None = Field(default=None, max_length=100)
    size: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()


class MessageCreate(Input):
    body: NonBlank = Field(min_length=1, max_length=MAX_BODY)


class AttachmentPublic(SQLModel):
    filename: str
    content_type: str
    size: int
    sha256: str
    url: str


class MessagePublic(SQLModel):
    id: int
    thread_id: int
    side: AuthorSide = Field(description="Which side wrote it; always given")
    organisation: OrgRef | None = Field(description="null when that side is anonymous to the caller")
    user_id: int | None = Field(description="null when that side is anonymous to the caller")
    author_name: str | None = Field(description="null when that side is anonymous to the caller")
    body: str
    attachment: AttachmentPublic | None = None
    created_at: datetime


class ThreadPublic(SQLModel):
    id: int
    need_id: int
    need_title: str
    hospital: OrgRef | None = Field(description="null while the need is anonymous to the caller")
    hospital_hidden: bool
    company: OrgRef | None = Field(description="The company of a (need, company) thread; null on engagement threads")
    engagement_id: int | None
    message_count: int
    url: str
    created_at: datetime
    updated_at: datetime
