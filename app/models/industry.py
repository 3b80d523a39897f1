"""The industry map and chain (issue 20): where organisations are, how they link up, what platforms offer, and the
booking requests sent to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from annotated_types import Interval
from pydantic import model_validator
from sqlalchemy import Column, Float, UniqueConstraint
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.i18n import msg
from app.models.common import Input, NonBlank, created_at_field, updated_at_field
from app.models.enums import Track
from app.models.need import OrgRef

# The ids these tables point to are INTEGER columns (32-bit on PostgreSQL): a larger id is a 422, never a driver error.
RowId = Annotated[int, Interval(ge=-(2**31), le=2**31 - 1)]


class LinkKind(StrEnum):
    """``from`` … ``to``: the from-side supplies / makes for / runs animal trials for / is the clinical partner of /
    distributes for the to-side."""

    supplies = "supplies"  # components or materials
    contract_manufacturer = "contract_manufacturer"
    animal_trials = "animal_trials"
    clinical_partner = "clinical_partner"
    distributor = "distributor"


class LinkStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    declined = "declined"


class ResourceKind(StrEnum):
    instrument = "instrument"
    animal_model = "animal_model"
    facility_certification = "facility_certification"
    pilot_line = "pilot_line"


class BookingStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


# --- places --------------------------------------------------------------------------------------------------------

class Place(SQLModel, table=True):
    """Where an organisation is: a Shanghai district or a Jiangsu corridor city, optionally a park, an address and a
    point inside the area (else the area's default spot)."""

    __tablename__ = "places"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", unique=True)
    area: str = Field(max_length=20, index=True)
    park: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    lat: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class PlaceSet(Input):
    area: str = Field(min_length=2, max_length=20, description="A Shanghai district or Jiangsu corridor city code "
                                                               "(GET /industry/areas)")
    park: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)

    @model_validator(mode="after")
    def _both(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError(msg("lon and lat go together"))
        return self


class PlacePublic(SQLModel):
    organisation_id: int
    area: str
    area_name: str
    area_name_en: str
    region: str
    park: str | None
    address: str | None
    lon: float
    lat: float
    exact: bool  # coordinates given by the organisation (else the area's default spot)


# --- chain links -------------------------------------------------------------------------------------------------

class ChainLink(SQLModel, table=True):
    """A declared link, proposed by one side and confirmed (or declined) by the other."""

    __tablename__ = "chain_links"
    __table_args__ = (UniqueConstraint("from_org_id", "to_org_id", "kind", name="uq_chain_links_from_to_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    from_org_id: int = Field(foreign_key="organisations.id", index=True)
    to_org_id: int = Field(foreign_key="organisations.id", index=True)
    kind: str = Field(max_length=30)
    track: str | None = Field(default=None, max_length=30, index=True)
    note: str = Field(default="", max_length=1000)
    status: str = Field(default=LinkStatus.pending, max_length=20, index=True)
    proposed_by_org_id: int = Field(foreign_key="organisations.id")
    proposed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    answered_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ChainLinkCreate(Input):
    from_org_id: RowId
    to_org_id: RowId
    kind: LinkKind
    track: Track | None = None
    note: str = Field(default="", max_length=1000)


class ChainLinkAnswer(Input):
    confirm: bool
    note: str | None = Field(default=None, max_length=1000)


class ChainLinkPublic(SQLModel):
    id: int
    source: OrgRef
    target: OrgRef
    kind: LinkKind
    track: Track | None
    note: str
    status: LinkStatus
    proposed_by_org_id: int
    answered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ChainLeader(SQLModel, table=True):
    """A track's chain leader (链长), set by the commission."""

    __tablename__ = "chain_leaders"
    __table_args__ = (UniqueConstraint("track", "organisation_id", name="uq_chain_leaders_track_org"),)
    id: int | None = Field(default=None, primary_key=True)
    track: str = Field(max_length=30, index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    set_by_org_id: int | None = Field(default=None, foreign_key="organisations.id")
    created_at: datetime = created_at_field()


class ChainLeaderSet(Input):
    track: Track
    organisation_id: RowId


# --- platforms' resources and bookings -------------------------------------------------------------------------------

class PlatformResource(SQLModel, table=True):
    __tablename__ = "platform_resources"
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    kind: str = Field(max_length=30, index=True)
    name: str = Field(max_length=200)
    model: str | None = Field(default=None, max_length=200)  # an instrument's make and model
    location: str | None = Field(default=None, max_length=300)
    booking_contact: str | None = Field(default=None, max_length=300)
    capacity: str | None = Field(default=None, max_length=300)  # a pilot line's capacity, an animal room's places
    certification: str | None = Field(default=None, max_length=100)  # AAALAC, GLP, GMP, CNAS ...
    species: str | None = Field(default=None, max_length=100)  # an animal model's species
    description: str = Field(default="", max_length=4000)
    active: bool = Field(default=True, index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ResourceFields(SQLModel):
    kind: ResourceKind
    name: NonBlank = Field(min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=300)
    booking_contact: str | None = Field(default=None, max_length=300)
    capacity: str | None = Field(default=None, max_length=300)
    certification: str | None = Field(default=None, max_length=100)
    species: str | None = Field(default=None, max_length=100)
    description: str = Field(default="", max_length=4000)


class ResourceCreate(ResourceFields, Input):
    pass


class ResourceUpdate(Input):
    name: NonBlank | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=300)
    booking_contact: str | None = Field(default=None, max_length=300)
    capacity: str | None = Field(default=None, max_length=300)
    certification: str | None = Field(default=None, max_length=100)
    species: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=4000)
    active: bool | None = None


class ResourcePublic(ResourceFields):
    id: int
    organisation: OrgRef
    active: bool
    created_at: datetime
    updated_at: datetime


class BookingRequest(SQLModel, table=True):
    """A request to use a platform's resource: no calendar, a request the platform accepts or declines."""

    __tablename__ = "booking_requests"
    id: int | None = Field(default=None, primary_key=True)
    resource_id: int = Field(foreign_key="platform_resources.id", index=True)
    platform_org_id: int = Field(foreign_key="organisations.id", index=True)
    requester_org_id: int = Field(foreign_key="organisations.id", index=True)
    requester_user_id: int | None = Field(default=None, foreign_key="users.id")
    message: str = Field(max_length=2000)
    wanted_from: date | None = None
    wanted_to: date | None = None
    status: str = Field(default=BookingStatus.pending, max_length=20, index=True)
    answer: str | None = Field(default=None, max_length=2000)
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class BookingCreate(Input):
    resource_id: RowId
    message: NonBlank = Field(min_length=1, max_length=2000)
    wanted_from: date | None = None
    wanted_to: date | None = None

    @model_validator(mode="after")
    def _order(self):
        if self.wanted_from and self.wanted_to and self.wanted_to < self.wanted_from:
            raise ValueError(msg("wanted_to is before wanted_from"))
        return self


class BookingAnswer(Input):
    answer: str | None = Field(default=None, max_length=2000)


class BookingPublic(SQLModel):
    id: int
    resource_id: int
    resource_name: str
    platform: OrgRef
    requester: OrgRef
    message: str
    wanted_from: date | None
    wanted_to: date | None
    status: BookingStatus
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    updated_at: datetime
