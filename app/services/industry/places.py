"""Places: which district or corridor city an organisation is in, and the point the map shows it at."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.errors import Conflict, Invalid
from app.i18n import msg
from app.models import Organisation
from app.models.common import utcnow
from app.models.industry import Place, PlacePublic, PlaceSet
from app.policy import Actor, may_set_place
from app.services import audit, organisations
from app.services.industry import geo
from app.services.industry.areas import AREAS, areas_of_region

ENTITY = "place"


def check_area(org: Organisation, area: str) -> None:
    """The area must be one of the 23 and agree with the organisation's region (Putuo is Putuo, another Shanghai
    district is 'shanghai', a corridor city is its own region)."""
    if area not in AREAS:
        raise Invalid("area", msg("Unknown area '{area}': a Shanghai district or a Jiangsu corridor city code.",
                                  area=area))
    if AREAS[area].region != org.region:
        allowed = ", ".join(areas_of_region(org.region)) or "-"
        raise Invalid("area", msg("The area '{area}' is not in the organisation's region '{region}'; choose one of: "
                                  "{allowed}.", area=area, region=org.region, allowed=allowed))


def set_place(session: Session, actor: Actor | None, org_id: int, body: PlaceSet) -> Place:
    """Create or replace the organisation's place. Coordinates, when given, must lie inside the area's boundary."""
    if actor is not None:
        may_set_place(actor, org_id)
    org = organisations.get(session, org_id)
    check_area(org, body.area)
    if body.lon is not None and not geo.contains(body.area, body.lon, body.lat):
        raise Invalid("lon", msg("The point ({lon}, {lat}) is outside {area}'s boundary.", lon=body.lon, lat=body.lat,
                                 area=body.area))
    place = session.exec(select(Place).where(Place.organisation_id == org_id)).first()
    values = body.model_dump()
    if place is None:
        place = Place(organisation_id=org_id, **values)
        session.add(place)
        try:
            session.flush()
        except IntegrityError as e:  # a concurrent first place of the same organisation
            raise Conflict(msg("The record is being changed by another request; retry.")) from e
        audit.record(session, actor, ENTITY, place.id, "create", audit.created_fields(place, list(values)))
        return place
    changes = audit.diff(place.model_dump(), values)
    if changes:
        for k, v in values.items():
            setattr(place, k, v)
        place.updated_at = utcnow()
        session.add(place)
        session.flush()
        audit.record(session, actor, ENTITY, place.id, "update", changes)
    return place


def places_by_org(session: Session, org_ids=None) -> dict[int, Place]:
    stmt = select(Place)
    if org_ids is not None:
        stmt = stmt.where(Place.organisation_id.in_(list(org_ids)))
    return {p.organisation_id: p for p in session.exec(stmt)}


def point(place: Place, rank: int) -> tuple[float, float, bool]:
    """(lon, lat, exact): the place's own coordinates, else the ``rank``-th default spot of its area."""
    if place.lon is not None and place.lat is not None:
        return place.lon, place.lat, True
    lon, lat = geo.spread(place.area, rank)
    return lon, lat, False


def default_ranks(places: dict[int, Place]) -> dict[int, int]:
    """Each place without coordinates gets its own default spot in its area (by organisation id: stable)."""
    seen: dict[str, int] = {}
    ranks = {}
    for org_id in sorted(places):
        p = places[org_id]
        if p.lon is None:
            ranks[org_id] = seen.get(p.area, 0)
            seen[p.area] = ranks[org_id] + 1
    return ranks


def to_public(place: Place, rank: int = 0) -> PlacePublic:
    lon, lat, exact = point(place, rank)
    a = AREAS[place.area]
    return PlacePublic(organisation_id=place.organisation_id, area=place.area, area_name=a.name_zh,
                       area_name_en=a.name_en, region=a.region.value, park=place.park, address=place.address,
                       lon=lon, lat=lat, exact=exact)


def get_public(session: Session, org_id: int) -> PlacePublic | None:
    organisations.get(session, org_id)  # 404 for an unknown organisation
    places = places_by_org(session)
    p = places.get(org_id)
    return to_public(p, default_ranks(places).get(org_id, 0)) if p else None
