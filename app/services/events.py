"""Domain events, written in the request's transaction (the transactional outbox): the notification worker turns
them into messages (app/services/notifications)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from app.models import DomainEvent
from app.models.common import utcnow
from app.models.event import EventType
from app.services.audit import _plain


def emit(session: Session, type: EventType, payload: dict[str, Any],
         organisation_ids: Iterable[int] = ()) -> DomainEvent:
    """Record that ``type`` happened; ``organisation_ids``: whom it concerns. Never commits."""
    ev = DomainEvent(type=type, payload={k: _plain(v) for k, v in payload.items()},
                     organisation_ids=sorted({int(o) for o in organisation_ids}))
    session.add(ev)
    return ev


def last_id(session: Session) -> int:
    return session.scalar(select(func.max(DomainEvent.id))) or 0


def mark_processed(session: Session, after_id: int, *type_prefixes: str) -> int:
    """Mark the pending events after ``after_id`` of these types as already handled (imported history, not news)."""
    session.flush()
    stmt = update(DomainEvent).where(DomainEvent.id > after_id, DomainEvent.processed_at.is_(None),
                                     or_(*[DomainEvent.type.startswith(p) for p in type_prefixes]))
    return session.execute(stmt.values(processed_at=utcnow())).rowcount
