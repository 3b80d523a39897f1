"""People invited by e-mail (admins; the commission for the working roles): the same service as the admin pages.
Under /user-invitations: /invitations are the partnerships' invitations to take part."""

from fastapi import APIRouter, Request, Response

from app.deps import CurrentActor, SessionDep
from app.models.common import DbInt
from app.models.user import Invitation, InvitationCreate, InvitationPublic
from app.services import accounts

router = APIRouter(prefix="/user-invitations", tags=["users"])


def _public(inv: Invitation) -> InvitationPublic:
    return InvitationPublic.model_validate({**inv.model_dump(), "status": accounts.status(inv)})


@router.get("", summary="Invitations sent (admin: all; the commission: those into non-admin roles)")
def list_invitations(session: SessionDep, actor: CurrentActor) -> list[InvitationPublic]:
    return [_public(i) for i in accounts.list_invitations(session, actor)]


@router.post("", status_code=201, summary="Invite a person by e-mail; the link in the e-mail sets their password "
                                          "once and expires (the token is never in this answer)")
def invite(request: Request, session: SessionDep, actor: CurrentActor, body: InvitationCreate) -> InvitationPublic:
    inv, _token = accounts.invite(session, actor, request.app.state.settings, accounts.InvitationRequest(
        email=body.email, role=body.role, organisation_id=body.organisation_id, full_name=body.full_name,
        language=body.language.value))
    return _public(inv)


@router.delete("/{invitation_id}", status_code=204, summary="Withdraw an invitation: its link stops working")
def withdraw(session: SessionDep, actor: CurrentActor, invitation_id: DbInt) -> Response:
    accounts.revoke_invitation(session, actor, invitation_id)
    return Response(status_code=204)
