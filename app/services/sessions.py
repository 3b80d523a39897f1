"""Browser sessions, kept on the server: the cookie carries a random id, the table only its SHA-256.

A session belongs to a user; it ends when the user signs out, after ``idle`` without a request, at its absolute
expiry, when the token it was opened with is revoked or expires, or when an admin revokes all of the user's tokens
and sessions (or deactivates the user). It is checked on every request, so each of these takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from app.models import ApiToken, Organisation, User, UserNotificationPreference, WebSession
from app.models.common import utcnow
from app.models.enums import OrgKind, Role
from app.policy import Actor
from app.services import audit

LAST_SEEN_RESOLUTION = timedelta(seconds=60)  # write last_seen_at at most once a minute per session


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def csrf_token(secret: str) -> str:
    """The session's CSRF token for its forms: derived from the session id (so nothing more is stored), and the
    id cannot be recovered from it."""
    return hmac.new(secret.encode(), b"clinmatch-csrf", hashlib.sha256).hexdigest()


def open_session(session: Session, actor: Actor, *, lifetime: timedelta, method: str = "token",
                 token: ApiToken | None = None) -> str:
    """Start a session for the actor's user; returns its id (the cookie's value), which is not stored."""
    now = utcnow()
    expires = now + lifetime
    if token is not None and token.expires_at is not None:
        expires = min(expires, _aware(token.expires_at))  # never outlives the token it was opened with
    secret = secrets.token_urlsafe(32)
    row = WebSession(user_id=actor.user_id, id_hash=_hash(secret), method=method,
                     token_id=token.id if token is not None else None, last_seen_at=now, expires_at=expires)
    session.add(row)
    session.flush()
    audit.record(session, actor, "session", row.id, "create", {"method": [None, method]})
    return secret


@dataclass(frozen=True)
class SessionPerson:
    """Who a live session belongs to: the actor, their user and organisation rows, their own language (or None)."""

    actor: Actor
    user: User
    organisation: Organisation
    language: str | None


def session_person(session: Session, secret: str, *, idle: timedelta, request_id: str | None = None,
                   client_request_id: str | None = None) -> SessionPerson | None:
    """The session's person, or None when the session is unknown, ended, idle too long or its user is inactive."""
    row = session.exec(select(WebSession, User, Organisation, UserNotificationPreference.language)
                       .join(User, User.id == WebSession.user_id)  # one query: this runs on every page request
                       .join(Organisation, Organisation.id == User.organisation_id)
                       .outerjoin(UserNotificationPreference, UserNotificationPreference.user_id == User.id)
                       .where(WebSession.id_hash == _hash(secret))).first()
    if row is None:
        return None
    ws, user, org, language = row
    now = utcnow()
    last = _aware(ws.last_seen_at)
    if ws.revoked_at is not None or _aware(ws.expires_at) <= now or now - last >= idle or not user.is_active:
        return None
    if now - last >= LAST_SEEN_RESOLUTION:
        ws.last_seen_at = now
        session.add(ws)
    actor = Actor(user_id=user.id, organisation_id=org.id, org_kind=OrgKind(org.kind), role=Role(user.role),
                  request_id=request_id, client_request_id=client_request_id)
    return SessionPerson(actor, user, org, language)


def session_actor(session: Session, secret: str, *, idle: timedelta, request_id: str | None = None,
                  client_request_id: str | None = None) -> Actor | None:
    """The session's user as an actor, or None (see ``session_person``)."""
    person = session_person(session, secret, idle=idle, request_id=request_id, client_request_id=client_request_id)
    return person.actor if person else None


def end_session(session: Session, secret: str, actor: Actor | None = None) -> bool:
    """Sign-out: revoke the session with this id, if it is live."""
    ws = session.exec(select(WebSession).where(WebSession.id_hash == _hash(secret),
                                               WebSession.revoked_at.is_(None))).first()
    if ws is None:
        return False
    ws.revoked_at = utcnow()
    session.add(ws)
    audit.record(session, actor, "session", ws.id, "revoke", {"revoked_at": [None, ws.revoked_at]})
    return True


def revoke(session: Session, which: ColumnElement[bool]) -> int:
    """Revoke the live sessions matching ``which`` (a user's, a token's); returns how many."""
    return session.execute(update(WebSession).where(which, WebSession.revoked_at.is_(None))
                           .values(revoked_at=utcnow())).rowcount
