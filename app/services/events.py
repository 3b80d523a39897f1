"""Domain events, written in the request's transaction (an outbox): the notifications issue delivers them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from app.models import DomainEvent
from app.services.audit import _plain


def emit(session: Session, type: str, payload: dict[str, Any], organisation_ids: Iterable[int] = ()) -> DomainEvent:
    """Record that ``type`` happened; ``organisation_ids``: whom it concerns. Never commits."""
    ev = DomainEvent(type=type, payload={k: _plain(v) for k, v in payload.items()},
                     organisation_ids=sorted({int(o) for o in organisation_ids}))
    session.add(ev)
    return ev
