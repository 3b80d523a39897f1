"""What the industry events tell whom (handlers for app.services.notifications.compose): a platform hears of a
booking request and its withdrawal, the requester of the platform's answer; the other side of a chain link hears of
the proposal, the proposer of the answer. Items are of kind 'industry', written in the recipient's language."""

from __future__ import annotations

from sqlmodel import Session

from app.config import Settings
from app.models import DomainEvent, Organisation
from app.models.event import EventType
from app.models.industry import BookingRequest, ChainLink, PlatformResource
from app.services.notifications import preferences

KIND = "industry"
_STATUS = {"accepted": ("已接受", "accepted"), "declined": ("已拒绝", "declined"), "withdrawn": ("已撤回", "withdrawn"),
           "confirmed": ("已确认", "confirmed")}
_LINK = {"supplies": ("供应部件/材料", "supplies components or materials to"),
         "contract_manufacturer": ("受托生产", "is contract manufacturer for"),
         "animal_trials": ("承担动物实验", "runs animal trials for"),
         "clinical_partner": ("临床合作", "is clinical partner of"), "distributor": ("经销", "distributes for")}


def _lang(session: Session, org_id: int) -> int:
    return 0 if preferences.for_org(session, org_id).language == "zh" else 1


def _name(session: Session, org_id: int) -> str:
    org = session.get(Organisation, org_id)
    return org.display_name if org else f"#{org_id}"


def _on_booking(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    b = session.get(BookingRequest, ev.payload["booking_id"])
    res = session.get(PlatformResource, b.resource_id)
    link = f"{settings.public_base_url}/api/v1/industry/bookings/{b.id}"
    out = {}
    for org_id in ev.organisation_ids:
        i = _lang(session, org_id)
        if ev.type == EventType.booking_requested:
            who = _name(session, b.requester_org_id)
            text = (f"{who} 申请预约 {res.name}", f"{who} asks to book {res.name}")[i]
        else:
            state = _STATUS.get(b.status, (b.status, b.status))[i]
            text = (f"预约申请（{res.name}）{state}", f"The booking request for {res.name} was {state}")[i]
        out[org_id] = [{"kind": KIND, "event": ev.type, "booking_id": b.id, "text": text, "comment": b.message,
                        "link": link}]
    return out


def _on_link(session: Session, settings: Settings, ev: DomainEvent) -> dict[int, list[dict]]:
    x = session.get(ChainLink, ev.payload["link_id"])
    if x is None:  # withdrawn before the worker got to it
        return {}
    a, b = _name(session, x.from_org_id), _name(session, x.to_org_id)
    link = f"{settings.public_base_url}/api/v1/industry/links/{x.id}"
    out = {}
    for org_id in ev.organisation_ids:
        i = _lang(session, org_id)
        what = (f"{a} 为 {b} {_LINK[x.kind][0]}", f"{a} {_LINK[x.kind][1]} {b}")[i]
        if ev.type == EventType.chain_link_proposed:
            text = (f"产业链关系待确认：{what}", f"A chain link awaits your confirmation: {what}")[i]
        else:
            state = _STATUS.get(x.status, (x.status, x.status))[i]
            text = (f"产业链关系{state}：{what}", f"Chain link {state}: {what}")[i]
        out[org_id] = [{"kind": KIND, "event": ev.type, "link_id": x.id, "text": text, "link": link}]
    return out


HANDLERS = {EventType.booking_requested: _on_booking, EventType.booking_answered: _on_booking,
            EventType.chain_link_proposed: _on_link, EventType.chain_link_answered: _on_link}
