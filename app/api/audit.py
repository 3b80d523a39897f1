from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import CurrentActor, PageDep, SessionDep
from app.models.audit import AuditEventPublic
from app.models.common import DbInt, Page
from app.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", summary="The audit trail, read-only (commission, admin)")
def list_audit(session: SessionDep, actor: CurrentActor, page: PageDep,
               entity: Annotated[str | None, Query(max_length=40)] = None, entity_id: DbInt | None = None,
               user_id: DbInt | None = None,
               action: Annotated[str | None, Query(max_length=40)] = None) -> Page[AuditEventPublic]:
    rows, total = audit.list_events(session, actor, entity, entity_id, user_id, action, page)
    return Page(items=rows, total=total, limit=page.limit, offset=page.offset)
