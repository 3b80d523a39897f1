"""The commission's notes on needs, capabilities and organisations."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Note
from app.models.enums import Role
from app.models.note import NoteCreate, NoteTarget
from app.policy import Actor, require_role
from app.services import audit, capabilities, needs, organisations
from app.services.listing import PageParams, paginate


def _target_exists(session: Session, actor: Actor, entity: NoteTarget, entity_id: int) -> None:
    if entity == NoteTarget.need:
        needs.get_visible(session, actor, entity_id)
    elif entity == NoteTarget.capability:
        capabilities.get_visible(session, actor, entity_id)
    else:
        organisations.get(session, entity_id)


def create_note(session: Session, actor: Actor, data: NoteCreate) -> Note:
    require_role(actor, Role.commission, Role.admin)
    _target_exists(session, actor, data.entity, data.entity_id)
    note = Note(entity=data.entity, entity_id=data.entity_id, body=data.body, author_id=actor.user_id,
                organisation_id=actor.organisation_id)
    session.add(note)
    session.flush()
    audit.record(session, actor, "note", note.id, "create",
                 {"entity": [None, data.entity], "entity_id": [None, data.entity_id]})
    return note


def list_notes(session: Session, actor: Actor, entity: str | None, entity_id: int | None, page: PageParams):
    require_role(actor, Role.commission, Role.admin)
    stmt = select(Note)
    if entity:
        stmt = stmt.where(Note.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(Note.entity_id == entity_id)
    return paginate(session, stmt, page, {"id": Note.id, "created_at": Note.created_at}, "-created_at")
