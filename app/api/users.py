from fastapi import APIRouter, Response

from app.deps import CurrentActor, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.enums import Role
from app.models.user import SessionsRevoked, TokenCreate, TokenCreated, TokenPublic, UserCreate, UserPublic, UserUpdate
from app.services import users

router = APIRouter(tags=["users"])


@router.get("/users", summary="List users (admin)")
def list_users(session: SessionDep, actor: CurrentActor, page: PageDep, organisation_id: DbInt | None = None,
               role: Role | None = None) -> Page[UserPublic]:
    rows, total = users.list_users(session, actor, organisation_id, role, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("/users", status_code=201, summary="Create a user (admin)")
def create_user(session: SessionDep, actor: CurrentActor, body: UserCreate) -> UserPublic:
    return users.create_user(session, actor, body)


@router.get("/users/{user_id}", summary="One user (admin)")
def get_user(session: SessionDep, actor: CurrentActor, user_id: DbInt) -> UserPublic:
    return users.read_user(session, actor, user_id)


@router.patch("/users/{user_id}", summary="Update or deactivate a user (admin); deactivating ends all of the user's "
                                          "tokens and dashboard sessions")
def update_user(session: SessionDep, actor: CurrentActor, user_id: DbInt, body: UserUpdate) -> UserPublic:
    return users.update_user(session, actor, user_id, body)


@router.get("/users/{user_id}/tokens", summary="A user's tokens (admin, or the user)")
def list_tokens(session: SessionDep, actor: CurrentActor, user_id: DbInt) -> list[TokenPublic]:
    return users.list_tokens(session, actor, user_id)


@router.post("/users/{user_id}/tokens", status_code=201,
             summary="Issue a token (admin); the secret is returned once; expires_at, if given, in the future")
def create_token(session: SessionDep, actor: CurrentActor, user_id: DbInt, body: TokenCreate) -> TokenCreated:
    tok, secret = users.issue_token(session, actor, user_id, body)
    return TokenCreated(**TokenPublic.model_validate(tok).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=204, summary="Revoke a token (admin, or its owner)")
def revoke_token(session: SessionDep, actor: CurrentActor, token_id: DbInt) -> Response:
    users.revoke_token(session, actor, token_id)
    return Response(status_code=204)


@router.post("/users/{user_id}/revoke-sessions", summary="Revoke all of a user's tokens and dashboard sessions (admin)")
def revoke_sessions(session: SessionDep, actor: CurrentActor, user_id: DbInt) -> SessionsRevoked:
    tokens, sessions = users.revoke_everything(session, actor, user_id)
    return SessionsRevoked(tokens_revoked=tokens, sessions_revoked=sessions)
