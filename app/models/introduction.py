"""Introductions: the commission brokers a need to a capability (the model case's way: the commerce commission
put the hospital's need in front of the device maker), the company answers, the hospital accepts or declines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.common import DbInt, Input, created_at_field, updated_at_field
from app.models.match import DeclineReason, Verdict, check_verdict_reason
from app.models.need import OrgRef


class IntroductionStatus(StrEnum):
    introduced = "introduced"          # waiting for the company
    interested = "interested"          # the company would like to work on it: the hospital decides
    not_interested = "not_interested"  # the company declined (with its reason)
    accepted = "accepted"              # the hospital accepted: a brokered partnership was proposed
    declined = "declined"              # the hospital declined


OPEN_STATUSES = frozenset({IntroductionStatus.introduced, IntroductionStatus.interested})


class Introduction(SQLModel, table=True):
    __tablename__ = "introductions"
    __table_args__ = (UniqueConstraint("need_id", "capability_id", name="uq_introductions_need_capability"),)
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="needs.id", index=True)
    capability_id: int = Field(foreign_key="capabilities.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)  # the capability's organisation
    introduced_by_org_id: int = Field(foreign_key="organisations.id")
    introduced_by_id: int | None = Field(default=None, foreign_key="users.id")
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default=IntroductionStatus.introduced, max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=20)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    answered_at: datetime | None = None
    answered_by_id: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    engagement_id: int | None = Field(default=None, foreign_key="engagements.id")
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class IntroductionCreate(Input):
    need_id: DbInt = Field(ge=1)
    capability_ids: list[DbInt] = Field(min_length=1, max_length=20, description="The capabilities to introduce")
    note: str = Field(default="", max_length=4000, description="Why the commission puts them in touch")


class IntroductionAnswer(Input):
    verdict: Verdict
    reason: DeclineReason | None = None
    comment: str = Field(default="", max_length=2000, description="e.g. what the company can offer; the hospital "
                                                                    "reads it")

    @model_validator(mode="after")
    def _reason(self):
        check_verdict_reason(self.verdict, self.reason, self.comment)
        return self


class IntroductionDecision(Input):
    comment: str = Field(default="", max_length=2000)


class IntroductionPublic(SQLModel):
    id: int
    need_id: int
    need_title: str
    hospital: OrgRef | None = Field(description="null while the need is anonymous to the caller")
    hospital_hidden: bool
    capability_id: int
    capability_title: str
    company: OrgRef
    introduced_by: OrgRef
    note: str
    status: IntroductionStatus
    reason: DeclineReason | None
    comment: str
    score: float | None = Field(description="The matcher's score of the pair, when it ranked it")
    why: str = Field(description="The matcher's reasons for the pair, when it ranked it (English)")
    why_zh: str = Field(default="", description="The same reasons in Chinese")
    engagement_id: int | None
    answered_at: datetime | None
    decided_at: datetime | None
    version: int
    created_at: datetime
