from typing import Annotated

from fastapi import APIRouter, File, Response, UploadFile
from fastapi.responses import FileResponse

from app.deps import CurrentActor, IfMatch, PageDep, SessionDep, SettingsDep
from app.models.common import DbInt, Page
from app.models.engagement import (
    DocumentPublic,
    EngagementCreate,
    EngagementDetail,
    EngagementPublic,
    InvitationPublic,
    MilestoneCreate,
    MilestonePublic,
    ParticipantAdd,
    ParticipantStatus,
    TransitionCreate,
    TransitionPublic,
    VersionBody,
)
from app.services import engagements
from app.services.common import expected_version
from app.workflow import EngagementState

router = APIRouter(prefix="/engagements", tags=["engagements"])


def _detail(session, actor, eng, response: Response) -> EngagementDetail:
    response.headers["ETag"] = f'"{eng.version}"'
    return engagements.detail(session, actor, eng)


@router.get("", summary="Partnerships the caller is a party to (the commission: all), by state, need, organisation")
def list_engagements(session: SessionDep, actor: CurrentActor, page: PageDep, state: EngagementState | None = None,
                     need_id: DbInt | None = None, organisation_id: DbInt | None = None) -> Page[EngagementPublic]:
    f = engagements.EngagementFilters(state=state, need_id=need_id, organisation_id=organisation_id)
    rows, total = engagements.list_engagements(session, actor, f, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, summary="Propose a partnership from a match: need + the lead's capability "
                                          "(the hospital for its need, or the company for its capability)")
def create_engagement(session: SessionDep, actor: CurrentActor, body: EngagementCreate,
                      response: Response) -> EngagementDetail:
    eng = engagements.create_engagement(session, actor, body)
    response.headers["Location"] = f"/api/v1/engagements/{eng.id}"
    return _detail(session, actor, eng, response)


@router.get("/{engagement_id}", summary="One partnership with participants, milestones and history")
def get_engagement(session: SessionDep, actor: CurrentActor, engagement_id: DbInt,
                   response: Response) -> EngagementDetail:
    return _detail(session, actor, engagements.get_visible(session, actor, engagement_id), response)


@router.post("/{engagement_id}/accept", summary="The other side accepts the proposal; needs the version read")
def accept(session: SessionDep, actor: CurrentActor, engagement_id: DbInt, body: VersionBody, response: Response,
           if_match: IfMatch = None) -> EngagementDetail:
    eng = engagements.accept(session, actor, engagement_id, expected_version(body.version, if_match))
    return _detail(session, actor, eng, response)


@router.post("/{engagement_id}/transitions",
             summary="Move the partnership to a target state (the table and its guards decide); needs the version read")
def transition(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
               body: TransitionCreate, response: Response, if_match: IfMatch = None) -> EngagementDetail:
    eng = engagements.transition(session, actor, engagement_id, body, expected_version(body.version, if_match),
                                 frozenset(settings.evidence_documents_required))
    return _detail(session, actor, eng, response)


@router.get("/{engagement_id}/transitions", summary="The append-only history of state changes, oldest first")
def list_transitions(session: SessionDep, actor: CurrentActor, engagement_id: DbInt) -> list[TransitionPublic]:
    return engagements.history_public(session, actor, engagements.get_visible(session, actor, engagement_id))


@router.post("/{engagement_id}/participants",
             summary="Invite a participant with a role (hospital or lead company); it takes part once it accepts")
def add_participant(session: SessionDep, actor: CurrentActor, engagement_id: DbInt, body: ParticipantAdd,
                    response: Response, if_match: IfMatch = None) -> EngagementDetail:
    eng = engagements.add_participant(session, actor, engagement_id, body, expected_version(body.version, if_match))
    return _detail(session, actor, eng, response)


@router.get("/{engagement_id}/milestones", summary="The partnership's milestones with their documents")
def list_milestones(session: SessionDep, actor: CurrentActor, engagement_id: DbInt) -> list[MilestonePublic]:
    return engagements.milestones_public(session, actor, engagements.get_visible(session, actor, engagement_id))


@router.post("/{engagement_id}/milestones", status_code=201,
             summary="Record a milestone (hospital, lead company; participants their own)")
def add_milestone(session: SessionDep, actor: CurrentActor, engagement_id: DbInt,
                  body: MilestoneCreate) -> MilestonePublic:
    m = engagements.add_milestone(session, actor, engagement_id, body)
    eng = engagements.get_visible(session, actor, engagement_id)
    return next(x for x in engagements.milestones_public(session, actor, eng) if x.id == m.id)


@router.post("/{engagement_id}/milestones/{milestone_id}/documents", status_code=201,
             summary="Attach a file to a milestone (PDF, PNG, JPEG, DOCX, ZIP, text; size-limited)")
def attach_document(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
                    milestone_id: DbInt, file: Annotated[UploadFile, File()]) -> DocumentPublic:
    doc = engagements.attach_document(session, actor, engagement_id, milestone_id, file.filename or "",
                                      file.content_type, file.file, folder=settings.attachments_dir,
                                      max_bytes=settings.max_attachment_bytes)
    return engagements.document_public(session, actor, engagements.get_visible(session, actor, engagement_id), doc)


@router.get("/{engagement_id}/documents/{document_id}", response_class=FileResponse,
            summary="Download a document (the engagement's parties and the commission)")
def download_document(session: SessionDep, actor: CurrentActor, settings: SettingsDep, engagement_id: DbInt,
                      document_id: DbInt) -> FileResponse:
    doc, path = engagements.open_document(session, actor, engagement_id, document_id, settings.attachments_dir)
    return FileResponse(path, media_type=doc.content_type, filename=doc.filename,
                        headers={"ETag": f'"{doc.sha256}"', "X-Content-SHA256": doc.sha256,
                                 "X-Content-Type-Options": "nosniff"})


invitations = APIRouter(prefix="/invitations", tags=["engagements"])


@invitations.get("", summary="Invitations to take part in partnerships, to the caller's organisation")
def list_invitations(session: SessionDep, actor: CurrentActor, page: PageDep,
                     status: ParticipantStatus | None = None) -> Page[InvitationPublic]:
    rows, total = engagements.list_invitations(session, actor, status, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@invitations.post("/{invitation_id}/accept", summary="Accept an invitation: the organisation takes part from now on")
def accept_invitation(session: SessionDep, actor: CurrentActor, invitation_id: DbInt) -> InvitationPublic:
    return engagements.answer_invitation(session, actor, invitation_id, accept=True)


@invitations.post("/{invitation_id}/decline", summary="Decline an invitation")
def decline_invitation(session: SessionDep, actor: CurrentActor, invitation_id: DbInt) -> InvitationPublic:
    return engagements.answer_invitation(session, actor, invitation_id, accept=False)
