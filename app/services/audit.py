"""The audit trail: every write records who, what, when and the request id."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, select

from app.models import AuditEvent
from app.models.enums import Role
from app.policy import Actor, require_role
from app.services.listing import paginate


def _plain(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as {field: [old, new]}."""
    out = {}
    for k, new in after.items():
        old = before.get(k)
        if _plain(old) != _plain(new):
            out[k] = [_plain(old), _plain(new)]
    return out


def record(session: Session, actor: Actor | None, entity: str, entity_id: int | None, action: str,
           changes: dict[str, Any] | None = None) -> AuditEvent:
    ev = AuditEvent(
        user_id=actor.user_id if actor else None,
        organisation_id=actor.organisation_id if actor else None,
        entity=entity, entity_id=entity_id, action=action,
        changes={k: _plain(v) for k, v in (changes or {}).items()},
        request_id=actor.request_id if actor else None,
        client_request_id=actor.client_request_id if actor else None,
    )
    session.add(ev)
    return ev


def created_fields(obj: Any, fields: list[str]) -> dict[str, list[Any]]:
    return {f: [None, _plain(getattr(obj, f))] for f in fields if getattr(obj, f) not in (None, "", [])}


def list_events(session: Session, actor: Actor, entity: str | None, entity_id: int | None, user_id: int | None,
                action: str | None, page):
    require_role(actor, Role.commission, Role.admin)
    stmt = select(AuditEvent)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return paginate(session, stmt, page, {"id": AuditEvent.id, "at": AuditEvent.at}, "-id")
