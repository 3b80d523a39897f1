"""The industry map's demo data (issue 20): places, chain links, chain leaders and platform resources for the demo
world's organisations, from data/industry_demo.json, through the services. Idempotent: a place is set again only
when it differs, a link, leader or resource is found by its natural key before it is made."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select

from app.models import Organisation, User
from app.models.enums import OrgKind, Role
from app.models.industry import (
    ChainLeader,
    ChainLeaderSet,
    ChainLink,
    ChainLinkAnswer,
    ChainLinkCreate,
    LinkStatus,
    PlaceSet,
    PlatformResource,
    ResourceCreate,
)
from app.policy import Actor
from app.services import events
from app.services.industry import links, places, resources

INDUSTRY_DEMO = Path(__file__).parent / "data" / "industry_demo.json"
_ROLE = {OrgKind.hospital: Role.hospital_staff, OrgKind.commission: Role.commission}


def _actor(session: Session, org: Organisation) -> Actor:
    """The org's first user (or its role alone) acts for the loader, as in seed.loader."""
    user = session.exec(select(User).where(User.organisation_id == org.id).order_by(User.id)).first()
    role = _ROLE.get(OrgKind(org.kind), Role.company_staff)
    return Actor(user_id=user.id if user else None, organisation_id=org.id, org_kind=OrgKind(org.kind), role=role,
                 request_id="seed")


def load_industry(session: Session, org_ids: dict[str, int], path: Path = INDUSTRY_DEMO) -> dict[str, int]:
    """``org_ids``: the demo world's organisation keys → ids. Returns what was created."""
    data = json.loads(path.read_text(encoding="utf-8"))
    orgs = {k: session.get(Organisation, v) for k, v in org_ids.items()}
    made = {"places": 0, "links": 0, "leaders": 0, "resources": 0}
    events_before = events.last_id(session)
    have = places.places_by_org(session)
    for p in data["places"]:
        body = PlaceSet(**{k: v for k, v in p.items() if k != "org"})
        old = have.get(orgs[p["org"]].id)
        if old is None or any(getattr(old, k) != v for k, v in body.model_dump().items()):
            places.set_place(session, None, orgs[p["org"]].id, body)
            made["places"] += old is None
    for x in data["links"]:
        a, b = orgs[x["from"]], orgs[x["to"]]
        if session.exec(select(ChainLink).where(ChainLink.from_org_id == a.id, ChainLink.to_org_id == b.id,
                                                ChainLink.kind == x["kind"])).first():
            continue
        proposer = orgs[x["proposed_by"]]
        link = links.propose(session, _actor(session, proposer), ChainLinkCreate(
            from_org_id=a.id, to_org_id=b.id, kind=x["kind"], track=x.get("track"), note=x.get("note", "")))
        if x["status"] != LinkStatus.pending:
            other = b if proposer.id == a.id else a
            links.answer(session, _actor(session, other), link.id,
                         ChainLinkAnswer(confirm=x["status"] == LinkStatus.confirmed))
        made["links"] += 1
    for ld in data["leaders"]:
        org = orgs[ld["org"]]
        if not session.exec(select(ChainLeader).where(ChainLeader.track == ld["track"],
                                                      ChainLeader.organisation_id == org.id)).first():
            links.set_leader(session, None, ChainLeaderSet(track=ld["track"], organisation_id=org.id))
            made["leaders"] += 1
    for r in data["resources"]:
        org = orgs[r["org"]]
        if session.exec(select(PlatformResource).where(PlatformResource.organisation_id == org.id,
                                                       PlatformResource.name == r["name"])).first():
            continue
        resources.create(session, _actor(session, org), ResourceCreate(**{k: v for k, v in r.items() if k != "org"}))
        made["resources"] += 1
    session.flush()
    # the demo's links describe relationships that exist already: recorded, not news to notify anybody of
    events.mark_processed(session, events_before, "chain_link.")
    return made
