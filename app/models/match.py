"""Persisted matches, match feedback, and the API's ranked-match schemas."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator
from sqlalchemy import JSON, Column, Float, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import msg
from app.models.capability import CapabilityPublic
from app.models.common import DbInt, Input, created_at_field, updated_at_field
from app.models.need import NeedPublic


class MatchRecord(SQLModel, table=True):
    """A persisted match of a need and a capability, with its score and explanation."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("need_id", "capability_id", name="uq_matches_need_capability"),)
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="needs.id", index=True)
    capability_id: int = Field(foreign_key="capabilities.id", index=True)
    score: float = Field(sa_column=Column(Float, nullable=False, index=True))
    signals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    explanation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # calibrated P(real fit) and its band (strong / possible / weak); NULL = persisted before calibration
    confidence: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    band: str | None = Field(default=None, max_length=10)
    model_version: str = Field(max_length=80)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Verdict(StrEnum):
    interested = "interested"
    not_interested = "not_interested"


class DeclineReason(StrEnum):
    too_early = "too_early"
    wrong_technology = "wrong_technology"
    capacity = "capacity"
    region = "region"
    other = "other"


class Party(StrEnum):
    hospital = "hospital"
    company = "company"


class MatchFeedback(SQLModel, table=True):
    """One party's verdict on a (need, capability) pair; the latest verdict of a party replaces its earlier one."""

    __tablename__ = "match_feedback"
    __table_args__ = (UniqueConstraint("need_id", "capability_id", "party", name="uq_match_feedback_pair_party"),)
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="needs.id", index=True)
    capability_id: int = Field(foreign_key="capabilities.id", index=True)
    party: str = Field(max_length=10)
    organisation_id: int = Field(foreign_key="organisations.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    verdict: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=20)
    comment: str = Field(default="", max_length=2000)
    score_at_feedback: float | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class FeedbackCreate(Input):
    need_id: DbInt = Field(ge=1)
    capability_id: DbInt = Field(ge=1)
    verdict: Verdict
    reason: DeclineReason | None = None
    comment: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _reason(self):
        check_verdict_reason(self.verdict, self.reason, self.comment)
        return self


def check_verdict_reason(verdict: Verdict, reason: DeclineReason | None, comment: str) -> None:
    """A 'not interested' names its reason (and 'other' says which); an 'interested' has none. The one rule for
    match feedback and answers to introductions."""
    if verdict == Verdict.not_interested and reason is None:
        raise ValueError(msg("reason is required when not interested (too_early, wrong_technology, capacity, "
                             "region, other)"))
    if verdict == Verdict.interested and reason is not None:
        raise ValueError(msg("reason is only for 'not_interested'"))
    if reason == DeclineReason.other and not comment.strip():
        raise ValueError(msg("comment is required when the reason is 'other'"))


class FeedbackPublic(SQLModel):
    id: int
    need_id: int
    capability_id: int
    party: Party
    organisation_id: int
    user_id: int | None
    verdict: Verdict
    reason: DeclineReason | None
    comment: str
    score_at_feedback: float | None
    created_at: datetime
    updated_at: datetime


class ModelInfo(SQLModel):
    name: str
    version: str


class CapabilityMatch(SQLModel):
    rank: int
    score: float
    confidence: float | None = Field(default=None, description="calibrated probability that a domain expert judges "
                                                                "the pair a real fit (grade >= 2)")
    band: str | None = Field(default=None, description="strong / possible / weak (CLINMATCH_BAND_STRONG, "
                                                       "CLINMATCH_BAND_POSSIBLE)")
    signals: dict[str, float]
    explanation: dict[str, Any]
    reason: str = Field(default="", description="why it matches (or where it falls short), in the caller's language")
    capability: CapabilityPublic
    feedback: dict[str, Verdict] = Field(default_factory=dict, description="verdict per party: hospital, company")


class NoFit(SQLModel):
    no_fit: bool = Field(default=False, description="true when no match reaches the 'possible' band")
    no_fit_reason: str | None = None
    hidden_weak: int = Field(default=0, description="weak matches left out (include_weak=true shows them)")


class NeedMatches(NoFit):
    need_id: int
    model: ModelInfo
    items: list[CapabilityMatch]


class NeedMatch(SQLModel):
    rank: int
    score: float
    confidence: float | None = Field(default=None, description="calibrated probability of a real fit (grade >= 2)")
    band: str | None = Field(default=None, description="strong / possible / weak")
    signals: dict[str, float]
    explanation: dict[str, Any]
    reason: str = Field(default="", description="why it matches (or where it falls short), in the caller's language")
    need: NeedPublic
    feedback: dict[str, Verdict] = Field(default_factory=dict)


class CapabilityMatches(NoFit):
    capability_id: int
    model: ModelInfo
    items: list[NeedMatch]
