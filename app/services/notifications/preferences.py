"""Notification preferences: an organisation's channels, rhythm, threshold, interests and language; a person's own
e-mail switch and language."""

from __future__ import annotations

from sqlmodel import Session, select

from app.config import Settings
from app.errors import Forbidden
from app.i18n import msg
from app.models import Need, NotificationPreference, UserNotificationPreference
from app.models.common import utcnow
from app.models.notification import (
    Channel,
    PreferenceFields,
    PreferencePublic,
    PreferenceUpdate,
    Rhythm,
    UserPreferencePublic,
    UserPreferenceUpdate,
)
from app.policy import Actor
from app.services import audit
from app.services.common import check_version, compare_and_swap

DEFAULTS = PreferenceFields()


def _defaults(org_id: int) -> NotificationPreference:
    """The preferences of an organisation that never set any (version 0, not stored)."""
    return NotificationPreference(organisation_id=org_id, version=0, **DEFAULTS.model_dump(mode="json"))


def for_org(session: Session, org_id: int) -> NotificationPreference:
    return for_orgs(session, [org_id])[org_id]


def for_orgs(session: Session, org_ids) -> dict[int, NotificationPreference]:
    ids = sorted(set(org_ids))
    rows = {r.organisation_id: r for r in session.exec(select(NotificationPreference).where(
        NotificationPreference.organisation_id.in_(ids))).all()} if ids else {}
    return {i: rows.get(i) or _defaults(i) for i in ids}


def wants_need(pref: NotificationPreference, need: Need, hospital_region: str | None) -> bool:
    """Tracks and regions of interest (empty = all): the need's tracks; its regions or its hospital's region."""
    if pref.rhythm == Rhythm.off:
        return False
    if pref.tracks and not set(pref.tracks) & set(need.tracks):
        return False
    return not pref.regions or bool(set(pref.regions) & (set(need.regions) | {hospital_region}))


def _require_member(actor: Actor) -> None:
    if actor.user_id is None:  # pragma: no cover - the API always has a user
        raise Forbidden(msg("Preferences belong to a person's organisation."))


def public(pref: NotificationPreference, settings: Settings) -> PreferencePublic:
    return PreferencePublic(organisation_id=pref.organisation_id, channels=pref.channels, rhythm=pref.rhythm,
                            min_score=pref.min_score, tracks=pref.tracks, regions=pref.regions,
                            language=pref.language, version=pref.version, last_digest_at=pref.last_digest_at,
                            email_available=bool(settings.smtp_host))


def _save(session: Session, actor: Actor, entity: str, row, values: dict, expected: int):
    """Store ``values`` on a preferences row read at version ``expected``: the first save of defaults (version 0)
    inserts it, later ones compare and swap; both audited."""
    if row.id is None:
        check_version(row, expected)
        for k, v in values.items():
            setattr(row, k, v)
        row.version, row.updated_at = 1, utcnow()
        session.add(row)
        session.flush()
        audit.record(session, actor, entity, row.id, "create", audit.created_fields(row, list(values)))
        return row
    changes = audit.diff(row.model_dump(mode="json"), values)
    if not changes:
        check_version(row, expected)
        return row
    compare_and_swap(session, type(row), row, expected, values)
    audit.record(session, actor, entity, row.id, "update", changes)
    return row


def update_org(session: Session, actor: Actor, data: PreferenceUpdate, expected: int) -> NotificationPreference:
    """Any member of the organisation sets its preferences (version 0 = the defaults, never stored)."""
    _require_member(actor)
    values = {k: v for k, v in data.model_dump(mode="json", exclude_unset=True, exclude={"version"}).items()
              if v is not None}
    return _save(session, actor, "notification_preferences", for_org(session, actor.organisation_id), values,
                 expected)


def for_users(session: Session, user_ids) -> dict[int, UserNotificationPreference]:
    ids = sorted(set(user_ids))
    rows = {r.user_id: r for r in session.exec(select(UserNotificationPreference).where(
        UserNotificationPreference.user_id.in_(ids))).all()} if ids else {}
    return {i: rows.get(i) or UserNotificationPreference(user_id=i, version=0) for i in ids}


def for_user(session: Session, user_id: int) -> UserNotificationPreference:
    return for_users(session, [user_id])[user_id]


def user_public(row: UserNotificationPreference) -> UserPreferencePublic:
    return UserPreferencePublic(user_id=row.user_id, email=row.email, language=row.language, version=row.version)


def update_user(session: Session, actor: Actor, data: UserPreferenceUpdate, expected: int) -> UserNotificationPreference:
    _require_member(actor)
    values = data.model_dump(mode="json", exclude_unset=True, exclude={"version"})
    values = {k: v for k, v in values.items() if v is not None or k == "language"}  # language null: the org's
    return _save(session, actor, "user_notification_preferences", for_user(session, actor.user_id), values, expected)


__all__ = ["Channel", "Rhythm", "for_org", "for_orgs", "for_user", "update_org", "update_user", "wants_need"]
