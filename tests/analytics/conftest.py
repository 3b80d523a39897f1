"""A small hand-built pipeline with fixed timestamps, written straight into the database (so every duration is
known), on the conftest's personas. The expected figures in test_api.py are computed by hand from this table.

T0 = 2025-01-01 00:00 UTC; "d" = days after T0.

| need | hospital (region) | tracks | opened | status | match | feedback | engagements (lead: stages at day) |
|---|---|---|---|---|---|---|---|
| N1 | hospital (putuo) | interventional_implant | d0 | in_partnership | capA | — | E1 company: proposed 2, intent 5, training 15, rnd 45, animal 105, clinical_evaluation 165; a milestone recorded 10 days ago |
| N2 | hospital | imaging | d10 | in_partnership | capB | company_b interested d12 | E2 company_b: proposed 20, intent 30, on_hold 40 |
| N3 | hospital_b (suzhou) | interventional_implant, diagnostics_ivd | d20 | open | capA | — | E3 company: proposed 25, withdrawn 27 |
| N4 | hospital_b | digital_health | d30 | open | capL | lab not_interested d31 | — |
| N5 | hospital | digital_health | 5 days ago | open | — | — | — |
| N6 | hospital | rehab_eldercare | never (draft) | draft | — | — | — |
| N7 | hospital | imaging | d50 | closed | — | lab interested d53 | — |
| N8 | hospital | interventional_implant | d1 | in_partnership | capL | — | E4 lab (shanghai): proposed 3, intent 4, training 6, rnd 10, animal 20, clinical_evaluation 40, registration 70, clinical_use 100 |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def d(days: float) -> datetime:
    return T0 + timedelta(days=days)


@dataclass
class Pipeline:
    needs: dict[str, int]
    engagements: dict[str, int]
    now: datetime


def build_pipeline(engine, world) -> Pipeline:
    from app.db import session_scope
    from app.models import Capability, Engagement, EngagementTransition, MatchFeedback, MatchRecord, Milestone, Need

    now = datetime.now(UTC)
    o = world.orgs
    with session_scope(engine) as s:
        caps = {}
        for key, org, region in (("capA", "company", "putuo"), ("capB", "company_b", "wuxi"),
                                 ("capL", "lab", "shanghai")):
            c = Capability(organisation_id=o[org], title=f"{key} capability", description="x",
                           tracks=["interventional_implant"], region=region, language="en")
            s.add(c)
            s.flush()
            caps[key] = c.id
        spec = {  # key: (hospital, tracks, opened_at, status, department)
            "N1": ("hospital", ["interventional_implant"], d(0), "in_partnership", "心血管内科"),
            "N2": ("hospital", ["imaging"], d(10), "in_partnership", "放射科"),
            "N3": ("hospital_b", ["interventional_implant", "diagnostics_ivd"], d(20), "open", "心内科"),
            "N4": ("hospital_b", ["digital_health"], d(30), "open", "信息科"),
            "N5": ("hospital", ["digital_health"], now - timedelta(days=5), "open", "信息科"),
            "N6": ("hospital", ["rehab_eldercare"], None, "draft", "康复科"),
            "N7": ("hospital", ["imaging"], d(50), "closed", "放射科"),
            "N8": ("hospital", ["interventional_implant"], d(1), "in_partnership", "心血管内科"),
        }
        needs = {}
        for key, (hosp, tracks, opened, status, dept) in spec.items():
            n = Need(hospital_id=o[hosp], title=f"{key} need", description="x", department=dept, tracks=tracks,
                     partner_types=["enterprise"], language="zh", status=status, opened_at=opened,
                     created_at=opened or now)
            s.add(n)
            s.flush()
            needs[key] = n.id
        for need, cap in (("N1", "capA"), ("N2", "capB"), ("N3", "capA"), ("N4", "capL"), ("N8", "capL")):
            s.add(MatchRecord(need_id=needs[need], capability_id=caps[cap], score=0.5, model_version="t"))
        for need, cap, org, verdict, day in (("N2", "capB", "company_b", "interested", 12),
                                             ("N4", "capL", "lab", "not_interested", 31),
                                             ("N7", "capL", "lab", "interested", 53)):
            s.add(MatchFeedback(need_id=needs[need], capability_id=caps[cap], party="company", organisation_id=o[org],
                                verdict=verdict, reason="capacity" if verdict == "not_interested" else None,
                                created_at=d(day)))
        engs = {}
        for key, need, lead, cap, steps in (
                ("E1", "N1", "company", "capA", [("proposed", 2), ("intent_signed", 5), ("training_observation", 15),
                                                 ("rnd", 45), ("animal_trial", 105), ("clinical_evaluation", 165)]),
                ("E2", "N2", "company_b", "capB", [("proposed", 20), ("intent_signed", 30), ("on_hold", 40)]),
                ("E3", "N3", "company", "capA", [("proposed", 25), ("withdrawn", 27)]),
                ("E4", "N8", "lab", "capL", [("proposed", 3), ("intent_signed", 4), ("training_observation", 6),
                                             ("rnd", 10), ("animal_trial", 20), ("clinical_evaluation", 40),
                                             ("registration", 70), ("clinical_use", 100)])):
            hosp = spec[need][0]
            state = steps[-1][0]
            e = Engagement(need_id=needs[need], hospital_id=o[hosp], lead_org_id=o[lead], capability_id=caps[cap],
                           proposed_by_org_id=o[hosp], state=state,
                           held_from=steps[-2][0] if state == "on_hold" else None, created_at=d(steps[0][1]))
            s.add(e)
            s.flush()
            engs[key] = e.id
            prev = None
            for seq, (to, day) in enumerate(steps, start=1):
                s.add(EngagementTransition(engagement_id=e.id, seq=seq, from_state=prev, to_state=to, at=d(day),
                                           occurred_at=d(day)))
                prev = to
        s.add(Milestone(engagement_id=engs["E1"], kind="meeting", title="月度例会", occurred_on=date.today(),
                        responsible_org_id=o["hospital"], recorded_by_org_id=o["hospital"],
                        engagement_state="clinical_evaluation", created_at=now - timedelta(days=10)))
    return Pipeline(needs, engs, now)


@pytest.fixture
def pipeline(app, world) -> Pipeline:
    return build_pipeline(app.state.engine, world)
