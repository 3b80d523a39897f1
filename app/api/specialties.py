"""The clinical specialties a need or capability may name (the reviewed bilingual list)."""

from fastapi import APIRouter
from pydantic import BaseModel

from app.deps import CurrentActor
from matching.specialties import SPECIALTIES

router = APIRouter(prefix="/specialties", tags=["vocabularies"])


class SpecialtyPublic(BaseModel):
    code: str
    zh: str
    en: str
    parent: str | None


@router.get("", summary="The clinical specialties, in Chinese and English (for forms and filters)")
def list_specialties(actor: CurrentActor) -> list[SpecialtyPublic]:
    return [SpecialtyPublic(code=s.code, zh=s.zh, en=s.en, parent=s.parent) for s in SPECIALTIES.values()]
