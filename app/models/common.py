"""Shared column helpers and list envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Column, DateTime
from sqlmodel import Field

from app.db import JSONList

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_field():
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, index=True))


def updated_at_field():
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


def json_list_field():
    return Field(default_factory=list, sa_column=Column(JSONList, nullable=False))


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
