"""Engine, metadata naming convention and the unit-of-work session.

Services flush, never commit: the request's session is committed (or rolled back) once, by ``session_scope``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import JSON, Index, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# Lists of vocabulary values (tracks, stages, ...): JSON on SQLite, JSONB (GIN-indexable) on PostgreSQL.
JSONList = JSON().with_variant(JSONB(), "postgresql")


def json_list_index(table: str, column: str) -> Index:
    """The index for a JSON list filter (``listing.json_list_contains``): GIN (jsonb_path_ops, which serves ``@>``) on
    PostgreSQL. SQLite's filter is a LIKE over the text, which no index serves: there the index is an empty partial
    one (``WHERE 0``), so that both databases carry the same named index and the models match the migrations."""
    return Index(f"ix_{table}_{column}", column, postgresql_using="gin", postgresql_ops={column: "jsonb_path_ops"},
                 sqlite_where=text("0"))


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _json_loads(text: str | bytes):
    """JSON columns read with orjson (a page of 20 needs decodes 120 lists; json.loads was a sixth of the list's
    CPU); what orjson rejects and json.dumps may have written (NaN, Infinity) falls back to the standard module."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


PG_POOL_SIZE, PG_MAX_OVERFLOW = 20, 40
PG_POOL_CAPACITY = PG_POOL_SIZE + PG_MAX_OVERFLOW


def make_engine(url: str, echo: bool = False, json_loads=_json_loads) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # No cap on connections (a request may hold two; SQLite serialises writers itself), 50 kept open
        # (docs/decisions.md, "Connections, threads and the write queue").
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=50, max_overflow=-1, json_deserializer=json_loads)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Overflow connections close when returned. A request holds up to two (its session's, and one while the match
    # index syncs): app.main admits at most PG_POOL_CAPACITY // 2 requests at once (app/write_queue.py).
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=PG_POOL_SIZE, max_overflow=PG_MAX_OVERFLOW,
                         json_deserializer=json_loads)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
