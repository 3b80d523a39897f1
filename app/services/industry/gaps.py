"""Gaps (the investment-attraction list, 招商目录): open needs without a fitting partner inside a scope (Putuo,
Shanghai, or the corridor: Putuo and the seven Jiangsu cities), grouped by track and specialty, with what kind of
partner each gap asks for and the needs behind it.

"Fitting" is the analytics' definition, unchanged: a persisted match in the strong or possible band (matches stored
without a band count by ``fit_min_score``), of an active capability. A need whose only fitting partners are outside
the scope is a gap inside it; those partners are named (for whoever may read the need's matches) as the companies to
attract."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from app.models import Capability, MatchRecord, Need, Organisation
from app.models.enums import CapabilityStatus, NeedStatus
from app.policy import Actor, hospital_identity_visible_many, need_matches_readable, need_visible
from app.services.analytics import FIT_BANDS, JIANGSU

SCOPES: dict[str, frozenset[str]] = {
    "putuo": frozenset({"putuo"}),
    "shanghai": frozenset({"putuo", "shanghai"}),
    "corridor": frozenset({"putuo", *JIANGSU}),  # 七市一区
}
MAX_CANDIDATES = 5


def fitting_pairs(session: Session, need_ids: list[int], fit_min_score: float) -> list[tuple[int, int, str]]:
    """(need id, organisation id, organisation region) of every fitting match of these needs."""
    if not need_ids:
        return []
    fits = or_(MatchRecord.band.in_(FIT_BANDS), and_(MatchRecord.band.is_(None), MatchRecord.score >= fit_min_score))
    stmt = (select(MatchRecord.need_id, Organisation.id, Organisation.region)
            .join(Capability, Capability.id == MatchRecord.capability_id)
            .join(Organisation, Organisation.id == Capability.organisation_id)
            .where(fits, Capability.status == CapabilityStatus.active, MatchRecord.need_id.in_(need_ids)))
    return [(a, b, c) for a, b, c in session.execute(stmt)]


def compute(session: Session, actor: Actor, scope: str = "putuo", track: str | None = None,
            fit_min_score: float = 0.0) -> dict[str, Any]:
    inside = SCOPES[scope]
    needs = [n for n in session.exec(select(Need).where(Need.status == NeedStatus.open, need_visible(actor))
                                     .order_by(Need.id)) if track is None or track in n.tracks]
    covered, outside = set(), defaultdict(set)
    for need_id, org_id, region in fitting_pairs(session, [n.id for n in needs], fit_min_score):
        if region in inside:
            covered.add(need_id)
        else:
            outside[need_id].add(org_id)
    gap_needs = [n for n in needs if n.id not in covered]
    shown = hospital_identity_visible_many(actor, gap_needs, session)
    org_ids = {n.hospital_id for n in gap_needs} | {o for s in outside.values() for o in s}
    orgs = {o.id: o for o in session.exec(select(Organisation).where(Organisation.id.in_(org_ids)))} if org_ids else {}
    groups: dict[tuple[str, str], list[Need]] = defaultdict(list)
    for n in gap_needs:
        for t in n.tracks:
            if track is None or t == track:
                groups[(t, n.department.strip())].append(n)
    rows = []
    for (t, specialty), ns in groups.items():
        candidates: Counter[int] = Counter()
        for n in ns:
            if need_matches_readable(actor, n):
                candidates.update(outside.get(n.id, ()))
        rows.append({
            "track": t, "specialty": specialty or None, "needs": len(ns),
            "partner_types": dict(Counter(p for n in ns for p in n.partner_types).most_common()),
            "stages": dict(Counter(s for n in ns for s in n.stages).most_common()),
            "certifications": sorted({c for n in ns for c in n.required_certifications}),
            "candidates_outside": [{"id": o, "name": orgs[o].display_name, "region": orgs[o].region}
                                   for o, _ in sorted(candidates.items(), key=lambda x: (-x[1], x[0]))
                                   [:MAX_CANDIDATES]],
            "items": [{"need_id": n.id, "title": n.title,
                       "hospital": orgs[n.hospital_id].display_name if n.id in shown else None,
                       "hospital_id": n.hospital_id if n.id in shown else None,
                       "hospital_hidden": n.id not in shown, "department": n.department or None,
                       "opened_at": n.opened_at.isoformat() if n.opened_at else None} for n in ns]})
    rows.sort(key=lambda r: (-r["needs"], r["track"], r["specialty"] or ""))
    return {"scope": scope, "track": track, "open_needs": len(needs), "needs_without_fit": len(gap_needs),
            "gaps": rows}


CSV_HEADER = ["track", "specialty", "needs", "partner_types", "stages", "certifications", "candidates_outside",
              "need_ids", "need_titles", "hospitals"]


def _cell(v: Any) -> str:
    """A spreadsheet must not run a cell as a formula (a need title typed as '=HYPERLINK(...)')."""
    s = "" if v is None else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADER)
    for r in report["gaps"]:
        w.writerow([_cell(v) for v in (
            r["track"], r["specialty"], r["needs"],
            "; ".join(f"{k}:{v}" for k, v in r["partner_types"].items()),
            "; ".join(f"{k}:{v}" for k, v in r["stages"].items()), "; ".join(r["certifications"]),
            "; ".join(c["name"] for c in r["candidates_outside"]),
            " ".join(str(i["need_id"]) for i in r["items"]), " | ".join(i["title"] for i in r["items"]),
            " | ".join(i["hospital"] or "-" for i in r["items"]))])
    return buf.getvalue()
