from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr, model_validator
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.i18n import msg
from app.models.common import Input, created_at_field, updated_at_field
from app.models.enums import OrgKind, Region


class OrganisationBase(SQLModel):
    kind: OrgKind = Field(index=True)
    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    region: Region = Field(index=True)
    contact_name: str | None = Field(default=None, max_length=200, description="The contact person: shown to the "
                                     "organisation's accepted partners, the commission and admins only")
    contact_email: EmailStr | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=4000)


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisations"
    __table_args__ = (Index("ix_organisations_name_zh", "name_zh"), Index("ix_organisations_name_en", "name_en"))
    id: int | None = Field(default=None, primary_key=True)
    # Vocabularies are stored as plain strings (validated by the API schemas), so adding a value needs no migration.
    kind: str = Field(max_length=20, index=True)
    region: str = Field(max_length=20, index=True)
    contact_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def display_name(self) -> str:
        return self.name_zh or self.name_en or f"#{self.id}"


class OrganisationCreate(OrganisationBase, Input):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _a_name(self):
        if not (self.name_zh or self.name_en):
            raise ValueError(msg("name_zh or name_en is required"))
        return self


class OrganisationUpdate(Input):
    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    region: Region | None = None
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: EmailStr | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=4000)


class OrganisationPublic(OrganisationBase):
    """``contact_*`` are null for callers that are not the organisation's accepted partners (``policy``)."""

    id: int
    created_at: datetime
    updated_at: datetime
