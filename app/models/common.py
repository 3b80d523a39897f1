"""Shared column helpers and list envelopes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Generic, TypeVar
from zoneinfo import ZoneInfo

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from sqlalchemy import Column
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.db import JSONList
from app.i18n import msg

T = TypeVar("T")

# An id (or other integer) the API passes to the database: bounded to a signed 64-bit INTEGER, so that an
# out-of-range value is a 422 rather than an OverflowError from the driver (a 500).
DbInt = Annotated[int, Interval(ge=-(2**63), le=2**63 - 1)]


def _unique(values: list) -> list:
    """Drop repeated vocabulary values, keeping the first occurrence's order."""
    return list(dict.fromkeys(values))


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError(msg("must not be blank"))
    return v.strip()


def _certs(values: list[str]) -> list[str]:
    out = []
    for v in values:
        v = v.strip()
        if not v or len(v) > 40:
            raise ValueError(msg("each certification is 1-40 characters"))
        out.append(v)
    return _unique(out)


# Validated field types shared by the create and update schemas of needs and capabilities.
NonBlank = Annotated[str, AfterValidator(_not_blank)]
UniqueList = AfterValidator(_unique)
Certifications = Annotated[list[str], AfterValidator(_certs)]


NUL_MESSAGE = "must not contain NUL characters (U+0000)"


def _no_nul(value):
    """Refuse a NUL anywhere in a value (strings in lists and objects included): PostgreSQL cannot store one in
    text (a 500 otherwise), and SQLite would keep what PostgreSQL refuses."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(NUL_MESSAGE)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_nul(k)
            _no_nul(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _no_nul(v)
    return value


class Input(SQLModel):
    """The base of every request body model (never of a response or table model): an unknown field is a 422 that
    names it instead of being silently dropped, and no string in any field may hold a NUL character."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value):
        return _no_nul(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


# The cluster's clock: the dates people type and read (Shanghai and the Jiangsu corridor share it).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def as_utc(dt: datetime) -> datetime:
    """A date-time people typed: without an offset it is Shanghai time."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)


# UTCDateTime: DateTime(timezone=True) that hands back aware UTC datetimes on SQLite too (which keeps no offset),
# so every timestamp the API returns is RFC 3339 with an offset.
def created_at_field():
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


def updated_at_field():
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


def json_list_field():
    return Field(default_factory=list, sa_column=Column(JSONList, nullable=False))


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
