"""Pipeline analytics for the commission: the one place every dashboard and API figure is computed.

Few queries (needs, organisations, engagements, transitions, milestone activity, matched needs, first company
interest), each a plain SELECT that runs the same on SQLite and PostgreSQL; everything else is Python aggregation
over those rows, in pure functions. The API (app/api/analytics.py) and the page (app/web/) both call ``report``.

Definitions (also in the API's description):
- a need is *filed* when it was published (``opened_at`` set); the date range, the month and the cohort are by
  ``opened_at``;
- *matched*: a fitting partner exists: a persisted match in the strong or possible band (calibrated confidence;
  without a band, a score at or above ``fit_min_score``);
  *interested*: a company marked one of its matches interested, or an
  engagement was proposed for the need; each engagement stage: some engagement of the need reached it (from the
  transition history, so an engagement that went on hold or ended later still counts for what it reached);
- the funnel is cumulative: a need counts at a step when it reached that step or any later one; a step's
  conversion is its count over the previous step's, ``overall`` its count over the needs filed;
- time in stage: per engagement, the completed stays in each device-path stage (entered and left), from the
  history's ``occurred_at`` (when each step happened, which may be earlier than when it was recorded); the stage
  it is in now is not counted; median and 90th percentile by linear interpolation, in days;
- stalled: an engagement in an active state (not clinical_use, withdrawn, terminated) with no transition and no
  milestone recorded for ``stale_days`` days or more;
- partnerships: every engagement with the furthest stage its history shows, furthest first;
- waiting: an open need with no interested company yet, open for ``stale_days`` days or more;
- region: the hospital's region; a need also belongs to the region of a lead partner of one of its engagements
  (cross-city cooperation counts on both sides); ``jiangsu`` is the seven corridor cities together;
- headline: open needs (status open) and those of them without a fitting partner (not matched), active
  partnerships by state, days from a need's publication to its first signed intent (``occurred_at``), partnerships
  brokered by the commission (an accepted introduction) against those the parties found through their matches;
- dates and months are Shanghai's (a filter's day starts at midnight in Shanghai);
- matching efficiency: the share of the open needs (status open) with an interested company, and time from
  publication to first interest.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlmodel import Session

from app.i18n import msg
from app.models import Engagement, EngagementTransition, MatchFeedback, MatchRecord, Milestone, Need, Organisation
from app.models.common import LOCAL_TZ
from app.models.enums import NeedStatus, Region, Role, Track
from app.policy import Actor, require_role
from app.workflow import time_in_states
from app.workflow.states import FINAL, PATH, STAGE_EQUIVALENT
from app.workflow.states import EngagementState as S

JIANGSU = ("nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang", "taizhou")
REGION_FILTERS = tuple(r.value for r in Region) + ("jiangsu",)
# The funnel: needs filed → matched → interested → each device-path stage after 'proposed'.
FUNNEL = ("filed", "matched", "interested") + tuple(s.value for s in PATH[1:])
# The engagement-level steps (partner breakdowns): proposed and every later stage.
ENGAGEMENT_STEPS = tuple(s.value for s in PATH)
DIMENSIONS = ("track", "hospital", "department", "partner", "region", "partner_region", "month")
_RANK = {s.value: i for i, s in enumerate(PATH)}  # proposed 0 … clinical_use 7
# other pathways' stages count as the device-path stage they stand in for (an IVD's clinical performance
# evaluation as clinical evaluation, a Class I filing or a hospital admission as registration)
_RANK.update({s.value: _RANK[eq.value] for s, eq in STAGE_EQUIVALENT.items()})
DAY = 86400.0
FIT_BANDS = ("strong", "possible")  # the bands that mean "a fitting partner" (matching.calibration)


# The dates a filter may name: wide enough for any real publication date, narrow enough that a day added or a
# datetime built from it never overflows (9999-12-31 + 1 day did: a 500).
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2100, 12, 31)


def date_in_range(d: date | None) -> date | None:
    if d is not None and not DATE_MIN <= d <= DATE_MAX:
        raise ValueError(msg("must be between {low} and {high}", low=DATE_MIN.isoformat(), high=DATE_MAX.isoformat()))
    return d


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    track: Track | None = None
    region: str | None = None  # a Region value or 'jiangsu'
    stale_days: int = 30
    # a need counts as matched (a fitting partner exists) with a persisted match scoring at least this
    # (CLINMATCH_FIT_MIN_SCORE; 0: any match)
    fit_min_score: float = 0.0


def require_reader(actor: Actor) -> None:
    """Commission and admin only."""
    require_role(actor, Role.commission, Role.admin)


def _raw(column):
    """A column read as its text (CAST … AS VARCHAR): SQLite stores text already, PostgreSQL renders timestamps and
    JSON as text far faster than its driver builds datetimes and lists row by row; parsed below."""
    return cast(column, String).label(column.key)


def _dt(v: str | datetime | None) -> datetime | None:
    """A stored UTC timestamp (text on SQLite, an aware datetime on PostgreSQL) as a naive UTC datetime: the
    aggregation works in naive UTC throughout (cheaper per row); ``_iso`` puts the offset back for output."""
    if v is None:
        return None
    if v.__class__ is str:
        v = datetime.fromisoformat(v)
    return v.astimezone(UTC).replace(tzinfo=None) if v.tzinfo else v


def _iso(v: datetime) -> str:
    return v.isoformat() + "+00:00"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / DAY, 2)


def region_matches(region: str | None, wanted: str | None) -> bool:
    if wanted is None:
        return True
    if wanted == "jiangsu":
        return region in JIANGSU
    return region == wanted


# --- loading: a handful of queries ------------------------------------------------------------------------------

@dataclass
class Org:
    id: int
    name_zh: str | None
    name_en: str | None
    region: str
    kind: str

    @property
    def name(self) -> str:
        return self.name_zh or self.name_en or f"#{self.id}"


@dataclass(slots=True)
class NeedRow:
    id: int
    title: str
    hospital_id: int
    department: str
    tracks: list[str]
    status: str
    opened_at: datetime
    matched: bool = False
    first_interest: datetime | None = None
    furthest: int = -1  # index into FUNNEL


@dataclass(slots=True)
class EngRow:
    id: int
    need_id: int
    hospital_id: int
    lead_org_id: int
    state: str
    held_from: str | None
    created_at: datetime
    brokered: bool = False
    steps: list[tuple[str, datetime]] = field(default_factory=list)  # (to_state, occurred_at), oldest first
    last_milestone: datetime | None = None
    milestones: int = 0

    @property
    def reached(self) -> int:
        """The furthest device-path stage the history shows (index into PATH)."""
        return max((_RANK[s] for s, _ in self.steps if s in _RANK), default=0)

    @property
    def last_activity(self) -> datetime:
        times = [t for _, t in self.steps[-1:]] + ([self.last_milestone] if self.last_milestone else [])
        return max(times) if times else self.created_at


@dataclass
class Snapshot:
    now: datetime
    filters: Filters
    orgs: dict[int, Org]
    needs: list[NeedRow]
    engagements: list[EngRow]


def load(session: Session, f: Filters, now: datetime | None = None) -> Snapshot:
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    conn = session.connection()  # Core rows: no ORM loading per row
    orgs = {r.id: Org(r.id, r.name_zh, r.name_en, r.region, r.kind) for r in conn.execute(
        select(Organisation.id, Organisation.name_zh, Organisation.name_en, Organisation.region, Organisation.kind))}
    q = select(Need.id, Need.title, Need.hospital_id, Need.department, _raw(Need.tracks), Need.status,
               _raw(Need.opened_at)) \
        .where(Need.opened_at.is_not(None))
    # days are Shanghai's: a need published at 07:00 on the 2nd in Shanghai (23:00 on the 1st UTC) is the 2nd's
    if f.date_from:
        q = q.where(Need.opened_at >= datetime.combine(f.date_from, datetime.min.time(), tzinfo=LOCAL_TZ))
    if f.date_to:
        q = q.where(Need.opened_at < datetime.combine(f.date_to + timedelta(days=1), datetime.min.time(),
                                                      tzinfo=LOCAL_TZ))
    tracks_of: dict[Any, list[str]] = {}  # few distinct track lists: parse each once

    def tracks(v) -> list[str]:
        key = v if isinstance(v, str) else tuple(v or ())
        if key not in tracks_of:
            tracks_of[key] = list(json.loads(v) if isinstance(v, str) else (v or []))
        return tracks_of[key]

    needs = {r.id: NeedRow(r.id, r.title, r.hospital_id, r.department or "", tracks(r.tracks), r.status,
                           _dt(r.opened_at)) for r in conn.execute(q)}
    if f.track:
        needs = {i: n for i, n in needs.items() if f.track in n.tracks}

    engs: dict[int, EngRow] = {}
    for r in conn.execute(select(Engagement.id, Engagement.need_id, Engagement.hospital_id, Engagement.lead_org_id,
                                    Engagement.state, Engagement.held_from, _raw(Engagement.created_at),
                                    Engagement.brokered_by_org_id)):
        if r.need_id in needs:
            engs[r.id] = EngRow(r.id, r.need_id, r.hospital_id, r.lead_org_id, r.state, r.held_from,
                                _dt(r.created_at), r.brokered_by_org_id is not None)
    if f.region:
        def hosp_in(hid: int) -> bool:
            return region_matches(orgs[hid].region if hid in orgs else None, f.region)

        engs = {i: e for i, e in engs.items()
                if hosp_in(e.hospital_id) or region_matches(orgs[e.lead_org_id].region, f.region)}
        with_partner = {e.need_id for e in engs.values()}
        needs = {i: n for i, n in needs.items() if hosp_in(n.hospital_id) or i in with_partner}
        engs = {i: e for i, e in engs.items() if e.need_id in needs}

    for r in conn.execute(select(EngagementTransition.engagement_id, EngagementTransition.to_state,
                                    _raw(EngagementTransition.occurred_at).label("at"))
                             .order_by(EngagementTransition.engagement_id, EngagementTransition.seq)):
        e = engs.get(r.engagement_id)
        if e is not None:
            e.steps.append((r.to_state, _dt(r.at)))
    for r in conn.execute(select(Milestone.engagement_id, cast(func.max(Milestone.created_at), String).label("last"),
                                    func.count(Milestone.id).label("n")).group_by(Milestone.engagement_id)):
        e = engs.get(r.engagement_id)
        if e is not None:
            e.last_milestone, e.milestones = _dt(r.last), r.n
    # a fitting partner: a persisted match in the strong or possible band (its calibrated confidence); matches stored
    # without a band (no calibration for the model) count by score
    fits = or_(MatchRecord.band.in_(FIT_BANDS), and_(MatchRecord.band.is_(None), MatchRecord.score >= f.fit_min_score))
    for (need_id,) in conn.execute(select(MatchRecord.need_id).distinct().where(fits)):
        if need_id in needs:
            needs[need_id].matched = True
    for r in conn.execute(select(MatchFeedback.need_id, cast(func.min(MatchFeedback.created_at), String).label("first"))
                             .where(MatchFeedback.party == "company", MatchFeedback.verdict == "interested")
                             .group_by(MatchFeedback.need_id)):
        if r.need_id in needs:
            needs[r.need_id].first_interest = _dt(r.first)

    for e in engs.values():
        n = needs[e.need_id]
        proposed = e.steps[0][1] if e.steps else e.created_at  # when it happened
        if n.first_interest is None or proposed < n.first_interest:
            n.first_interest = proposed
        n.furthest = max(n.furthest, 2 + e.reached)  # proposed (0) → 'interested' (2); intent_signed → 3 …
    for n in needs.values():
        if n.furthest < 0:
            n.furthest = 2 if n.first_interest else (1 if n.matched else 0)
    return Snapshot(now, f, orgs, sorted(needs.values(), key=lambda n: n.id),
                    sorted(engs.values(), key=lambda e: e.id))


# --- pure aggregation ------------------------------------------------------------------------------------------------

def cumulative(furthest: Iterable[int], steps: Sequence[str]) -> dict[str, int]:
    """How many reached each step or a later one, from each item's furthest step (an index into ``steps``)."""
    hist = [0] * len(steps)
    for i in furthest:
        hist[i] += 1
    out, running = {}, 0
    for i in range(len(steps) - 1, -1, -1):
        running += hist[i]
        out[steps[i]] = running
    return {s: out[s] for s in steps}


def funnel_counts(needs: Iterable[NeedRow]) -> dict[str, int]:
    return cumulative((n.furthest for n in needs), FUNNEL)


def funnel(snap: Snapshot) -> list[dict[str, Any]]:
    counts = funnel_counts(snap.needs)
    out, prev = [], None
    for step in FUNNEL:
        c = counts[step]
        out.append({"step": step, "count": c,
                    "conversion": None if prev is None else _ratio(c, prev),
                    "overall": _ratio(c, counts["filed"])})
        prev = c
    return out


def stage_durations(snap: Snapshot) -> list[dict[str, Any]]:
    """Completed stays per device-path stage (and on_hold), from the history."""
    per: dict[str, list[float]] = defaultdict(list)
    for e in snap.engagements:
        if len(e.steps) < 2:
            continue
        for state, secs in time_in_states(e.steps[:-1], e.steps[-1][1]).items():
            per[state].append(secs)
    out = []
    for state in [s.value for s in PATH[:-1]] + [s.value for s in STAGE_EQUIVALENT] + [S.on_hold.value]:
        xs = per.get(state, [])
        out.append({"stage": state, "n": len(xs), "median_days": _days(percentile(xs, 50)),
                    "p90_days": _days(percentile(xs, 90))})
    return out


def stalled(snap: Snapshot, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """(the longest-idle first, at most ``limit``; how many there are)."""
    threshold = timedelta(days=snap.filters.stale_days)
    found = [(e.last_activity, e) for e in snap.engagements if S(e.state) not in FINAL]
    found = sorted(((last, e) for last, e in found if snap.now - last >= threshold), key=lambda x: (x[0], x[1].id))
    needs = {n.id: n for n in snap.needs}
    return [{"engagement_id": e.id, "need_id": e.need_id, "need_title": needs[e.need_id].title,
             "hospital": snap.orgs[e.hospital_id].name, "partner": snap.orgs[e.lead_org_id].name,
             "state": e.state, "held_from": e.held_from, "last_activity": _iso(last),
             "idle_days": round((snap.now - last).total_seconds() / DAY, 1)} for last, e in found[:limit]], len(found)


def without_fit(snap: Snapshot, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Open needs without a fitting partner (not matched), the longest-open first."""
    found = sorted((n for n in snap.needs if n.status == NeedStatus.open and not n.matched),
                   key=lambda n: (n.opened_at, n.id))
    return [{"need_id": n.id, "title": n.title, "hospital": snap.orgs[n.hospital_id].name,
             "department": n.department, "tracks": n.tracks, "opened_at": _iso(n.opened_at),
             "open_days": round((snap.now - n.opened_at).total_seconds() / DAY, 1)} for n in found[:limit]], len(found)


def partnerships(snap: Snapshot, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every engagement with how far it went: furthest stage first (the pipeline's success stories on top)."""
    ranked = sorted(((e.reached, e) for e in snap.engagements), key=lambda x: (-x[0], x[1].id))
    needs = {n.id: n for n in snap.needs}
    return [{"engagement_id": e.id, "need_id": e.need_id, "need_title": needs[e.need_id].title,
             "hospital": snap.orgs[e.hospital_id].name, "partner": snap.orgs[e.lead_org_id].name,
             "partner_region": snap.orgs[e.lead_org_id].region, "state": e.state, "reached": PATH[reached].value,
             "milestones": e.milestones, "last_activity": _iso(e.last_activity)}
            for reached, e in ranked[:limit]], len(ranked)


def waiting(snap: Snapshot, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """(the longest-waiting first, at most ``limit``; how many there are)."""
    threshold = timedelta(days=snap.filters.stale_days)
    found = sorted((n for n in snap.needs if n.status == NeedStatus.open and n.first_interest is None
                    and snap.now - n.opened_at >= threshold), key=lambda n: (n.opened_at, n.id))
    return [{"need_id": n.id, "title": n.title, "hospital": snap.orgs[n.hospital_id].name,
             "department": n.department, "tracks": n.tracks, "matched": n.matched, "opened_at": _iso(n.opened_at),
             "waiting_days": round((snap.now - n.opened_at).total_seconds() / DAY, 1)} for n in found[:limit]], \
        len(found)


def matching_efficiency(snap: Snapshot) -> dict[str, Any]:
    open_needs = [n for n in snap.needs if n.status == NeedStatus.open]
    with_interest = sum(1 for n in open_needs if n.first_interest is not None)
    delays = [(n.first_interest - n.opened_at).total_seconds() for n in snap.needs if n.first_interest is not None]
    delays = [max(0.0, d) for d in delays]
    return {"open_needs": len(open_needs), "open_with_interest": with_interest,
            "share_open_with_interest": _ratio(with_interest, len(open_needs)),
            "needs_with_interest": len(delays), "median_days_to_first_interest": _days(percentile(delays, 50)),
            "p90_days_to_first_interest": _days(percentile(delays, 90))}


def headline(snap: Snapshot) -> dict[str, Any]:
    """What a commission officer reads first: open needs and those without a fitting partner, partnerships under
    way by stage, how long from a need's publication to a signed intent, and what the commission brokered against
    what the parties found through their matches."""
    open_needs = [n for n in snap.needs if n.status == NeedStatus.open]
    by_stage: dict[str, int] = defaultdict(int)
    for e in snap.engagements:
        if S(e.state) not in FINAL:
            by_stage[e.state] += 1
    to_intent = []
    for n in snap.needs:
        signed = [t for e in snap.engagements if e.need_id == n.id for s, t in e.steps if s == S.intent_signed]
        if signed:
            to_intent.append(max(0.0, (min(signed) - n.opened_at).total_seconds()))
    brokered = [e for e in snap.engagements if e.brokered]
    found = [e for e in snap.engagements if not e.brokered]
    reached_intent = _RANK[S.intent_signed.value]
    return {"open_needs": len(open_needs), "open_needs_without_fit": sum(1 for n in open_needs if not n.matched),
            "active_partnerships": sum(by_stage.values()),
            "active_by_stage": {s.value: by_stage.get(s.value, 0) for s in S if s not in FINAL and by_stage.get(s)},
            "needs_to_intent": len(to_intent), "median_days_need_to_intent": _days(percentile(to_intent, 50)),
            "p90_days_need_to_intent": _days(percentile(to_intent, 90)),
            "partnerships_brokered": len(brokered), "partnerships_matched": len(found),
            "brokered_reached_intent": sum(1 for e in brokered if e.reached >= reached_intent),
            "matched_reached_intent": sum(1 for e in found if e.reached >= reached_intent)}


def _region_label(region: str) -> str:
    return region  # putuo, shanghai (rest of Shanghai), each Jiangsu city, other: labelled by the page


def breakdown(snap: Snapshot, dimension: str) -> list[dict[str, Any]]:
    """Rows of (key, label, counts per step). Need-based dimensions count needs through the funnel; 'partner' and
    'partner_region' count engagements through the device path (proposed … clinical_use)."""
    if dimension in ("partner", "partner_region"):
        groups: dict[str, list[EngRow]] = defaultdict(list)
        labels: dict[str, str] = {}
        for e in snap.engagements:
            org = snap.orgs[e.lead_org_id]
            key = str(org.id) if dimension == "partner" else org.region
            labels[key] = org.name if dimension == "partner" else _region_label(org.region)
            groups[key].append(e)
        rows = []
        for key, es in groups.items():
            rows.append({"key": key, "label": labels[key],
                         "counts": cumulative((e.reached for e in es), ENGAGEMENT_STEPS)})
        return sorted(rows, key=lambda r: (-r["counts"]["proposed"], r["label"]))
    ngroups: dict[Any, list[int]] = defaultdict(list)  # group key -> the furthest step of each of its needs
    for n in snap.needs:
        if dimension == "track":
            for t in n.tracks:
                ngroups[t].append(n.furthest)
        elif dimension == "hospital":
            ngroups[n.hospital_id].append(n.furthest)
        elif dimension == "department":
            ngroups[(n.hospital_id, n.department)].append(n.furthest)
        elif dimension == "region":
            hosp = snap.orgs.get(n.hospital_id)
            ngroups[hosp.region if hosp else "other"].append(n.furthest)
        elif dimension == "month":
            local = n.opened_at.replace(tzinfo=UTC).astimezone(LOCAL_TZ)  # Shanghai's month
            ngroups[f"{local.year:04d}-{local.month:02d}"].append(n.furthest)
        else:
            raise ValueError(dimension)

    def hospital_name(hid: int) -> str:
        return snap.orgs[hid].name if hid in snap.orgs else str(hid)

    nlabels: dict[Any, tuple[str, str]] = {}  # group key -> (key, label) as shown
    for k in ngroups:
        if dimension == "hospital":
            nlabels[k] = (str(k), hospital_name(k))
        elif dimension == "department":
            nlabels[k] = (f"{k[0]}:{k[1]}", f"{hospital_name(k[0])} · {k[1] or '—'}")
        else:
            nlabels[k] = (k, _region_label(k) if dimension == "region" else k)
    rows = [{"key": nlabels[k][0], "label": nlabels[k][1], "counts": cumulative(fs, FUNNEL)}
            for k, fs in ngroups.items()]
    if dimension == "month":  # every month from the first to the last, zeros included: a trend without gaps
        for m in _months_between(min(ngroups, default=None), max(ngroups, default=None)):
            if m not in ngroups:
                rows.append({"key": m, "label": m, "counts": dict.fromkeys(FUNNEL, 0)})
        return sorted(rows, key=lambda r: r["key"])
    return sorted(rows, key=lambda r: (-r["counts"]["filed"], r["label"]))


def _months_between(first: str | None, last: str | None) -> list[str]:
    if first is None or last is None:
        return []
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def steps_of(dimension: str) -> tuple[str, ...]:
    return ENGAGEMENT_STEPS if dimension in ("partner", "partner_region") else FUNNEL


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the snapshot is built: it allocates some 50,000 small acyclic objects,
    which would trigger full collections of the whole process heap (+100 ms spikes, measured by bench/dashboard.py).
    Reference counting still frees everything; the collector runs again right after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def report(session: Session, actor: Actor, f: Filters, now: datetime | None = None,
           sections: Iterable[str] | None = None, limit: int | None = None) -> dict[str, Any]:
    """Every figure (or the named sections) for these filters: what the API returns and the page shows. The lists
    (stalled, waiting, partnerships) keep their first ``limit`` rows; ``totals`` says how many there are."""
    require_reader(actor)
    with _gc_paused():
        return _report(session, f, now, sections, limit)


def _report(session: Session, f: Filters, now: datetime | None, sections: Iterable[str] | None,
            limit: int | None) -> dict[str, Any]:
    snap = load(session, f, now)
    wanted = set(sections) if sections is not None else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    out: dict[str, Any] = {"filters": {"date_from": f.date_from.isoformat() if f.date_from else None,
                                       "date_to": f.date_to.isoformat() if f.date_to else None,
                                       "track": f.track.value if f.track else None, "region": f.region,
                                       "stale_days": f.stale_days},
                           "generated_at": _iso(snap.now)}
    if want("headline"):
        out["headline"] = headline(snap)
    if want("funnel"):
        out["funnel"] = funnel(snap)
    if want("stage_durations"):
        out["stage_durations"] = stage_durations(snap)
    totals: dict[str, int] = {}
    for name, fn in (("stalled", stalled), ("waiting", waiting), ("without_fit", without_fit),
                     ("partnerships", partnerships)):
        if want(name):
            out[name], totals[name] = fn(snap, limit)
    if totals:
        out["totals"] = totals
    if want("matching"):
        out["matching"] = matching_efficiency(snap)
    if want("breakdowns"):
        out["breakdowns"] = {d: breakdown(snap, d) for d in DIMENSIONS}
    return out



# --- tables (CSV export; the same rows for the API and the page) ------------------------------------------------

SECTIONS = ("headline", "funnel", "stage_durations", "stalled", "waiting", "without_fit", "partnerships", "matching",
            "breakdowns")


def table(rep: dict[str, Any], section: str, dimension: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """A section of a report as (header, rows)."""
    if section == "breakdowns":
        steps = steps_of(dimension)
        return (["key", "label", *steps],
                [[r["key"], r["label"], *(r["counts"][s] for s in steps)] for r in rep["breakdowns"][dimension]])
    if section in ("matching", "headline"):
        m = rep[section]
        return ["figure", "value"], [[k, ";".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else v]
                                     for k, v in m.items()]
    rows = rep[section]
    header = {"funnel": ["step", "count", "conversion", "overall"],
              "stage_durations": ["stage", "n", "median_days", "p90_days"],
              "stalled": ["engagement_id", "need_id", "need_title", "hospital", "partner", "state", "held_from",
                          "last_activity", "idle_days"],
              "partnerships": ["engagement_id", "need_id", "need_title", "hospital", "partner", "partner_region",
                               "state", "reached", "milestones", "last_activity"],
              "waiting": ["need_id", "title", "hospital", "department", "tracks", "matched", "opened_at",
                          "waiting_days"],
              "without_fit": ["need_id", "title", "hospital", "department", "tracks", "opened_at",
                              "open_days"]}[section]
    return header, [[";".join(r[h]) if isinstance(r[h], list) else r[h] for h in header] for r in rows]


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows([["" if v is None else v for v in row] for row in rows])
    return buf.getvalue()
