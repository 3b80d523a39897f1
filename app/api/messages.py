from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from app.deps import CurrentActor, PageDep, SessionDep, SettingsDep
from app.models.common import DbInt, Page
from app.models.message import MAX_BODY, MessageCreate, MessagePublic, ThreadPublic
from app.services import messages

router = APIRouter(tags=["messages"])

Body = Annotated[str, Form(max_length=MAX_BODY, description="Words beside the file (optional)")]


def _need_conv(session, actor, settings, need_id, company_org_id):
    return messages.need_conversation(session, actor, need_id, company_org_id, settings.commission_reads_all_threads)


def _eng_conv(session, actor, settings, engagement_id):
    return messages.engagement_conversation(session, actor, engagement_id, settings.commission_reads_all_threads)


def _page(session, actor, conv, page) -> Page[MessagePublic]:
    rows, total = messages.list_messages(session, actor, conv, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


def _one(session, actor, conv, m) -> MessagePublic:
    return messages.messages_public(session, actor, conv, [m])[0]


def _file(m, path) -> FileResponse:
    return FileResponse(path, media_type=m.content_type, filename=m.filename,
                        headers={"ETag": f'"{m.sha256}"', "X-Content-Type-Options": "nosniff"})


@router.get("/threads", summary="The caller's conversations, latest first (the commission: those of needs it brokered)")
def list_threads(session: SessionDep, actor: CurrentActor, settings: SettingsDep, page: PageDep,
                 need_id: DbInt | None = None) -> Page[ThreadPublic]:
    rows, total = messages.list_threads(session, actor, settings.commission_reads_all_threads, page, need_id)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


# --- before a partnership: a need's conversation with one company ---------------------------------------------------

NEED_THREAD = "/needs/{need_id}/threads/{company_org_id}/messages"


@router.get(NEED_THREAD, summary="A need's conversation with a company (the hospital, that company; the commission "
                                 "for needs it brokered)")
def need_messages(session: SessionDep, actor: CurrentActor, settings: SettingsDep, page: PageDep, need_id: DbInt,
                  company_org_id: DbInt) -> Page[MessagePublic]:
    return _page(session, actor, _need_conv(session, actor, settings, need_id, company_org_id), page)


@router.post(NEED_THREAD, status_code=201, summary="Write: the company opens the conversation, the hospital answers")
def post_need_message(session: SessionDep, actor: CurrentActor, settings: SettingsDep, need_id: DbInt,
                      company_org_id: DbInt, body: MessageCreate) -> MessagePublic:
    conv = _need_conv(session, actor, settings, need_id, company_org_id)
    return _one(session, actor, conv, messages.post(session, actor, conv, body.body))


@router.post(NEED_THREAD + "/attachments", status_code=201,
             summary="Write with a file (PDF, PNG, JPEG, DOCX, ZIP, text; size-limited, as engagement documents)")
def post_need_attachment(session: SessionDep, actor: CurrentActor, settings: SettingsDep, need_id: DbInt,
                         company_org_id: DbInt, file: Annotated[UploadFile, File()], body: Body = "") -> MessagePublic:
    conv = _need_conv(session, actor, settings, need_id, company_org_id)
    m = messages.post_attachment(session, actor, conv, body, file.filename, file.content_type, file.file,
                                 folder=settings.attachments_dir, max_bytes=settings.max_attachment_bytes)
    return _one(session, actor, conv, m)


@router.get(NEED_THREAD + "/{message_id}/attachment", response_class=FileResponse, summary="A message's file")
def need_attachment(session: SessionDep, actor: CurrentActor, settings: SettingsDep, need_id: DbInt,
                    company_org_id: DbInt, message_id: DbInt) -> FileResponse:
    conv = _need_conv(session, actor, settings, need_id, company_org_id)
    return _file(*messages.open_attachment(session, conv, message_id, settings.attachments_dir))


# --- a partnership's conversation --------------------------------------------------------------------------------

ENG_THREAD = "/engagements/{engagement_id}/messages"


@router.get(ENG_THREAD, summary="A partnership's conversation (its parties; the commission for needs it brokered)")
def engagement_messages(session: SessionDep, actor: CurrentActor, settings: SettingsDep, page: PageDep,
                        engagement_id: DbInt) -> Page[MessagePublic]:
    return _page(session, actor, _eng_conv(session, actor, settings, engagement_id), page)


@router.post(ENG_THREAD, status_code=201, summary="Write in a partnership's conversation (its parties)")
def post_engagement_message(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
                            body: MessageCreate) -> MessagePublic:
    conv = _eng_conv(session, actor, settings, engagement_id)
    return _one(session, actor, conv, messages.post(session, actor, conv, body.body))


@router.post(ENG_THREAD + "/attachments", status_code=201, summary="Write with a file")
def post_engagement_attachment(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
                               file: Annotated[UploadFile, File()], body: Body = "") -> MessagePublic:
    conv = _eng_conv(session, actor, settings, engagement_id)
    m = messages.post_attachment(session, actor, conv, body, file.filename, file.content_type, file.file,
                                 folder=settings.attachments_dir, max_bytes=settings.max_attachment_bytes)
    return _one(session, actor, conv, m)


@router.get(ENG_THREAD + "/{message_id}/attachment", response_class=FileResponse, summary="A message's file")
def engagement_attachment(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
                          message_id: DbInt) -> FileResponse:
    conv = _eng_conv(session, actor, settings, engagement_id)
    return _file(*messages.open_attachment(session, conv, message_id, settings.attachments_dir))
