"""Who may see and do what: every authorisation rule in one place.

List endpoints and detail endpoints use the same visibility clauses, so a list can never show a row that its
detail endpoint would hide (and vice versa). What a caller may not see is reported as 404, never 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import true
from sqlalchemy.sql.elements import ColumnElement

from app.errors import Forbidden
from app.models import Capability, Need
from app.models.enums import COMPANY_KINDS, CapabilityStatus, Confidentiality, NeedStatus, OrgKind, Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None: the operator's CLI or the seed loader acting for an organisation
    organisation_id: int
    org_kind: OrgKind
    role: Role
    request_id: str | None = None

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.commission, Role.admin)


def require_role(actor: Actor, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise Forbidden(f"This action needs one of the roles: {allowed}.")


# --- needs -------------------------------------------------------------------------------------------------------

def need_visible(actor: Actor) -> ColumnElement[bool]:
    """SQL clause: the needs this actor may read."""
    if actor.reads_everything:
        return true()
    if actor.role == Role.hospital_staff:
        return Need.hospital_id == actor.organisation_id
    if actor.role == Role.company_staff:
        return Need.status == NeedStatus.open
    return Need.id == -1  # pragma: no cover - unknown role sees nothing


def can_manage_need(actor: Actor, need: Need) -> bool:
    return actor.role == Role.hospital_staff and need.hospital_id == actor.organisation_id


def hospital_identity_visible(actor: Actor, need: Need) -> bool:
    """Anonymous needs hide the hospital from companies (until the hospital accepts a partner: workflow)."""
    if need.confidentiality == Confidentiality.public or actor.reads_everything:
        return True
    return actor.role == Role.hospital_staff and need.hospital_id == actor.organisation_id


# --- capabilities ------------------------------------------------------------------------------------------------

def capability_visible(actor: Actor) -> ColumnElement[bool]:
    if actor.reads_everything:
        return true()
    if actor.role == Role.hospital_staff:
        return Capability.status == CapabilityStatus.active
    if actor.role == Role.company_staff:
        return Capability.organisation_id == actor.organisation_id
    return Capability.id == -1  # pragma: no cover


def can_manage_capability(actor: Actor, cap: Capability) -> bool:
    return actor.role == Role.company_staff and cap.organisation_id == actor.organisation_id


def require_company(actor: Actor) -> None:
    require_role(actor, Role.company_staff)
    if actor.org_kind not in COMPANY_KINDS:  # pragma: no cover - guarded at user creation
        raise Forbidden("Only enterprises, labs and platforms register capabilities.")
