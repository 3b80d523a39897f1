"""The in-app inbox: an organisation's notifications, unread count, marking read (shared by its members)."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import Session, select

from app.errors import NotFound
from app.i18n import msg
from app.models import Notification
from app.models.common import utcnow
from app.policy import Actor
from app.services.listing import PageParams, paginate

SORTABLE = {"created_at": Notification.created_at, "id": Notification.id}


def _mine(actor: Actor):
    return (Notification.organisation_id == actor.organisation_id, Notification.inbox.is_(True))


def list_inbox(session: Session, actor: Actor, page: PageParams, unread: bool | None = None,
               kind: str | None = None):
    stmt = select(Notification).where(*_mine(actor))
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return paginate(session, stmt, page, SORTABLE, "-id")


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(*_mine(actor), Notification.read_at.is_(None))) or 0


def get(session: Session, actor: Actor, notification_id: int) -> Notification:
    n = session.exec(select(Notification).where(Notification.id == notification_id, *_mine(actor))).first()
    if n is None:
        raise NotFound(msg("Notification {notification_id} not found.", notification_id=notification_id))
    return n


def mark_read(session: Session, actor: Actor, ids: list[int] | None) -> int:
    """Mark these (or all) unread notifications of the actor's organisation read; returns how many changed."""
    stmt = update(Notification).where(*_mine(actor), Notification.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    return session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
