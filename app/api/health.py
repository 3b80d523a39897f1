from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlmodel import Session

from app.errors import problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers and the schema is migrated")
def readyz(request: Request):
    try:
        with Session(request.app.state.engine) as s:
            rev = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as e:  # noqa: BLE001 - any DB failure means not ready
        return problem(503, "not-ready", f"Database not ready: {type(e).__name__}")
    return {"status": "ready", "schema_revision": rev}
