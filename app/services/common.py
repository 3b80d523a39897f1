"""Helpers shared by the entity services: optimistic-concurrency updates and org references."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from app.errors import PreconditionRequired, VersionConflict
from app.i18n import msg
from app.models import Organisation
from app.models.common import utcnow
from app.models.need import OrgRef


def expected_version(body_version: int | None, if_match: str | None) -> int:
    """The version the client read: from the body or an ``If-Match: "N"`` header."""
    if body_version is not None:
        return body_version
    if if_match:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if raw.isascii() and raw.isdigit():  # not str.isdigit alone: '²' is a digit int() refuses
            return int(raw)
    raise PreconditionRequired(msg("Send the version you read, as 'version' in the body or an If-Match header."))


def check_version(obj: Any, expected: int) -> None:
    if obj.version != expected:
        raise VersionConflict(msg("Version {expected} is stale; the current version is {obj_version}. Reload and "
                                  "retry.", expected=expected, obj_version=obj.version),
                              current_version=obj.version)


def compare_and_swap(session: Session, model: Any, obj: Any, expected: int, values: dict[str, Any]) -> None:
    """UPDATE ... WHERE id = :id AND version = :expected; exactly one of two concurrent writers wins."""
    check_version(obj, expected)
    values = {**values, "version": expected + 1, "updated_at": utcnow()}
    res = session.execute(update(model).where(model.id == obj.id, model.version == expected).values(**values))
    if res.rowcount != 1:
        raise VersionConflict(msg("Somebody else changed this record meanwhile. Reload and retry."))
    session.refresh(obj)


def org_ref(org: Organisation) -> OrgRef:
    return OrgRef(id=org.id, name_zh=org.name_zh, name_en=org.name_en, region=org.region)


_o = Organisation.__table__
# The columns of an organisation that one-row reads show, in a Core statement built once: cheaper than the ORM row
# (docs/decisions.md, "Authentication and one-row reads").
_ORG_REF = select(_o.c.id, _o.c.name_zh, _o.c.name_en, _o.c.region, _o.c.kind).where(_o.c.id == bindparam("org_id"))


_ORG_REFS = select(_o.c.id, _o.c.name_zh, _o.c.name_en, _o.c.region, _o.c.kind).where(
    _o.c.id.in_(bindparam("org_ids", expanding=True)))


# The same columns loaded with a list's page (``listing.paginate(with_columns=ORG_REF_COLUMNS,
# join=org_ref_join(...))``): one statement instead of a second one after the page. An alias, so that a list that
# already joins organisations for a filter joins them once more without a clash.
_ref = _o.alias("ref_org")
ORG_REF_COLUMNS = tuple(c.label(f"ref_org_{c.key}") for c in (_ref.c.id, _ref.c.name_zh, _ref.c.name_en, _ref.c.region,
                                                                _ref.c.kind))


def org_ref_join(org_id_column) -> tuple[Any, Any]:
    """(table, on clause) of the outer join that ``ORG_REF_COLUMNS`` come from, for the rows' ``org_id_column``."""
    return _ref, _ref.c.id == org_id_column


def org_ref_from_columns(row) -> tuple[OrgRef, str] | None:
    """(reference, kind) from a row that ends with ``ORG_REF_COLUMNS`` (None when the outer join found none)."""
    org_id, name_zh, name_en, region, kind = row[-len(ORG_REF_COLUMNS):]
    if org_id is None:
        return None
    return OrgRef(id=org_id, name_zh=name_zh, name_en=name_en, region=region), kind


def org_refs_by_ids(session: Session, org_ids) -> dict[int, tuple[OrgRef, str]]:
    """{id: (reference, kind)} of several organisations in one Core statement (a list page's)."""
    if not org_ids:
        return {}
    return {r.id: (OrgRef(id=r.id, name_zh=r.name_zh, name_en=r.name_en, region=r.region), r.kind)
            for r in session.execute(_ORG_REFS, {"org_ids": list(org_ids)})}


def org_ref_by_id(session: Session, org_id: int) -> tuple[OrgRef, str]:
    """(the organisation's reference, its kind)."""
    r = session.execute(_ORG_REF, {"org_id": org_id}).one()
    return OrgRef(id=r.id, name_zh=r.name_zh, name_en=r.name_en, region=r.region), r.kind
