from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, field_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.db import json_list_index
from app.i18n import msg
from app.models.common import (
    Certifications,
    Input,
    NonBlank,
    UniqueList,
    created_at_field,
    json_list_field,
    updated_at_field,
)
from app.models.enums import Confidentiality, Language, NeedStatus, PartnerType, Region, Specialty, Stage, Track

_TEXT = 8000




Tracks = Annotated[list[Track], UniqueList]
Stages = Annotated[list[Stage], UniqueList]
Regions = Annotated[list[Region], UniqueList]
PartnerTypes = Annotated[list[PartnerType], UniqueList]
Specialties = Annotated[list[Specialty], UniqueList]


class NeedStatement(SQLModel):
    """The structured need statement: the problem, not a solution."""

    clinical_problem: str = Field(default="", max_length=_TEXT)
    current_practice: str = Field(default="", max_length=_TEXT)
    shortcomings: str = Field(default="", max_length=_TEXT)
    affected_population: str = Field(default="", max_length=_TEXT)
    desired_outcome: str = Field(default="", max_length=_TEXT)


class NeedFields(NeedStatement):
    title: NonBlank = Field(min_length=1, max_length=300)
    description: NonBlank = Field(min_length=1, max_length=_TEXT)
    department: str = Field(default="", max_length=200)
    tracks: Tracks = Field(min_length=1, max_length=7)
    specialties: Specialties = Field(default_factory=list, max_length=10,
                                     description="Clinical specialties (GET /specialties); empty: from the department")
    partner_types: PartnerTypes = Field(default_factory=lambda: [PartnerType.enterprise], min_length=1)
    stages: Stages = Field(default_factory=list)
    regions: Regions = Field(default_factory=list)  # empty = anywhere
    required_certifications: Certifications = Field(default_factory=list, max_length=20)
    language: Language | None = None  # detected when not given
    confidentiality: Confidentiality = Confidentiality.public
    external_ref: str | None = Field(default=None, max_length=100,
                                     description="The hospital's own reference (e.g. from another system)")
    contact_name: str | None = Field(default=None, max_length=200, description="Shown only to accepted partners")
    contact_email: EmailStr | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)


class Need(SQLModel, table=True):
    __tablename__ = "needs"
    # Every filter and sort of GET /needs (migration c4d8e2f6a1b3; the others on the fields below).
    __table_args__ = (Index("ix_needs_opened_at", "opened_at"), Index("ix_needs_title", "title"),
                      *(json_list_index("needs", c) for c in ("tracks", "partner_types", "stages", "regions")))
    id: int | None = Field(default=None, primary_key=True)
    hospital_id: int = Field(foreign_key="organisations.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    title: str = Field(max_length=300)
    description: str
    clinical_problem: str = ""
    current_practice: str = ""
    shortcomings: str = ""
    affected_population: str = ""
    desired_outcome: str = ""
    department: str = Field(default="", max_length=200, index=True)
    tracks: list[str] = json_list_field()
    specialties: list[str] = json_list_field()
    partner_types: list[str] = json_list_field()
    stages: list[str] = json_list_field()
    regions: list[str] = json_list_field()
    required_certifications: list[str] = json_list_field()
    language: str = Field(max_length=2, index=True)
    confidentiality: str = Field(default=Confidentiality.public, max_length=16)
    external_ref: str | None = Field(default=None, max_length=100, index=True)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    status: str = Field(default=NeedStatus.draft, max_length=20, index=True)
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    opened_at: datetime | None = None
    closed_at: datetime | None = None


class NeedCreate(NeedFields, Input):
    status: NeedStatus = NeedStatus.draft

    @field_validator("status")
    @classmethod
    def _initial(cls, v: NeedStatus) -> NeedStatus:
        if v not in (NeedStatus.draft, NeedStatus.open):
            raise ValueError(msg("a new need starts as draft or open"))
        return v


class NeedUpdate(Input):
    version: int | None = Field(default=None, ge=1, description="The version read; or send If-Match.")
    title: NonBlank | None = Field(default=None, min_length=1, max_length=300)
    description: NonBlank | None = Field(default=None, min_length=1, max_length=_TEXT)
    clinical_problem: str | None = Field(default=None, max_length=_TEXT)
    current_practice: str | None = Field(default=None, max_length=_TEXT)
    shortcomings: str | None = Field(default=None, max_length=_TEXT)
    affected_population: str | None = Field(default=None, max_length=_TEXT)
    desired_outcome: str | None = Field(default=None, max_length=_TEXT)
    department: str | None = Field(default=None, max_length=200)
    tracks: Tracks | None = Field(default=None, min_length=1, max_length=7)
    specialties: Specialties | None = Field(default=None, max_length=10)
    partner_types: PartnerTypes | None = Field(default=None, min_length=1)
    stages: Stages | None = None
    regions: Regions | None = None
    required_certifications: Certifications | None = Field(default=None, max_length=20)
    language: Language | None = None
    confidentiality: Confidentiality | None = None
    external_ref: str | None = Field(default=None, max_length=100)
    contact_name: str | None = Field(default=None, max_length=200, description="\"\" clears it")
    contact_email: EmailStr | Literal[""] | None = Field(default=None, max_length=254, description="\"\" clears it")
    contact_phone: str | None = Field(default=None, max_length=40, description="\"\" clears it")
    status: NeedStatus | None = None


class OrgRef(SQLModel):
    id: int
    name_zh: str | None
    name_en: str | None
    region: Region


class NeedContact(SQLModel):
    name: str | None
    email: str | None
    phone: str | None


class Warning_(SQLModel):
    code: str
    field: str
    message: str
    terms: list[str] = []


class NeedPublic(NeedStatement):
    id: int
    title: str
    description: str
    department: str
    tracks: list[Track]
    specialties: list[Specialty]
    partner_types: list[PartnerType]
    stages: list[Stage]
    regions: list[Region]
    required_certifications: list[str]
    language: Language
    confidentiality: Confidentiality
    external_ref: str | None = None
    status: NeedStatus
    version: int
    hospital: OrgRef | None = Field(description="null when the need is anonymous to the caller")
    hospital_hidden: bool
    contact: NeedContact | None = Field(default=None, description="The need's contact person: for its hospital, the "
                                        "commission and the companies the hospital accepted; null for everyone else")
    created_at: datetime
    updated_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None
    warnings: list[Warning_] = []
