from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, field_validator
from sqlmodel import Field, SQLModel

from app.i18n import msg
from app.models.common import DbInt, Input, created_at_field
from app.models.enums import Language, Role


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(index=True)


class User(UserBase, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    role: str = Field(max_length=20, index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    is_active: bool = True
    # argon2id (pwdlib's PHC string); None: the person has no password yet (invited, or API-only)
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_at_field()


class UserCreate(UserBase, Input):
    organisation_id: DbInt


class UserUpdate(Input):
    full_name: str | None = Field(default=None, max_length=200)
    is_active: bool | None = None


class UserPublic(UserBase):
    id: int
    organisation_id: int
    is_active: bool
    created_at: datetime


class ApiToken(SQLModel, table=True):
    """A bearer token. Only its SHA-256 is stored; the secret is shown once, at creation."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(default="", max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # first characters, to recognise a token in lists
    created_at: datetime = created_at_field()
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None


class TokenCreate(Input):
    name: str = Field(default="", max_length=100)
    expires_at: AwareDatetime | None = Field(default=None, description="With a UTC offset; stored in UTC.")

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, v: datetime | None) -> datetime | None:
        try:
            return None if v is None else v.astimezone(UTC)
        except OverflowError as e:  # e.g. 9999-12-31T23:59:59-05:00 is past year 9999 in UTC
            raise ValueError(msg("date-time out of range")) from e


class TokenPublic(SQLModel):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


class TokenCreated(TokenPublic):
    token: str  # the secret, returned once


class WebSession(SQLModel, table=True):
    """A browser (dashboard) session: the cookie holds a random id, the table only its SHA-256.

    It belongs to a user, whatever signed it in: ``token_id`` names the API token it was opened with (its
    revocation ends the session too), and stays empty for sign-ins that use no token (e.g. a password, later).
    """

    __tablename__ = "web_sessions"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    id_hash: str = Field(max_length=64, unique=True)
    method: str = Field(default="token", max_length=20)  # how the user signed in
    token_id: int | None = Field(default=None, foreign_key="api_tokens.id", index=True)
    created_at: datetime = created_at_field()
    last_seen_at: datetime
    expires_at: datetime  # absolute end, whatever the activity
    revoked_at: datetime | None = None


class SessionsRevoked(SQLModel):
    tokens_revoked: int
    sessions_revoked: int


class InvitationPurpose(StrEnum):
    invite = "invite"  # a new person sets their first password (the user is created when they do)
    reset = "reset"  # a known person sets a new password


class Invitation(SQLModel, table=True):
    """A link sent by e-mail that lets its holder set a password once: an invitation (the person is created or
    re-activated when they use it) or a password reset. Only the SHA-256 of the link's token is stored."""

    __tablename__ = "invitations"
    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(default=InvitationPurpose.invite, max_length=10)
    email: str = Field(max_length=254, index=True)
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)  # reset; an invite once used
    invited_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    language: str = Field(default="zh", max_length=2)  # of the e-mail and of the page it opens
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class InvitationCreate(Input):
    email: EmailStr = Field(max_length=254)
    full_name: str = Field(default="", max_length=200)
    role: Role
    organisation_id: DbInt
    language: Language = Field(default=Language.zh, description="Of the e-mail and of the page its link opens")


class InvitationPublic(SQLModel):
    """An invitation as its senders see it: never its token (that is only in the e-mail)."""

    id: int
    email: str
    full_name: str
    role: Role
    organisation_id: int
    language: str
    status: str = Field(description="pending, used, revoked or expired")
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
