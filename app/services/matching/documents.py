"""Database rows -> the matching library's documents (the only place that builds them), and the hash of a
document's text that says when its stored vectors are stale."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable

from sqlmodel import Session, select

from app.models import Capability, Need, Organisation
from app.models.industry import PlatformResource
from matching import CapabilityDoc, NeedDoc
from matching.analyser import capability_fields, need_fields


def need_doc(need: Need) -> NeedDoc:
    statement = "\n".join(t for t in (need.clinical_problem, need.current_practice, need.shortcomings,
                                      need.affected_population, need.desired_outcome) if t)
    return NeedDoc(id=str(need.id), title=need.title, description=need.description, tracks=list(need.tracks),
                   partner_types=list(need.partner_types), stages=list(need.stages), regions=list(need.regions),
                   language=need.language, required_certifications=list(need.required_certifications),
                   extra_text=statement, department=need.department or "", specialties=list(need.specialties))


def capability_doc(cap: Capability, org: Organisation, resources: str = "") -> CapabilityDoc:
    """``resources``: the organisation's listed resources (``resources_text``), read with each of its capabilities."""
    return CapabilityDoc(id=str(cap.id), title=cap.title, description=cap.description, org_type=org.kind,
                         tracks=list(cap.tracks), stages=list(cap.stages), region=cap.region,
                         certifications=list(cap.certifications), language=cap.language,
                         org_name=org.name_zh or org.name_en or "", specialties=list(cap.specialties),
                         extra_text=resources)


def resources_text(session: Session, org_ids: Iterable[int]) -> dict[int, str]:
    """Per organisation, its active resources (instruments, animal models, certified facilities, pilot lines) as
    text: the matcher reads them with the organisation's capabilities, so a need asking for micro-CT finds the
    platform that lists one."""
    ids = set(org_ids)
    if not ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    for r in session.exec(select(PlatformResource).where(PlatformResource.organisation_id.in_(ids),
                                                          PlatformResource.active).order_by(PlatformResource.id)):
        words = [r.name, r.model, r.species, r.certification, r.capacity, r.description]
        out[r.organisation_id].append(" ".join(w.strip() for w in words if w and w.strip()))
    return {k: "\n".join(v) for k, v in out.items()}


def text_hash(doc: NeedDoc | CapabilityDoc) -> str:
    fields = need_fields(doc) if isinstance(doc, NeedDoc) else capability_fields(doc)
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def entity_of(doc: NeedDoc | CapabilityDoc) -> str:
    return "need" if isinstance(doc, NeedDoc) else "capability"
