"""Conversations: a thread per (need, company) before a partnership, one per engagement after. The company opens
its thread on a need (a message, or its interest comment: the thread's first message); the hospital answers; an
engagement's parties write in its thread. Each new message is news for the other side (event ``message.posted``).
Flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, NotFound
from app.i18n import msg
from app.models import Engagement, EngagementParticipant, Message, Need, Organisation, Thread, User
from app.models.common import utcnow
from app.models.engagement import ParticipantStatus
from app.models.event import EventType
from app.models.message import AttachmentPublic, MessagePublic, ThreadPublic
from app.policy import (
    Actor,
    Disclosure,
    disclosure,
    engagement_thread_visible,
    may_post_message,
    need_thread_openable,
    thread_side,
    thread_visible,
)
from app.services import audit, events, storage
from app.services.common import org_ref
from app.services.listing import PageParams, paginate

ENTITY = "message"


@dataclass
class Conversation:
    """A thread as addressed by its URL; ``thread`` is None until its first message."""

    need: Need
    company_org_id: int | None = None
    engagement: Engagement | None = None
    thread: Thread | None = None

    @property
    def url(self) -> str:
        if self.engagement is not None:
            return f"/api/v1/engagements/{self.engagement.id}/messages"
        return f"/api/v1/needs/{self.need.id}/threads/{self.company_org_id}/messages"


# --- finding a conversation --------------------------------------------------------------------------------------

def need_conversation(session: Session, actor: Actor, need_id: int, company_org_id: int,
                      reads_all: bool) -> Conversation:
    """The (need, company) thread the actor reads, or the company's own thread still to be opened; 404 otherwise."""
    thread = session.exec(select(Thread).where(Thread.need_id == need_id, Thread.company_org_id == company_org_id,
                                               thread_visible(actor, reads_all))).first()
    if thread is not None:
        return Conversation(session.get(Need, need_id), company_org_id, None, thread)
    if actor.organisation_id == company_org_id:
        need = session.exec(select(Need).where(Need.id == need_id, need_thread_openable(actor))).first()
        if need is not None:
            return Conversation(need, company_org_id)
    raise NotFound(msg("No conversation on need {need_id} with organisation {company_org_id}.",
                       need_id=need_id, company_org_id=company_org_id))


def engagement_conversation(session: Session, actor: Actor, engagement_id: int, reads_all: bool) -> Conversation:
    eng = session.exec(select(Engagement).where(Engagement.id == engagement_id,
                                                engagement_thread_visible(actor, reads_all))).first()
    if eng is None:
        raise NotFound(msg("Engagement {engagement_id} not found.", engagement_id=engagement_id))
    thread = session.exec(select(Thread).where(Thread.engagement_id == eng.id)).first()
    return Conversation(session.get(Need, eng.need_id), None, eng, thread)


# --- reading -----------------------------------------------------------------------------------------------------

def _message_public(conv: Conversation, m: Message, d: Disclosure, orgs: dict[int, Organisation],
                    users: dict[int, User]) -> MessagePublic:
    shown = d.shows(m.organisation_id)
    user = users.get(m.user_id) if shown and m.user_id else None
    att = None
    if m.sha256:
        att = AttachmentPublic(filename=m.filename, content_type=m.content_type, size=m.size, sha256=m.sha256,
                               url=f"{conv.url}/{m.id}/attachment")
    return MessagePublic(id=m.id, thread_id=m.thread_id, side=m.side,
                         organisation=org_ref(orgs[m.organisation_id]) if shown else None,
                         user_id=d.user(m.user_id, m.organisation_id),
                         author_name=(user.full_name or None) if user else None, body=m.body, attachment=att,
                         created_at=m.created_at)


def list_messages(session: Session, actor: Actor, conv: Conversation, page: PageParams):
    """Oldest first by default; an anonymous need's hospital shows as its side only."""
    if conv.thread is None:
        return [], 0
    stmt = select(Message).where(Message.thread_id == conv.thread.id)
    rows, total = paginate(session, stmt, page, {"id": Message.id, "created_at": Message.created_at}, "id")
    return messages_public(session, actor, conv, list(rows)), total


def messages_public(session: Session, actor: Actor, conv: Conversation, rows: list[Message]) -> list[MessagePublic]:
    d = disclosure(actor, conv.need, session)
    orgs = {o.id: o for o in session.exec(select(Organisation).where(
        Organisation.id.in_({m.organisation_id for m in rows})))} if rows else {}
    uids = {m.user_id for m in rows if m.user_id}
    users = {u.id: u for u in session.exec(select(User).where(User.id.in_(uids)))} if uids else {}
    return [_message_public(conv, m, d, orgs, users) for m in rows]


def thread_public(session: Session, actor: Actor, thread: Thread) -> ThreadPublic:
    need = session.get(Need, thread.need_id)
    d = disclosure(actor, need, session)
    shown = d.shows(need.hospital_id)
    conv = Conversation(need, thread.company_org_id,
                        session.get(Engagement, thread.engagement_id) if thread.engagement_id else None, thread)
    return ThreadPublic(id=thread.id, need_id=need.id, need_title=need.title,
                        hospital=org_ref(session.get(Organisation, need.hospital_id)) if shown else None,
                        hospital_hidden=not shown,
                        company=org_ref(session.get(Organisation, thread.company_org_id))
                        if thread.company_org_id else None,
                        engagement_id=thread.engagement_id, message_count=thread.message_count, url=conv.url,
                        created_at=thread.created_at, updated_at=thread.updated_at)


def list_threads(session: Session, actor: Actor, reads_all: bool, page: PageParams, need_id: int | None = None):
    """The caller's conversations, the latest active first."""
    stmt = select(Thread).where(thread_visible(actor, reads_all))
    if need_id is not None:
        stmt = stmt.where(Thread.need_id == need_id)
    rows, total = paginate(session, stmt, page, {"id": Thread.id, "updated_at": Thread.updated_at}, "-updated_at")
    return [thread_public(session, actor, t) for t in rows], total


# --- writing -----------------------------------------------------------------------------------------------------

def _participant_orgs(session: Session, eng: Engagement | None) -> set[int]:
    if eng is None:
        return set()
    return set(session.scalars(select(EngagementParticipant.organisation_id).where(
        EngagementParticipant.engagement_id == eng.id, EngagementParticipant.status == ParticipantStatus.active)))


def _ensure_thread(session: Session, conv: Conversation) -> Thread:
    if conv.thread is not None:
        return conv.thread
    thread = Thread(need_id=conv.need.id, company_org_id=conv.company_org_id,
                    engagement_id=conv.engagement.id if conv.engagement else None)
    session.add(thread)
    try:
        session.flush()
    except IntegrityError as e:  # a concurrent first message opened it meanwhile: the client sends again
        raise Conflict(msg("The conversation was opened meanwhile; send the message again.")) from e
    conv.thread = thread
    return thread


def _recipients(session: Session, conv: Conversation, author_org: int) -> set[int]:
    if conv.engagement is not None:
        eng = conv.engagement
        return ({eng.hospital_id, eng.lead_org_id} | _participant_orgs(session, eng)) - {author_org}
    return {conv.need.hospital_id, conv.company_org_id} - {author_org}


def writer_side(session: Session, actor: Actor, conv: Conversation) -> str | None:
    """The side the actor writes for in this conversation, or None (it reads only): what a page asks before it
    shows a form."""
    return thread_side(actor, conv.need, conv.company_org_id, conv.engagement,
                       _participant_orgs(session, conv.engagement))


def post(session: Session, actor: Actor, conv: Conversation, body: str, *, upload: storage.Stored | None = None,
         notify: bool = True) -> Message:
    """A message by the actor's side; ``notify``: tell the other side (not for an interest comment, which its own
    notification carries already)."""
    side = thread_side(actor, conv.need, conv.company_org_id, conv.engagement,
                       _participant_orgs(session, conv.engagement))
    may_post_message(side)
    thread = _ensure_thread(session, conv)
    m = Message(thread_id=thread.id, organisation_id=actor.organisation_id, user_id=actor.user_id, side=side,
                body=body.strip())
    if upload is not None:
        m.filename, m.content_type, m.size, m.sha256 = upload.filename, upload.content_type, upload.size, upload.sha256
    session.add(m)
    session.flush()
    # counted in SQL: two messages posted at once both count
    session.execute(update(Thread).where(Thread.id == thread.id)
                    .values(message_count=Thread.message_count + 1, updated_at=utcnow()))
    audit.record(session, actor, ENTITY, m.id, "create",
                 {"thread_id": [None, thread.id], "length": [None, len(m.body)], "sha256": [None, m.sha256]})
    if notify:
        events.emit(session, EventType.message_posted,
                    {"message_id": m.id, "thread_id": thread.id, "need_id": conv.need.id,
                     "engagement_id": thread.engagement_id, "side": side},
                    _recipients(session, conv, actor.organisation_id))
    return m


def post_attachment(session: Session, actor: Actor, conv: Conversation, body: str, filename: str | None,
                    declared_type: str | None, stream: BinaryIO, *, folder: Path, max_bytes: int) -> Message:
    """A message carrying a file: the same checks and storage as engagement documents."""
    side = thread_side(actor, conv.need, conv.company_org_id, conv.engagement,
                       _participant_orgs(session, conv.engagement))
    may_post_message(side)  # before the bytes are read or stored
    up = storage.accept_upload(filename, declared_type, stream, folder=folder, max_bytes=max_bytes)
    return post(session, actor, conv, body, upload=up)


def open_attachment(session: Session, conv: Conversation, message_id: int, folder: Path) -> tuple[Message, Path]:
    m = session.get(Message, message_id)
    if m is None or conv.thread is None or m.thread_id != conv.thread.id or not m.sha256:
        raise NotFound(msg("No attachment on message {message_id}.", message_id=message_id))
    return m, storage.path_of(folder, m.sha256, msg("the attachment of message {message_id}", message_id=message_id))


def open_with_interest(session: Session, actor: Actor, need: Need, comment: str) -> Message | None:
    """A company's interest comment opens its conversation on the need, once: as the thread's first message."""
    comment = comment.strip()
    if not comment:
        return None
    conv = Conversation(need, actor.organisation_id)
    conv.thread = session.exec(select(Thread).where(Thread.need_id == need.id,
                                                    Thread.company_org_id == actor.organisation_id)).first()
    if conv.thread is not None:
        return None
    return post(session, actor, conv, comment, notify=False)


__all__ = ["Conversation", "engagement_conversation", "list_messages", "list_threads", "messages_public",
           "need_conversation", "open_attachment", "open_with_interest", "post", "post_attachment", "thread_public",
           "writer_side"]
