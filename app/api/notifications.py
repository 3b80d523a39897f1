from fastapi import APIRouter, Response

from app.deps import CurrentActor, IfMatch, PageDep, SessionDep, SettingsDep
from app.models.common import DbInt, Page
from app.models.notification import (
    MarkedRead,
    MarkRead,
    NotificationKind,
    NotificationPublic,
    PreferencePublic,
    PreferenceUpdate,
    UnreadCount,
    UserPreferencePublic,
    UserPreferenceUpdate,
)
from app.services.common import expected_version
from app.services.notifications import inbox, preferences

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("", summary="The organisation's inbox: ranked, explained matches and updates, newest first")
def list_inbox(session: SessionDep, actor: CurrentActor, page: PageDep, unread: bool | None = None,
               kind: NotificationKind | None = None) -> Page[NotificationPublic]:
    rows, total = inbox.list_inbox(session, actor, page, unread, kind)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.get("/unread-count", summary="How many inbox notifications nobody in the organisation has read")
def unread_count(session: SessionDep, actor: CurrentActor) -> UnreadCount:
    return UnreadCount(unread=inbox.unread_count(session, actor))


@router.post("/read", summary="Mark notifications read (the ids given, or every unread one)")
def mark_read(session: SessionDep, actor: CurrentActor, body: MarkRead) -> MarkedRead:
    return MarkedRead(marked=inbox.mark_read(session, actor, body.ids))


@router.get("/preferences", summary="The organisation's channels, rhythm, minimum score, interests and language")
def get_preferences(session: SessionDep, actor: CurrentActor, settings: SettingsDep,
                    response: Response) -> PreferencePublic:
    pref = preferences.for_org(session, actor.organisation_id)
    response.headers["ETag"] = f'"{pref.version}"'
    return preferences.public(pref, settings)


@router.put("/preferences", summary="Set the organisation's preferences; needs the version read (0 = defaults)")
def put_preferences(session: SessionDep, actor: CurrentActor, settings: SettingsDep, body: PreferenceUpdate,
                    response: Response, if_match: IfMatch = None) -> PreferencePublic:
    pref = preferences.update_org(session, actor, body, expected_version(body.version, if_match))
    response.headers["ETag"] = f'"{pref.version}"'
    return preferences.public(pref, settings)


@router.get("/preferences/me", summary="The signed-in person's own e-mail switch and language")
def get_my_preferences(session: SessionDep, actor: CurrentActor) -> UserPreferencePublic:
    return preferences.user_public(preferences.for_user(session, actor.user_id))


@router.put("/preferences/me", summary="Set the signed-in person's e-mail switch and language")
def put_my_preferences(session: SessionDep, actor: CurrentActor, body: UserPreferenceUpdate,
                       if_match: IfMatch = None) -> UserPreferencePublic:
    row = preferences.update_user(session, actor, body, expected_version(body.version, if_match))
    return preferences.user_public(row)


@router.get("/{notification_id}", summary="One notification of the organisation's inbox")
def get_notification(session: SessionDep, actor: CurrentActor, notification_id: DbInt) -> NotificationPublic:
    return inbox.get(session, actor, notification_id)
