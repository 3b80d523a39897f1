"""People's accounts: passwords (argon2id through pwdlib), invitations and password resets by e-mail, sign-in.

An invitation or a reset is a link whose token is random and stored only as its SHA-256; it works once and expires.
The e-mail is not sent here: the request records a message and its e-mail delivery in the outbox (the request's
transaction), and the notification worker sends it (``outbox.deliver_due``). A reset request answers the same
whether or not the address belongs to anybody. Flush, never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import update
from sqlmodel import Session, select

from app.config import Settings
from app.errors import Conflict, Invalid, NotFound
from app.i18n import msg, say
from app.models import Delivery, Invitation, Notification, Organisation, User, WebSession
from app.models.common import utcnow
from app.models.enums import ROLE_ORG_KINDS, OrgKind, Role
from app.models.notification import Channel, NotificationKind
from app.models.user import InvitationPurpose
from app.policy import Actor, may_invite, require_role
from app.services import audit, sessions

# argon2id with the library's (OWASP-level) defaults: one hasher, so every stored hash names its own parameters
PASSWORDS = PasswordHash((Argon2Hasher(),))
# Verified when the e-mail is unknown, so that an unknown address costs the same time as a wrong password
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))
ROLE_NAMES = {Role.hospital_staff: msg("hospital staff"), Role.company_staff: msg("company staff"),
              Role.commission: msg("commission officer"), Role.admin: msg("administrator")}
PASSWORD_MAX = 200  # argon2 takes any length; a bound keeps a megabyte password from costing a megabyte of hashing


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def check_password(settings: Settings, password: str, field: str = "password") -> None:
    if len(password) < settings.password_min_length:
        raise Invalid(field, msg("At least {min_length} characters.", min_length=settings.password_min_length))
    if len(password) > PASSWORD_MAX:
        raise Invalid(field, msg("At most {max_length} characters.", max_length=PASSWORD_MAX))


# --- invitations -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvitationRequest:
    email: str
    role: Role
    organisation_id: int
    full_name: str = ""
    language: str = "zh"


def invite(session: Session, actor: Actor, settings: Settings, data: InvitationRequest) -> tuple[Invitation, str]:
    """Invite a person by e-mail into an organisation and role; returns the invitation and its token (only in the
    e-mail: nothing but its hash is kept). An earlier open invitation of the same address ends."""
    may_invite(actor, data.role)
    org = session.get(Organisation, data.organisation_id)
    if org is None:
        raise Invalid("organisation_id", msg("Organisation {data_organisation_id} does not exist.",
                                             data_organisation_id=data.organisation_id))
    if OrgKind(org.kind) not in ROLE_ORG_KINDS[data.role]:
        kinds = ", ".join(sorted(ROLE_ORG_KINDS[data.role]))
        raise Invalid("role", msg("Role '{data_role}' belongs to organisations of kind {kinds}, not '{org_kind}'.",
                                  data_role=data.role.value, kinds=kinds, org_kind=org.kind))
    email = data.email.strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and user.is_active:
        raise Conflict(msg("A user with e-mail {email} exists already.", email=email))
    now = utcnow()
    session.execute(update(Invitation).where(Invitation.email == email, Invitation.used_at.is_(None),
                                             Invitation.revoked_at.is_(None)).values(revoked_at=now))
    token = secrets.token_urlsafe(32)
    inv = Invitation(purpose=InvitationPurpose.invite, email=email, full_name=data.full_name.strip(),
                     role=data.role.value, organisation_id=org.id, user_id=user.id if user else None,
                     invited_by_user_id=actor.user_id, language=data.language, token_hash=_hash(token),
                     expires_at=now + timedelta(days=settings.invitation_days))
    session.add(inv)
    session.flush()
    audit.record(session, actor, "invitation", inv.id, "create",
                 {"email": [None, email], "role": [None, inv.role], "organisation_id": [None, org.id]})
    days = int(settings.invitation_days) if settings.invitation_days >= 1 else settings.invitation_days
    _queue_email(session, settings, inv, f"/invite/{token}",
                 msg("An invitation to clinmatch"),
                 msg("You are invited to clinmatch as {role} of {organisation}. Open the link within {days} days to "
                     "set your password; it works once.", role=ROLE_NAMES[data.role], organisation=org.display_name, days=days))
    return inv, token


def list_invitations(session: Session, actor: Actor, limit: int = 200) -> list[Invitation]:
    """Invitations (not resets), newest first: an admin sees all, the commission those it may send."""
    stmt = select(Invitation).where(Invitation.purpose == InvitationPurpose.invite)
    if actor.role != Role.admin:
        require_role(actor, Role.commission)
        stmt = stmt.where(Invitation.role != Role.admin)
    return list(session.exec(stmt.order_by(Invitation.id.desc()).limit(limit)).all())


def revoke_invitation(session: Session, actor: Actor, invitation_id: int) -> Invitation:
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.purpose != InvitationPurpose.invite:
        raise NotFound(msg("Invitation {invitation_id} not found.", invitation_id=invitation_id))
    may_invite(actor, Role(inv.role))
    if inv.used_at is None and inv.revoked_at is None:
        inv.revoked_at = utcnow()
        session.add(inv)
        audit.record(session, actor, "invitation", inv.id, "revoke", {"revoked_at": [None, inv.revoked_at]})
    return inv


def status(inv: Invitation, now: datetime | None = None) -> str:
    """pending, used, revoked or expired."""
    now = now or utcnow()
    if inv.used_at is not None:
        return "used"
    if inv.revoked_at is not None:
        return "revoked"
    return "expired" if _aware(inv.expires_at) <= now else "pending"


def open_link(session: Session, token: str, purpose: InvitationPurpose) -> Invitation | None:
    """The live invitation or reset this token opens, or None (unknown, used, revoked or expired: the page says
    only that the link no longer works)."""
    if not token or len(token) > 100:
        return None
    inv = session.exec(select(Invitation).where(Invitation.token_hash == _hash(token))).first()
    if inv is None or inv.purpose != purpose or status(inv) != "pending":
        return None
    return inv


def accept(session: Session, settings: Settings, token: str, password: str, purpose: InvitationPurpose,
           full_name: str | None = None) -> User:
    """Use an invitation (the person is created, or re-activated, with this password) or a reset (a new password;
    every open session of the person ends). The link works once."""
    inv = open_link(session, token, purpose)
    if inv is None:
        raise Invalid("token", msg("This link is no longer valid: it was used, withdrawn or has expired."))
    check_password(settings, password)
    now = utcnow()
    # used first, guarded by its own state: of two requests racing with one link, only one changes a row
    used = session.execute(update(Invitation).where(Invitation.id == inv.id, Invitation.used_at.is_(None))
                           .values(used_at=now)).rowcount
    if not used:
        raise Invalid("token", msg("This link is no longer valid: it was used, withdrawn or has expired."))
    user = session.get(User, inv.user_id) if inv.user_id else \
        session.exec(select(User).where(User.email == inv.email)).first()
    if purpose == InvitationPurpose.invite:
        if user is None:
            user = User(email=inv.email, full_name=(full_name or inv.full_name).strip(), role=inv.role,
                        organisation_id=inv.organisation_id)
        elif user.is_active and user.password_hash:
            raise Conflict(msg("A user with e-mail {email} exists already.", email=inv.email))
        else:  # a deactivated person invited back (or one made by the CLI without a password)
            user.role, user.organisation_id, user.is_active = inv.role, inv.organisation_id, True
            if full_name:
                user.full_name = full_name.strip()
    elif user is None or not user.is_active:
        raise Invalid("token", msg("This link is no longer valid: it was used, withdrawn or has expired."))
    user.password_hash = PASSWORDS.hash(password)
    session.add(user)
    session.flush()
    inv.user_id = user.id
    session.add(inv)
    if purpose == InvitationPurpose.reset:  # whoever knew the old password is signed out everywhere
        sessions.revoke(session, WebSession.user_id == user.id)
    audit.record(session, None, "user", user.id, "set-password", {"via": [None, f"{purpose.value}:{inv.id}"]})
    return user


# --- password reset ------------------------------------------------------------------------------------------------

def request_reset(session: Session, settings: Settings, email: str, language: str) -> None:
    """E-mail a reset link to an active person with this address; nothing otherwise. The caller answers the same
    either way (the page does not reveal who has an account)."""
    email = email.strip().lower()
    user = session.exec(select(User).where(User.email == email, User.is_active.is_(True))).first()
    if user is None:
        return
    now = utcnow()
    session.execute(update(Invitation).where(Invitation.user_id == user.id,
                                             Invitation.purpose == InvitationPurpose.reset,
                                             Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
                    .values(revoked_at=now))
    token = secrets.token_urlsafe(32)
    inv = Invitation(purpose=InvitationPurpose.reset, email=email, full_name=user.full_name, role=user.role,
                     organisation_id=user.organisation_id, user_id=user.id, language=language,
                     token_hash=_hash(token), expires_at=now + timedelta(minutes=settings.password_reset_minutes))
    session.add(inv)
    session.flush()
    _queue_email(session, settings, inv, f"/reset/{token}", msg("Reset your clinmatch password"),
                 msg("Somebody asked to reset the password of this address. Open the link within {minutes} minutes "
                     "to choose a new one; it works once. If it was not you, ignore this e-mail.",
                     minutes=settings.password_reset_minutes))


def operator_link(session: Session, settings: Settings, email: str) -> str:
    """The operator's CLI: a link that sets the password of a person who exists already (the first admin, made by
    ``clinmatch users create``, has nobody to invite them). Printed for the operator to hand over, not e-mailed;
    single use, it expires like an invitation."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise NotFound(msg("User {user_id} not found.", user_id=email))
    purpose = InvitationPurpose.invite if user.password_hash is None else InvitationPurpose.reset
    token = secrets.token_urlsafe(32)
    inv = Invitation(purpose=purpose, email=user.email, full_name=user.full_name, role=user.role,
                     organisation_id=user.organisation_id, user_id=user.id, token_hash=_hash(token),
                     expires_at=utcnow() + timedelta(days=settings.invitation_days))
    session.add(inv)
    session.flush()
    audit.record(session, None, "invitation", inv.id, "create", {"email": [None, user.email], "via": [None, "cli"]})
    return f"{settings.public_base_url.rstrip('/')}/{'invite' if purpose == InvitationPurpose.invite else 'reset'}/{token}"


# --- sign-in -------------------------------------------------------------------------------------------------------

def authenticate_password(session: Session, email: str, password: str, request_id: str | None = None,
                          client_request_id: str | None = None) -> Actor | None:
    """The person with this e-mail and password, or None (unknown, wrong, inactive, no password: one answer)."""
    row = session.exec(select(User, Organisation).join(Organisation, Organisation.id == User.organisation_id)
                       .where(User.email == email.strip().lower())).first()
    if row is None or not row[0].password_hash or len(password) > PASSWORD_MAX:
        PASSWORDS.verify(password[:PASSWORD_MAX], _DUMMY_HASH)  # the same work as a real check
        return None
    user, org = row
    ok, rehashed = PASSWORDS.verify_and_update(password, user.password_hash)
    if not ok or not user.is_active:
        return None
    if rehashed:  # the library's parameters moved on: store the stronger hash
        user.password_hash = rehashed
        session.add(user)
    return Actor(user_id=user.id, organisation_id=org.id, org_kind=OrgKind(org.kind), role=Role(user.role),
                 request_id=request_id, client_request_id=client_request_id)


# --- the e-mail, through the outbox ----------------------------------------------------------------------------------

def _queue_email(session: Session, settings: Settings, inv: Invitation, path: str, subject: str, text: str) -> None:
    """Record the message and its e-mail delivery; the worker sends it. The link is in the message only (kept
    from the inbox: ``inbox=False``)."""
    lang = inv.language if inv.language in ("zh", "en") else "zh"
    link = settings.public_base_url.rstrip("/") + path
    key = f"account:{inv.purpose}:{inv.id}"
    title, body = say(subject, lang), say(text, lang)
    n = Notification(organisation_id=inv.organisation_id, kind=NotificationKind.account, title=title, body=body,
                     language=lang, link=link, inbox=False, idempotency_key=key,
                     payload={"items": [{"kind": NotificationKind.account.value, "subject": title, "text": body,
                                         "link": link}]})
    session.add(n)
    session.flush()
    session.add(Delivery(notification_id=n.id, organisation_id=inv.organisation_id, channel=Channel.email,
                         recipient=inv.email, language=lang, idempotency_key=f"{key}:email"))
