"""Engagements (partnerships on a need), their participants, append-only transition history, milestones and
documents; with the API schemas."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Column, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.i18n import msg
from app.models.common import DbInt, Input, created_at_field, updated_at_field, utcnow
from app.models.need import OrgRef
from app.workflow.states import EngagementState, Pathway
from app.workflow.vocab import (
    APPROVAL_NUMBER,
    NMPA_CERTIFICATE,
    NMPA_FILING,
    REFERENCE_REQUIRED,
    MilestoneKind,
    ParticipantRole,
)


class Engagement(SQLModel, table=True):
    """A partnership: one need, its hospital, a lead company (the matched capability's organisation)."""

    __tablename__ = "engagements"
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="needs.id", index=True)
    hospital_id: int = Field(foreign_key="organisations.id", index=True)
    lead_org_id: int = Field(foreign_key="organisations.id", index=True)
    capability_id: int = Field(foreign_key="capabilities.id", index=True)
    proposed_by_org_id: int = Field(foreign_key="organisations.id")
    state: str = Field(default=EngagementState.proposed, max_length=24, index=True)
    held_from: str | None = Field(default=None, max_length=24)  # the state left for on_hold
    pathway: str = Field(default=Pathway.device, max_length=16)  # app.workflow.states.PATHS
    # the commission that brokered it (an accepted introduction); null: the parties found each other (a match)
    brokered_by_org_id: int | None = Field(default=None, foreign_key="organisations.id")
    hospital_accepted_at: datetime | None = None
    hospital_accepted_by_id: int | None = Field(default=None, foreign_key="users.id")
    lead_accepted_at: datetime | None = None
    lead_accepted_by_id: int | None = Field(default=None, foreign_key="users.id")
    end_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class EngagementParticipant(SQLModel, table=True):
    __tablename__ = "engagement_participants"
    __table_args__ = (UniqueConstraint("engagement_id", "organisation_id", "role",
                                       name="uq_engagement_participants_org_role"),)
    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    role: str = Field(max_length=30)
    added_by_id: int | None = Field(default=None, foreign_key="users.id")
    # An invitation until the organisation answers: only active participants take part (see app.policy).
    status: str = Field(default="invited", max_length=12, index=True)
    responded_at: datetime | None = None
    responded_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_at_field()


class EngagementTransition(SQLModel, table=True):
    """Append-only history: one row per state change (the first: None -> proposed). ``seq`` is unique per
    engagement, so two writers can never both append the same step."""

    __tablename__ = "engagement_transitions"
    __table_args__ = (UniqueConstraint("engagement_id", "seq", name="uq_engagement_transitions_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", index=True)
    seq: int
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str = Field(max_length=24)
    user_id: int | None = Field(default=None, foreign_key="users.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisations.id")
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: datetime = created_at_field()  # when it was recorded
    # when it happened (a partnership recorded after the fact: the demo's TSP case ran 2021-2023)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


@event.listens_for(EngagementTransition, "before_update")
@event.listens_for(EngagementTransition, "before_delete")
def _append_only(*_args) -> None:
    raise RuntimeError("engagement history is append-only")


class Milestone(SQLModel, table=True):
    """A recorded fact of the partnership (a training session, a protocol, an approval, a report, a certificate);
    never edited or deleted."""

    __tablename__ = "milestones"
    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", index=True)
    kind: str = Field(max_length=40, index=True)
    title: str = Field(max_length=300)
    occurred_on: date
    reference: str | None = Field(default=None, max_length=100)
    responsible_org_id: int = Field(foreign_key="organisations.id")
    recorded_by_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by_org_id: int = Field(foreign_key="organisations.id")
    engagement_state: str = Field(max_length=24)  # the engagement's state when recorded
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = created_at_field()


class Document(SQLModel, table=True):
    """A file attached to a milestone; the bytes live outside the database (content-addressed by SHA-256)."""

    __tablename__ = "documents"
    id: int | None = Field(default=None, primary_key=True)
    engagement_id: int = Field(foreign_key="engagements.id", index=True)
    milestone_id: int = Field(foreign_key="milestones.id", index=True)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    organisation_id: int = Field(foreign_key="organisations.id")
    created_at: datetime = created_at_field()


# --- API schemas -------------------------------------------------------------------------------------------------

class ParticipantCreate(Input):
    organisation_id: DbInt = Field(ge=1)
    role: ParticipantRole


class ParticipantAdd(ParticipantCreate):
    version: int | None = Field(default=None, ge=1, description="The engagement version read; or send If-Match.")


PATHWAY = ("device: NMPA Class II/III device (animal trial, clinical evaluation, registration); samd: software/AI "
           "(no animal trial); ivd: IVD reagent (clinical performance evaluation); class_i: Class I filing; "
           "registered: a registered product (hospital admission, clinical use).")
OCCURRED_AT = ("When it happened (default: now), for steps recorded after the fact; a date or date-time, without an "
               "offset in Shanghai time. Not in the future, not before the previous step.")


class EngagementCreate(Input):
    need_id: DbInt = Field(ge=1)
    capability_id: DbInt = Field(ge=1, description="The matched capability; its organisation leads")
    participants: list[ParticipantCreate] = Field(default_factory=list, max_length=20,
                                                  description="Invited: each takes part once it accepts")
    comment: str = Field(default="", max_length=4000)
    occurred_at: datetime | None = Field(default=None, description=OCCURRED_AT)
    pathway: Pathway = Field(default=Pathway.device, description=PATHWAY)


class VersionBody(Input):
    version: int | None = Field(default=None, ge=1, description="The engagement version read; or send If-Match.")


class TransitionCreate(Input):
    target: EngagementState
    comment: str = Field(default="", max_length=4000, description="Required (the reason) for withdrawn, terminated")
    version: int | None = Field(default=None, ge=1, description="The engagement version read; or send If-Match.")
    occurred_at: datetime | None = Field(default=None, description=OCCURRED_AT)
    pathway: Pathway | None = Field(default=None, description="With the step into intent_signed only: the "
                                                               "pathway from the product's class. " + PATHWAY)


class MilestoneCreate(Input):
    kind: MilestoneKind
    title: str = Field(min_length=1, max_length=300)
    occurred_on: date
    reference: str | None = Field(default=None, max_length=100,
                                  description="Reference number (protocol, approval, certificate number)")
    responsible_org_id: DbInt | None = Field(default=None, ge=1, description="Defaults to the caller's organisation")
    notes: str = Field(default="", max_length=4000)

    @field_validator("title")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(msg("must not be blank"))
        return v.strip()

    @field_validator("occurred_on")
    @classmethod
    def _sane_date(cls, v: date) -> date:
        if not date(1990, 1, 1) <= v <= date(2100, 12, 31):
            raise ValueError(msg("date out of range"))
        return v

    @model_validator(mode="after")
    def _reference(self):
        ref = (self.reference or "").strip()
        self.reference = ref or None
        if self.kind in REFERENCE_REQUIRED and not ref:
            raise ValueError(msg("a '{kind_value}' milestone needs its reference number", kind_value=self.kind.value))
        if self.kind == MilestoneKind.registration_certificate and not NMPA_CERTIFICATE.match(ref):
            raise ValueError(msg("an NMPA registration certificate number looks like 国械注准20243070001"))
        elif self.kind == MilestoneKind.filing_record and not NMPA_FILING.match(ref):
            raise ValueError(msg("an NMPA Class I filing number looks like 沪械备20240012号"))
        elif self.kind in (MilestoneKind.registration_certificate, MilestoneKind.filing_record):
            pass
        elif self.kind in REFERENCE_REQUIRED and not APPROVAL_NUMBER.match(ref):
            raise ValueError(msg("a '{kind_value}' reference is the approval or protocol number as issued (at least "
                                 "three digits, e.g. 伦审[2023]第056号 or IACUC-2022-117)",
                                 kind_value=self.kind.value))
        return self


class Side(StrEnum):
    """A party's side in one partnership: how a reference reads when the organisation itself is anonymous."""

    hospital = "hospital"
    lead = "lead"
    participant = "participant"


class ParticipantStatus(StrEnum):
    invited = "invited"
    active = "active"
    declined = "declined"


class ParticipantPublic(SQLModel):
    id: int
    organisation: OrgRef
    org_kind: str
    role: ParticipantRole
    status: ParticipantStatus
    created_at: datetime
    responded_at: datetime | None = None


class InvitationPublic(SQLModel):
    """An invitation to take part, as the invited organisation sees it: what and by whom, nothing more."""

    id: int
    engagement_id: int
    need_title: str
    hospital: OrgRef | None = Field(description="null while the need is anonymous to the invitee")
    lead: OrgRef
    role: ParticipantRole
    status: ParticipantStatus
    created_at: datetime
    responded_at: datetime | None = None


class DocumentPublic(SQLModel):
    id: int
    milestone_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    organisation_id: int | None = Field(description="Who attached it; null when that party is anonymous to the caller")
    party: Side | None = None
    created_at: datetime
    url: str


class MilestonePublic(SQLModel):
    id: int
    kind: MilestoneKind
    title: str
    occurred_on: date
    reference: str | None
    responsible: OrgRef | None = Field(description="null when the responsible party is anonymous to the caller")
    responsible_party: Side
    recorded_by_org_id: int | None = Field(description="null when the recording party is anonymous to the caller")
    recorded_by_party: Side
    recorded_at: datetime = Field(description="When it was recorded (occurred_on: when it happened)")
    evidence_owner: str | None = Field(default=None, description="Whose evidence this kind is (hospital, "
                                       "animal_facility, lead); null: any party's record")
    confirmed: bool | None = Field(default=None, description="Evidence recorded by its owner (false: recorded by "
                                   "another party before ownership was enforced, unconfirmed)")
    engagement_state: EngagementState
    notes: str
    created_at: datetime
    documents: list[DocumentPublic] = []


class TransitionPublic(SQLModel):
    seq: int
    from_state: EngagementState | None
    to_state: EngagementState
    user_id: int | None = Field(description="null when the acting party is anonymous to the caller")
    organisation_id: int | None = Field(description="null when the acting party is anonymous to the caller")
    party: Side | None = Field(default=None, description="Which side acted: hospital, lead or participant")
    comment: str
    at: datetime = Field(description="When it was recorded (= recorded_at)")
    recorded_at: datetime
    occurred_at: datetime = Field(description="When it happened")


class EngagementPublic(SQLModel):
    id: int
    need_id: int
    need_title: str
    hospital: OrgRef | None = Field(description="null while the need is anonymous to the caller")
    hospital_hidden: bool
    lead: OrgRef
    capability_id: int
    brokered_by_org_id: int | None = Field(default=None, description="The commission that brokered it; null: "
                                           "the parties found each other through their matches")
    proposed_by_org_id: int | None = Field(description="null when the proposing party is anonymous to the caller")
    proposed_by: Side
    state: EngagementState
    held_from: EngagementState | None
    pathway: Pathway
    path: list[EngagementState] = Field(description="The pathway's stages, in order")
    hospital_accepted_at: datetime | None
    lead_accepted_at: datetime | None
    end_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class EngagementDetail(EngagementPublic):
    allowed_targets: list[EngagementState] = Field(description="Where the table allows it to go next (guards aside)")
    participants: list[ParticipantPublic]
    milestones: list[MilestonePublic]
    history: list[TransitionPublic]
    seconds_in_state: dict[str, float] = Field(description="Time spent in each state, derived from the history")
