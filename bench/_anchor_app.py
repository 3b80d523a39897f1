"""The read anchor for bench/api_throughput.py: what a user would write instead of clinmatch, a well-written
FastAPI + SQLModel app over the same database.

    uvicorn bench._anchor_app:create_app --factory        (DATABASE_URL as for clinmatch)

The straightforward version of each read, nothing clinmatch-specific: sync routes, one session per request, the
bearer token looked up by its SHA-256 joined to its user, ``session.get`` of one row by id into a response model, a
page of 20 (newest first, as clinmatch's default) with its total in a second query. Its own table models map the
same tables with plain column types; the engine is clinmatch's ``make_engine`` (same SQLite pragmas, same pool) with
the standard library's JSON decoder, as a straightforward app has (clinmatch's orjson is one of its own choices), and
the request threads are as many as clinmatch's (``CLINMATCH_REQUEST_THREADS``, 8). Also ``GET /bench/hello``: bare
FastAPI on the same server, no database.
"""


import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from sqlalchemy import JSON, Column, func
from sqlalchemy.orm import registry
from sqlmodel import Field, Session, SQLModel, select

from app.db import make_engine


class Table(SQLModel, registry=registry()):
    """Its own registry of tables (so that it may sit beside clinmatch's models in one process)."""

class User(Table, table=True):
    __tablename__ = "users"
    id: int = Field(primary_key=True)
    email: str
    role: str
    organisation_id: int
    is_active: bool


class ApiToken(Table, table=True):
    __tablename__ = "api_tokens"
    id: int = Field(primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    token_hash: str
    revoked_at: datetime | None = None
    expires_at: datetime | None = None


class NeedRead(SQLModel):
    id: int
    hospital_id: int
    title: str
    description: str
    clinical_problem: str
    current_practice: str
    shortcomings: str
    affected_population: str
    desired_outcome: str
    department: str
    tracks: list[str]
    partner_types: list[str]
    stages: list[str]
    regions: list[str]
    required_certifications: list[str]
    language: str
    confidentiality: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


class Need(NeedRead, Table, table=True):
    __tablename__ = "needs"
    id: int = Field(primary_key=True)
    tracks: list[str] = Field(sa_column=Column(JSON))
    partner_types: list[str] = Field(sa_column=Column(JSON))
    stages: list[str] = Field(sa_column=Column(JSON))
    regions: list[str] = Field(sa_column=Column(JSON))
    required_certifications: list[str] = Field(sa_column=Column(JSON))


class CapabilityRead(SQLModel):
    id: int
    organisation_id: int
    kind: str
    title: str
    description: str
    tracks: list[str]
    stages: list[str]
    certifications: list[str]
    region: str
    language: str
    external_ref: str | None
    status: str
    version: int
    created_at: datetime
    updated_at: datetime


class Capability(CapabilityRead, Table, table=True):
    __tablename__ = "capabilities"
    id: int = Field(primary_key=True)
    tracks: list[str] = Field(sa_column=Column(JSON))
    stages: list[str] = Field(sa_column=Column(JSON))
    certifications: list[str] = Field(sa_column=Column(JSON))


class NeedPage(SQLModel):
    items: list[NeedRead]
    total: int


class CapabilityPage(SQLModel):
    items: list[CapabilityRead]
    total: int


def create_app() -> FastAPI:
    engine = make_engine(os.environ.get("DATABASE_URL") or os.environ["CLINMATCH_DATABASE_URL"], json_loads=json.loads)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from anyio import to_thread

        to_thread.current_default_thread_limiter().total_tokens = int(os.environ.get("CLINMATCH_REQUEST_THREADS", "8"))
        yield
        engine.dispose()

    app = FastAPI(lifespan=lifespan)

    def get_session() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    SessionDep = Annotated[Session, Depends(get_session)]

    def current_user(session: SessionDep, authorization: Annotated[str, Header()] = "") -> User:
        scheme, _, secret = authorization.partition(" ")
        user = session.exec(select(User).join(ApiToken).where(
            ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest(), ApiToken.revoked_at.is_(None),
            User.is_active)).first() if scheme.lower() == "bearer" else None
        if user is None:
            raise HTTPException(401, "invalid token")
        return user

    UserDep = Annotated[User, Depends(current_user)]

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bench/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/anchor/needs/{need_id}", response_model=NeedRead)
    def get_need(need_id: int, session: SessionDep, user: UserDep):
        need = session.get(Need, need_id)
        if need is None:
            raise HTTPException(404, "not found")
        return need

    @app.get("/anchor/capabilities/{cap_id}", response_model=CapabilityRead)
    def get_capability(cap_id: int, session: SessionDep, user: UserDep):
        cap = session.get(Capability, cap_id)
        if cap is None:
            raise HTTPException(404, "not found")
        return cap

    @app.get("/anchor/needs", response_model=NeedPage)
    def list_needs(session: SessionDep, user: UserDep, limit: Annotated[int, Query(le=100)] = 20, offset: int = 0):
        total = session.exec(select(func.count()).select_from(Need)).one()
        items = session.exec(select(Need).order_by(Need.created_at.desc(), Need.id.desc())
                             .offset(offset).limit(limit)).all()
        return NeedPage(items=items, total=total)

    @app.get("/anchor/capabilities", response_model=CapabilityPage)
    def list_capabilities(session: SessionDep, user: UserDep, limit: Annotated[int, Query(le=100)] = 20,
                          offset: int = 0):
        total = session.exec(select(func.count()).select_from(Capability)).one()
        items = session.exec(select(Capability).order_by(Capability.created_at.desc(), Capability.id.desc())
                             .offset(offset).limit(limit)).all()
        return CapabilityPage(items=items, total=total)

    return app
