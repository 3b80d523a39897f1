from fastapi import APIRouter

from app.deps import CurrentActor, SessionDep
from app.models.organisation import OrganisationPublic
from app.models.user import UserPublic
from app.services import organisations, users

router = APIRouter(tags=["me"])


@router.get("/me", summary="The signed-in user, their organisation and role")
def me(session: SessionDep, actor: CurrentActor) -> dict:
    user = users.get_user(session, actor.user_id)
    org = organisations.get(session, actor.organisation_id)
    return {"user": UserPublic.model_validate(user), "organisation": OrganisationPublic.model_validate(org)}
