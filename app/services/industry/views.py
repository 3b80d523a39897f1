"""The map (organisations as GeoJSON points) and the chain graph (organisations, their links, the leaders) as the
actor may see them: needs and capabilities are counted through the policy's visibility rules, so an anonymous need
neither counts for its hospital nor gives it a track in the eyes of those who may not see that hospital."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, select

from app.models import Capability, Need, Organisation
from app.models.enums import CapabilityStatus, NeedStatus, OrgKind
from app.models.industry import ChainLink, LinkStatus, PlatformResource
from app.policy import Actor, capability_visible, chain_link_visible, hospital_identity_visible_many, need_visible
from app.services.analytics import region_matches
from app.services.industry import geo, links, places
from app.services.industry.areas import AREAS


@dataclass
class OrgInfo:
    org: Organisation
    tracks: set[str] = field(default_factory=set)
    capabilities: int = 0
    open_needs: int = 0
    resources: int = 0
    links: int = 0
    leader_of: set[str] = field(default_factory=set)


def org_infos(session: Session, actor: Actor) -> dict[int, OrgInfo]:
    """Every organisation with the tracks and counts the actor may see."""
    info = {o.id: OrgInfo(o) for o in session.exec(select(Organisation))}
    for org_id, tracks in session.execute(select(Capability.organisation_id, Capability.tracks).where(
            Capability.status == CapabilityStatus.active, capability_visible(actor))):
        info[org_id].capabilities += 1
        info[org_id].tracks.update(tracks)
    open_needs = list(session.exec(select(Need).where(Need.status == NeedStatus.open, need_visible(actor))))
    shown = hospital_identity_visible_many(actor, open_needs, session)
    for n in open_needs:
        if n.id in shown:
            info[n.hospital_id].open_needs += 1
            info[n.hospital_id].tracks.update(n.tracks)
    for (org_id,) in session.execute(select(PlatformResource.organisation_id).where(PlatformResource.active.is_(True))):
        info[org_id].resources += 1
    for a, b in session.execute(select(ChainLink.from_org_id, ChainLink.to_org_id).where(
            ChainLink.status == LinkStatus.confirmed)):
        info[a].links += 1
        info[b].links += 1
    for row in links.leaders(session):
        info[row.organisation_id].leader_of.add(row.track)
        info[row.organisation_id].tracks.add(row.track)
    return info


def map_collection(session: Session, actor: Actor, track: str | None = None, kind: str | None = None,
                   region: str | None = None) -> dict:
    """A GeoJSON FeatureCollection of the organisations with a place (``unplaced``: how many matched the filters
    without one). Each point lies inside its area's boundary."""
    info = org_infos(session, actor)
    all_places = places.places_by_org(session)
    ranks = places.default_ranks(all_places)
    features, unplaced = [], 0
    for org_id, i in sorted(info.items()):
        o = i.org
        if (kind and o.kind != kind) or not region_matches(o.region, region) or (track and track not in i.tracks):
            continue
        p = all_places.get(org_id)
        if p is None:
            unplaced += 1
            continue
        lon, lat, exact = places.point(p, ranks.get(org_id, 0))
        a = AREAS[p.area]
        features.append({
            "type": "Feature", "id": org_id, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": org_id, "name": o.display_name, "name_zh": o.name_zh, "name_en": o.name_en,
                           "kind": o.kind, "region": o.region, "area": p.area, "area_name": a.name_zh,
                           "area_name_en": a.name_en, "park": p.park, "exact": exact,
                           "tracks": sorted(i.tracks), "leader_of": sorted(i.leader_of),
                           "counts": {"capabilities": i.capabilities, "resources": i.resources,
                                      "open_needs": i.open_needs, "links": i.links}}})
    # the map opens on the region asked for (all 23 areas otherwise)
    shown = [a.code for a in AREAS.values() if region_matches(a.region.value, region)] if region else None
    return {"type": "FeatureCollection", "bbox": list(geo.extent(shown or None)), "features": features,
            "unplaced": unplaced}


def chain(session: Session, actor: Actor, track: str | None = None) -> dict:
    """The chain graph: nodes (the track's organisations, link ends and leaders), the confirmed declared links (a
    link without a track belongs to the tracks of its ends) and the links partnerships imply."""
    info = org_infos(session, actor)

    def in_track(org_id: int) -> bool:
        return track is None or track in info[org_id].tracks

    edges = []
    for x in session.exec(select(ChainLink).where(ChainLink.status == LinkStatus.confirmed, chain_link_visible(actor))
                          .order_by(ChainLink.id)):
        if track is None or x.track == track or (x.track is None and (in_track(x.from_org_id)
                                                                       or in_track(x.to_org_id))):
            edges.append({"source": x.from_org_id, "target": x.to_org_id, "kind": x.kind, "origin": "declared",
                          "link_id": x.id, "track": x.track})
    implied: dict[tuple[int, int, str], list[int]] = {}  # two partnerships between the same pair: one edge
    for d in links.derived_links(session, actor):
        if track is None or track in d.tracks:
            implied.setdefault((d.source, d.target, d.kind), []).append(d.engagement_id)
    for (a, b, kind), engs in implied.items():
        edges.append({"source": a, "target": b, "kind": kind, "origin": "partnership", "engagement_ids": engs,
                      "track": track})
    leaders = links.leaders(session, track)
    ids = {e["source"] for e in edges} | {e["target"] for e in edges} | {r.organisation_id for r in leaders}
    if track is not None:
        ids |= {i for i, x in info.items() if track in x.tracks}
    ids = {i for i in ids if info[i].org.kind != OrgKind.commission}
    all_places = places.places_by_org(session, ids)
    lead_ids = {r.organisation_id for r in leaders}
    nodes = []
    for i in sorted(ids):
        o, p = info[i].org, all_places.get(i)
        nodes.append({"id": i, "name": o.display_name, "name_zh": o.name_zh, "name_en": o.name_en, "kind": o.kind,
                      "region": o.region, "area": p.area if p else None, "tracks": sorted(info[i].tracks),
                      "leader": i in lead_ids})
    return {"track": track, "nodes": nodes, "links": edges,
            "leaders": [{"organisation_id": r.organisation_id, "name": info[r.organisation_id].org.display_name,
                         "name_en": info[r.organisation_id].org.name_en, "track": r.track} for r in leaders]}
