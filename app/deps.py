"""Annotated dependency aliases: the session (one unit of work per request), the current actor, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from asgi_correlation_id import correlation_id
from fastapi import Depends, Header, Query, Request
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.config import Settings
from app.db import session_scope
from app.errors import Conflict, Unauthorized
from app.i18n import msg
from app.policy import Actor
from app.security import client_address, client_request_id
from app.services import users
from app.services.listing import PageParams
from app.services.matching.index import MatchIndex


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, a hop
# that costs more than the dependency itself.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: services flush; ``session_scope`` commits once, or rolls back on any error."""
    try:
        with session_scope(request.app.state.engine) as session:
            yield session
    except OperationalError as e:
        if "locked" in str(e).lower():  # SQLite: a concurrent writer won; the client retries
            raise Conflict(msg("The record is being changed by another request; retry.")) from e
        raise


# scope="function": the commit runs before the response is sent, so a 2xx always means "stored" (with the default
# request scope FastAPI would send the response first and commit after it — a crash in between loses an
# acknowledged write, and a failing commit is never reported).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def authenticate_bearer(request: Request, session: Session, secret: str) -> Actor:
    """A bearer token → its user, through the failed-authentication throttle (429 once an address has failed too
    often; only failures count)."""
    throttle = request.app.state.auth_throttle
    address = client_address(request)
    throttle.check(address, secret)
    try:
        actor = users.authenticate(session, secret, correlation_id.get(), client_request_id.get())
    except Unauthorized:
        throttle.failed(address)
        raise
    throttle.succeeded(secret)
    return actor


def get_actor(request: Request, session: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Actor:
    if not authorization:
        raise Unauthorized(msg("Send 'Authorization: Bearer <token>'."))
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized(msg("Send 'Authorization: Bearer <token>'."))
    actor = authenticate_bearer(request, session, secret.strip())
    request.state.actor = actor  # the error handlers speak the person's language
    # Keeps last_used_at even when the request fails later (and releases SQLite's write lock), and on PostgreSQL
    # frees the connection while the request waits for its next worker thread (docs/decisions.md, "Connections,
    # threads and the write queue"). SQLite's pool has no cap and a read took no lock: nothing to commit or free.
    if session.info.pop(users.TOKEN_STAMPED, False) or not request.app.state.settings.is_sqlite:
        session.commit()
    return actor


CurrentActor = Annotated[Actor, Depends(get_actor)]


async def page_params(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Page size (capped by the server).")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    sort: Annotated[str | None, Query(max_length=40, description="Field name; prefix '-' for descending.")] = None,
) -> PageParams:
    settings: Settings = request.app.state.settings
    size = min(limit or settings.default_page_size, settings.max_page_size)
    return PageParams(limit=size, offset=offset, sort=sort)


PageDep = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]


async def get_match_index(request: Request) -> MatchIndex:
    """The process's match index (loaded by the app's lifespan)."""
    return request.app.state.match_index


MatchIndexDep = Annotated[MatchIndex, Depends(get_match_index)]
