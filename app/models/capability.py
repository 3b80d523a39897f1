from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.db import json_list_index
from app.models.common import Certifications, Input, NonBlank, created_at_field, json_list_field, updated_at_field
from app.models.enums import CapabilityKind, CapabilityStatus, Language, Region, Specialty, Stage, Track
from app.models.need import OrgRef, Specialties, Stages, Tracks

_TEXT = 8000


class CapabilityFields(SQLModel):
    kind: CapabilityKind = CapabilityKind.product
    title: NonBlank = Field(min_length=1, max_length=300)
    description: NonBlank = Field(min_length=1, max_length=_TEXT)
    tracks: Tracks = Field(min_length=1, max_length=7)
    specialties: Specialties = Field(default_factory=list, max_length=20,
                                     description="Clinical specialties served (GET /specialties); empty: any")
    stages: Stages = Field(default_factory=list)
    certifications: Certifications = Field(default_factory=list, max_length=20)
    region: Region | None = None  # defaults to the organisation's region
    language: Language | None = None  # detected when not given
    external_ref: str | None = Field(default=None, max_length=100,
                                     description="The organisation's own reference (e.g. a product code)")


class Capability(SQLModel, table=True):
    __tablename__ = "capabilities"
    # Every filter and sort of GET /capabilities (migration c4d8e2f6a1b3; the others on the fields below).
    __table_args__ = (Index("ix_capabilities_title", "title"),
                      *(json_list_index("capabilities", c) for c in ("tracks", "stages", "certifications")))
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    kind: str = Field(default=CapabilityKind.product, max_length=20)
    title: str = Field(max_length=300)
    description: str
    tracks: list[str] = json_list_field()
    specialties: list[str] = json_list_field()
    stages: list[str] = json_list_field()
    certifications: list[str] = json_list_field()
    region: str = Field(max_length=20, index=True)
    language: str = Field(max_length=2, index=True)
    external_ref: str | None = Field(default=None, max_length=100, index=True)
    status: str = Field(default=CapabilityStatus.active, max_length=20, index=True)
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CapabilityCreate(CapabilityFields, Input):
    pass


MAX_BATCH = 100


class CapabilityBatchCreate(Input):
    items: list[CapabilityCreate] = Field(min_length=1, max_length=MAX_BATCH,
                                          description=f"Up to {MAX_BATCH} capabilities, registered all or none.")


class CapabilityUpdate(Input):
    version: int | None = Field(default=None, ge=1, description="The version read; or send If-Match.")
    kind: CapabilityKind | None = None
    title: NonBlank | None = Field(default=None, min_length=1, max_length=300)
    description: NonBlank | None = Field(default=None, min_length=1, max_length=_TEXT)
    tracks: Tracks | None = Field(default=None, min_length=1, max_length=7)
    specialties: Specialties | None = Field(default=None, max_length=20)
    stages: Stages | None = None
    certifications: Certifications | None = Field(default=None, max_length=20)
    region: Region | None = None
    language: Language | None = None
    external_ref: str | None = Field(default=None, max_length=100)
    status: CapabilityStatus | None = None


class CapabilityPublic(SQLModel):
    id: int
    organisation: OrgRef
    org_kind: str
    kind: CapabilityKind
    title: str
    description: str
    tracks: list[Track]
    specialties: list[Specialty]
    stages: list[Stage]
    certifications: list[str]
    region: Region
    language: Language
    external_ref: str | None = None
    status: CapabilityStatus
    version: int
    created_at: datetime
    updated_at: datetime


class CapabilityBatchPublic(SQLModel):
    items: list[CapabilityPublic]


class ImportRowError(SQLModel):
    row: int = Field(description="The row's number in the spreadsheet (the header is row 1)")
    field: str = Field(description="rows.<row>.<field>")
    message: str


class CapabilityImportReport(SQLModel):
    dry_run: bool
    rows: int = Field(description="Rows read (blank rows left out)")
    valid: int
    invalid: int
    stored: int = Field(description="Capabilities registered by this request (0 on a dry run)")
    ignored_columns: list[str] = Field(default_factory=list, description="Columns not understood (left out)")
    errors: list[ImportRowError] = Field(default_factory=list)
    items: list[CapabilityPublic] = Field(default_factory=list, description="The capabilities registered")
