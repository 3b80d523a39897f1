"""Users and their API tokens. Tokens are random, stored as SHA-256, revocable, with last-used time."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Invalid, NotFound, Unauthorized
from app.i18n import msg
from app.models import ApiToken, Organisation, User, WebSession
from app.models.common import utcnow
from app.models.enums import ROLE_ORG_KINDS, OrgKind, Role
from app.models.user import TokenCreate, UserCreate, UserUpdate
from app.policy import Actor, require_role
from app.services import audit, sessions
from app.services.listing import PageParams, paginate

TOKEN_PREFIX = "cm_"
LAST_USED_RESOLUTION = timedelta(seconds=60)  # write last_used_at at most once a minute per token


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(msg("User {user_id} not found.", user_id=user_id))
    return user


def read_user(session: Session, actor: Actor, user_id: int) -> User:
    if actor.user_id != user_id:
        require_role(actor, Role.admin)
    return get_user(session, user_id)


def list_users(session: Session, actor: Actor, organisation_id: int | None, role: str | None, page: PageParams):
    require_role(actor, Role.admin)
    stmt = select(User)
    if organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    if role:
        stmt = stmt.where(User.role == role)
    return paginate(session, stmt, page, {"id": User.id, "email": User.email, "created_at": User.created_at}, "id")


def create_user(session: Session, actor: Actor | None, data: UserCreate) -> User:
    """Create a user; ``actor`` None means the operator's CLI (used for the first admin)."""
    if actor is not None:
        require_role(actor, Role.admin)
    org = session.get(Organisation, data.organisation_id)
    if org is None:
        raise Invalid("organisation_id", msg("Organisation {data_organisation_id} does not exist.",
                                             data_organisation_id=data.organisation_id))
    if OrgKind(org.kind) not in ROLE_ORG_KINDS[Role(data.role)]:
        kinds = ", ".join(sorted(ROLE_ORG_KINDS[Role(data.role)]))
        raise Invalid("role", msg("Role '{data_role}' belongs to organisations of kind {kinds}, not '{org_kind}'.",
                                  data_role=data.role, kinds=kinds, org_kind=org.kind))
    email = data.email.lower()
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(msg("A user with e-mail {email} exists already.", email=email))
    user = User(email=email, full_name=data.full_name, role=data.role, organisation_id=org.id)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as e:  # a concurrent create of the same e-mail
        raise Conflict(msg("A user with e-mail {email} exists already.", email=email)) from e
    audit.record(session, actor, "user", user.id, "create",
                 {"email": [None, email], "role": [None, user.role], "organisation_id": [None, org.id]})
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: UserUpdate) -> User:
    require_role(actor, Role.admin)
    user = get_user(session, user_id)
    values = data.model_dump(exclude_unset=True)
    values = {k: v for k, v in values.items() if v is not None}
    changes = audit.diff(user.model_dump(), values)
    for k, v in values.items():
        setattr(user, k, v)
    if changes:
        session.add(user)
        audit.record(session, actor, "user", user.id, "update", changes)
    if values.get("is_active") is False:  # a deactivated user's tokens and sessions end for good (not on hold)
        revoke_everything(session, actor, user_id)
    return user


# --- tokens ------------------------------------------------------------------------------------------------------

def issue_token(session: Session, actor: Actor | None, user_id: int, data: TokenCreate) -> tuple[ApiToken, str]:
    """Create a token for a user; returns the row and the secret (shown once).

    Only an admin (or the operator's CLI, ``actor`` None) issues tokens: a token that could mint tokens would turn
    one stolen token into a permanent one, surviving its own revocation.
    """
    if actor is not None:
        require_role(actor, Role.admin)
    get_user(session, user_id)
    if data.expires_at is not None and _aware(data.expires_at) <= utcnow():
        raise Invalid("expires_at", msg("expires_at must be in the future."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(user_id=user_id, name=data.name, token_hash=hash_token(secret), prefix=secret[:10],
                   expires_at=data.expires_at)
    session.add(tok)
    session.flush()
    audit.record(session, actor, "token", tok.id, "create", {"user_id": [None, user_id], "name": [None, data.name]})
    return tok, secret


def list_tokens(session: Session, actor: Actor, user_id: int) -> list[ApiToken]:
    if actor.user_id != user_id:
        require_role(actor, Role.admin)
    get_user(session, user_id)
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)).all())


def revoke_token(session: Session, actor: Actor | None, token_id: int) -> ApiToken:
    """Revoke a token (admin, its owner, or the CLI with ``actor`` None) and the dashboard sessions opened with it."""
    tok = session.get(ApiToken, token_id)
    if tok is None or (actor is not None and tok.user_id != actor.user_id and actor.role != Role.admin):
        raise NotFound(msg("Token {token_id} not found.", token_id=token_id))
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        session.add(tok)
        audit.record(session, actor, "token", tok.id, "revoke", {"revoked_at": [None, tok.revoked_at]})
    sessions.revoke(session, WebSession.token_id == tok.id)
    return tok


def revoke_everything(session: Session, actor: Actor | None, user_id: int) -> tuple[int, int]:
    """End all of a user's tokens and dashboard sessions at once (admin, or the CLI with ``actor`` None); returns
    how many of each were still live. Takes effect at the next request: both are checked on every request."""
    if actor is not None:
        require_role(actor, Role.admin)
    get_user(session, user_id)
    now = utcnow()
    tokens = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now)).rowcount
    ended = sessions.revoke(session, WebSession.user_id == user_id)
    audit.record(session, actor, "user", user_id, "revoke-sessions",
                 {"tokens_revoked": [None, tokens], "sessions_revoked": [None, ended]})
    return tokens, ended


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=UTC) if dt is not None and dt.tzinfo is None else dt


def _usable(revoked_at: datetime | None, expires_at: datetime | None, is_active: bool, now: datetime) -> bool:
    return revoked_at is None and not (expires_at and _aware(expires_at) <= now) and is_active


_tok, _user, _org = ApiToken.__table__, User.__table__, Organisation.__table__
# The nine columns authentication needs, in one Core statement built once: it runs on every request, and the ORM
# cost more than the query (docs/decisions.md, "Authentication and one-row reads").
_TOKEN_ROW = (select(_tok.c.id, _tok.c.revoked_at, _tok.c.expires_at, _tok.c.last_used_at, _user.c.id,
                     _user.c.is_active, _user.c.role, _org.c.id, _org.c.kind)
              .select_from(_tok.join(_user, _user.c.id == _tok.c.user_id)
                           .join(_org, _org.c.id == _user.c.organisation_id))
              .where(_tok.c.token_hash == bindparam("token_hash")))


TOKEN_STAMPED = "clinmatch.token_stamped"  # key in Session.info: authenticate wrote last_used_at


def authenticate(session: Session, secret: str, request_id: str | None = None,
                 client_request_id: str | None = None) -> Actor:
    """Bearer token → the acting user; 401 for anything unknown, revoked, expired or inactive."""
    row = session.execute(_TOKEN_ROW, {"token_hash": hash_token(secret)}).first()
    now = utcnow()
    if row is None:
        raise Unauthorized(msg("Invalid, revoked or expired token."))
    tok_id, revoked_at, expires_at, last_used_at, user_id, is_active, role, org_id, org_kind = row
    if not _usable(revoked_at, expires_at, is_active, now):
        raise Unauthorized(msg("Invalid, revoked or expired token."))
    last = _aware(last_used_at)
    if last is None or now - last >= LAST_USED_RESOLUTION:
        session.execute(update(ApiToken).where(ApiToken.id == tok_id).values(last_used_at=now))
        session.info[TOKEN_STAMPED] = True  # the request's dependency commits it at once (app.deps.get_actor)
    return Actor(user_id=user_id, organisation_id=org_id, org_kind=OrgKind(org_kind), role=Role(role),
                 request_id=request_id, client_request_id=client_request_id)


def authenticate_token(session: Session, secret: str, request_id: str | None = None,
                       client_request_id: str | None = None) -> tuple[Actor, ApiToken]:
    """``authenticate``, with the token's row (the dashboard's sign-in ties its session to it; rare, so the ORM)."""
    actor = authenticate(session, secret, request_id, client_request_id)
    tok = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).one()
    return actor, tok
