from fastapi import APIRouter

from app.deps import CurrentActor, PageDep, SessionDep
from app.models.common import DbInt, Page
from app.models.note import NoteCreate, NotePublic, NoteTarget
from app.services import notes

router = APIRouter(prefix="/notes", tags=["notes"])


@router.get("", summary="The commission's notes (commission, admin)")
def list_notes(session: SessionDep, actor: CurrentActor, page: PageDep, entity: NoteTarget | None = None,
               entity_id: DbInt | None = None) -> Page[NotePublic]:
    rows, total = notes.list_notes(session, actor, entity, entity_id, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)


@router.post("", status_code=201, summary="Add a note to a need, capability or organisation (commission, admin)")
def create_note(session: SessionDep, actor: CurrentActor, body: NoteCreate) -> NotePublic:
    return notes.create_note(session, actor, body)
