"""Idempotent loaders. Re-running creates nothing twice: records are found by their natural keys."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select
from tqdm import tqdm

from app.db import session_scope
from app.jobs.match_backfill import backfill
from app.jobs.outbox import dispatch_events
from app.models import Capability, Engagement, EngagementParticipant, Need, Organisation, User
from app.models.capability import CapabilityCreate
from app.models.common import as_utc
from app.models.engagement import EngagementCreate, MilestoneCreate, ParticipantCreate, TransitionCreate
from app.models.enums import OrgKind, Role
from app.models.event import EventType
from app.models.need import NeedCreate
from app.models.organisation import OrganisationCreate
from app.models.user import TokenCreate, UserCreate
from app.policy import Actor
from app.services import capabilities, engagements, events, needs, organisations, users
from seed.industry import load_industry

DEMO_WORLD = Path(__file__).parent / "data" / "demo_world.json"
ORG_ROLE = {OrgKind.hospital: Role.hospital_staff, OrgKind.enterprise: Role.company_staff,
            OrgKind.lab: Role.company_staff, OrgKind.platform: Role.company_staff, OrgKind.commission: Role.commission}


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=lambda: {"organisations": 0, "users": 0, "needs": 0,
                                                             "capabilities": 0, "engagements": 0})
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # (email, role, secret) for new users
    ids: dict[str, int] = field(default_factory=dict)  # "need:<key>" / "capability:<key>" / "org:<key>" /
    #                                                      "engagement:<key>" -> id


def _org(session: Session, rep: SeedReport, data: dict) -> Organisation:
    q = select(Organisation).where(Organisation.kind == data["kind"])
    q = q.where(Organisation.name_zh == data["name_zh"]) if data.get("name_zh") else q.where(
        Organisation.name_en == data["name_en"])
    org = session.exec(q).first()
    if org is None:
        fields = {k: data.get(k) for k in ("kind", "name_zh", "name_en", "region", "contact_email", "contact_phone")}
        org = organisations.create(session, None, OrganisationCreate(**fields, description=data.get("description", "")))
        rep.created["organisations"] += 1
    return org


def _actor_for(session: Session, org: Organisation) -> Actor:
    """The org's first user acts for the loader; an org without users acts through its role alone."""
    user = session.exec(select(User).where(User.organisation_id == org.id).order_by(User.id)).first()
    role = Role(user.role) if user and user.role != Role.admin else ORG_ROLE[OrgKind(org.kind)]
    return Actor(user_id=user.id if user else None, organisation_id=org.id, org_kind=OrgKind(org.kind), role=role,
                 request_id="seed")


def _need(session: Session, rep: SeedReport, org: Organisation, data: dict) -> Need:
    key = (Need.external_ref == data["external_ref"]) if data.get("external_ref") else (Need.title == data["title"])
    need = session.exec(select(Need).where(Need.hospital_id == org.id, key)).first()
    if need is None:
        body = NeedCreate.model_validate({k: v for k, v in data.items() if k not in ("key", "org", "opened_at")})
        need = needs.create_need(session, _actor_for(session, org), body)
        if data.get("opened_at") and need.opened_at is not None:  # history: published when it really was
            need.opened_at = as_utc(datetime.fromisoformat(data["opened_at"]))
            session.add(need)
        rep.created["needs"] += 1
    return need


def _capability(session: Session, rep: SeedReport, org: Organisation, data: dict) -> Capability:
    key = (Capability.external_ref == data["external_ref"]) if data.get("external_ref") else (
        Capability.title == data["title"])
    cap = session.exec(select(Capability).where(Capability.organisation_id == org.id, key)).first()
    if cap is None:
        body = CapabilityCreate.model_validate({k: v for k, v in data.items() if k not in ("key", "org")})
        cap = capabilities.create_capability(session, _actor_for(session, org), body)
        rep.created["capabilities"] += 1
    return cap


def load_demo_world(session: Session, path: Path = DEMO_WORLD, partnerships: bool = True) -> SeedReport:
    """Organisations, users (with tokens), needs and capabilities; then the partnerships, unless ``partnerships`` is
    false (``clinmatch seed`` matches and notifies first, as it happened, and replays the partnerships after)."""
    world = json.loads(path.read_text(encoding="utf-8"))
    rep = SeedReport()
    orgs = {}
    for o in world["organisations"]:
        orgs[o["key"]] = _org(session, rep, o)
        rep.ids[f"org:{o['key']}"] = orgs[o["key"]].id
    for u in world["users"]:
        if session.exec(select(User).where(User.email == u["email"].lower())).first():
            continue
        user = users.create_user(session, None, UserCreate(email=u["email"], full_name=u.get("full_name", ""),
                                                           role=u["role"], organisation_id=orgs[u["org"]].id))
        _, secret = users.issue_token(session, None, user.id, TokenCreate(name="demo"))
        rep.created["users"] += 1
        rep.tokens.append((user.email, user.role, secret))
    session.flush()
    for n in world["needs"]:
        rep.ids[f"need:{n['key']}"] = _need(session, rep, orgs[n["org"]], n).id
    for c in world["capabilities"]:
        rep.ids[f"capability:{c['key']}"] = _capability(session, rep, orgs[c["org"]], c).id
    session.flush()
    load_industry(session, {k: o.id for k, o in orgs.items()})  # places, chain links, platform resources
    if partnerships:
        load_demo_partnerships(session, rep, path)
    return rep


def load_demo_partnerships(session: Session, rep: SeedReport, path: Path = DEMO_WORLD) -> SeedReport:
    """The demo partnerships, carried through their recorded steps (after ``load_demo_world``)."""
    world = json.loads(path.read_text(encoding="utf-8"))
    orgs = {o["key"]: session.get(Organisation, rep.ids[f"org:{o['key']}"]) for o in world["organisations"]}
    events_before = events.last_id(session)
    for e in world.get("engagements", []):
        rep.ids[f"engagement:{e['key']}"] = _engagement(session, rep, orgs, e).id
    session.flush()
    # The partnerships' steps replay history (2021-2025): recorded, but not news to notify anybody of.
    events.mark_processed(session, events_before, "engagement.", EventType.need_status_changed)
    return rep


def _engagement(session: Session, rep: SeedReport, orgs: dict[str, Organisation], data: dict) -> Engagement:
    """A partnership carried through its recorded steps with the services (acceptances, participants, milestones,
    transitions), each by the organisation that takes it. Found again by (need, lead company): created once."""
    need = session.get(Need, rep.ids[f"need:{data['need']}"])
    cap = session.get(Capability, rep.ids[f"capability:{data['capability']}"])
    eng = session.exec(select(Engagement).where(Engagement.need_id == need.id,
                                                Engagement.lead_org_id == cap.organisation_id)).first()
    if eng is not None:
        return eng
    proposer = session.get(Organisation, need.hospital_id if data["proposed_by"] == "hospital" else cap.organisation_id)
    eng = engagements.create_engagement(session, _actor_for(session, proposer),
                                        EngagementCreate(need_id=need.id, capability_id=cap.id,
                                                         comment=data.get("comment", ""),
                                                         occurred_at=data.get("occurred_at")))
    for step in data["steps"]:
        actor = _actor_for(session, orgs[step["by"]])
        if "accept" in step:
            engagements.accept(session, actor, eng.id, eng.version)
        elif "participant" in step:
            p = step["participant"]
            engagements.add_participant(session, actor, eng.id,
                                        ParticipantCreate(organisation_id=orgs[p["org"]].id, role=p["role"]),
                                        eng.version)
            # the demo's participants took part: each accepts its invitation
            invited = session.exec(select(EngagementParticipant).where(
                EngagementParticipant.engagement_id == eng.id,
                EngagementParticipant.organisation_id == orgs[p["org"]].id,
                EngagementParticipant.role == p["role"])).one()
            engagements.answer_invitation(session, _actor_for(session, orgs[p["org"]]), invited.id, accept=True)
        elif "milestone" in step:
            m = step["milestone"]
            engagements.add_milestone(session, actor, eng.id, MilestoneCreate.model_validate(
                {**m, "responsible_org_id": orgs[step.get("responsible", step["by"])].id}))
        else:
            engagements.transition(session, actor, eng.id,
                                   TransitionCreate(target=step["to"], comment=step.get("comment", ""),
                                                    occurred_at=step.get("occurred_at")), eng.version)
    rep.created["engagements"] += 1
    return eng


def load_dataset(session: Session, folder: Path, progress: bool = True) -> SeedReport:
    """Load a dataset in the evaluation format (needs.jsonl, capabilities.jsonl) as open needs and capabilities.
    Records keep the dataset's ids as ``external_ref`` (the natural key: titles repeat in real sets)."""
    rep = SeedReport()
    orgs: dict[tuple, Organisation] = {}

    def org_for(spec: dict) -> Organisation:
        key = tuple(sorted(spec.items()))
        if key not in orgs:
            orgs[key] = _org(session, rep, spec)
        return orgs[key]

    needs_rows = [json.loads(line) for line in (folder / "needs.jsonl").read_text("utf-8").splitlines() if line.strip()]
    caps_rows = [json.loads(line) for line in (folder / "capabilities.jsonl").read_text("utf-8").splitlines()
                 if line.strip()]
    bar = tqdm(total=len(needs_rows) + len(caps_rows), desc=f"seed {folder.name}", unit="rec", disable=not progress,
               file=os.sys.stderr)
    for r in needs_rows:
        name = r.get("hospital") or "Unnamed hospital"
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in name)
        org = org_for({"kind": "hospital", "name_zh" if zh else "name_en": name, "region": r.get("region") or "other"})
        data = {"title": r["title"][:300], "description": r["description"] or r["title"],
                "department": (r.get("department") or "")[:200], "external_ref": r["id"],
                "tracks": r.get("tracks") or ["digital_health"], "partner_types": r.get("partner_types") or ["enterprise"],
                "stages": r.get("stages") or [], "regions": [r["region"]] if r.get("region") else [],
                "language": r.get("language"), "status": "open"}
        rep.ids[f"need:{r['id']}"] = _need(session, rep, org, data).id
        bar.update()
    for r in caps_rows:
        name = r.get("org") or "Unnamed organisation"
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in name)
        org = org_for({"kind": r.get("org_type") or "enterprise", "name_zh" if zh else "name_en": name,
                       "region": r.get("region") or "other"})
        data = {"title": r["title"][:300], "description": r["description"] or r["title"], "external_ref": r["id"],
                "tracks": r.get("tracks") or ["digital_health"],
                "stages": r.get("stages") or [], "certifications": r.get("certifications") or [],
                "region": r.get("region") or None, "language": r.get("language")}
        rep.ids[f"capability:{r['id']}"] = _capability(session, rep, org, data).id
        bar.update()
    bar.close()
    session.flush()
    return rep


def seed(engine, index, settings, dataset: Path | None = None) -> tuple[SeedReport, dict, int]:
    """What ``clinmatch seed`` does: load (the demo world, or a dataset), embed and match what is new, fill the
    inboxes. The demo's partnerships are replayed after the matching and the notifications, as it happened: the
    needs were matched and told to the companies first. Returns (report, backfill stats, events notified)."""
    def notify() -> int:  # the inboxes fill now; the worker sends webhooks and e-mail
        told = 0
        while n := dispatch_events(engine, settings):
            told += n
        return told

    with session_scope(engine) as session:
        rep = load_dataset(session, dataset) if dataset else load_demo_world(session, partnerships=False)
    stats = backfill(engine, index, progress=True)
    told = notify()
    if dataset is None:
        with session_scope(engine) as session:
            load_demo_partnerships(session, rep)
        told += notify()
    return rep, stats, told
