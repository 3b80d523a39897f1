"""The running service with N capabilities: start-up time, resident memory, and GET /needs/{id}/matches latency.

    python bench/service_matches.py [--n 10000] [--requests 100] [--db sqlite|postgres]

How the N capabilities are made: the dev set's 160 capabilities are varied (bench/matcher_latency.py `synth`:
sentences of one description shuffled and joined with a sentence of another, titles swapped, regions and partner
types drawn at random). Their vectors are computed by the real model once (sentences shared between variants are
encoded once) and stored in the database, as `clinmatch seed` would store them; the rows are inserted in bulk (no
audit trail: this is a load fixture, not a write path). Then the real server starts in a subprocess (uvicorn, one
worker), loads the index from the database, and a client on loopback asks for the matches of the dev needs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import insert  # noqa: E402

DEV = Path(os.environ.get("CLINMATCH_DEV_SET", ROOT.parent / "shared" / "eval" / "dev"))


def build_db(url: str, n: int) -> tuple[list[int], float]:
    from matcher_latency import CachingEmbedder, synth

    from app.config import Settings
    from app.db import make_engine, session_scope
    from app.main import load_embedder
    from app.migrate import upgrade
    from app.models import Capability, Embedding, Organisation
    from app.models.common import utcnow
    from app.services.matching import build_index, capability_doc, text_hash
    from matching.evaluate import load_dataset
    from seed.loader import load_dataset as seed_dataset

    upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        rep = seed_dataset(s, DEV, progress=False)
    need_ids = [v for k, v in rep.ids.items() if k.startswith("need:")]
    ds = load_dataset(DEV)
    variants = synth(ds.capabilities, max(0, n - len(ds.capabilities)))
    t0 = time.perf_counter()
    index = build_index(CachingEmbedder(load_embedder(Settings(database_url=url))))
    with session_scope(engine) as s:
        orgs = {}
        for kind in ("enterprise", "lab", "platform"):
            o = Organisation(kind=kind, name_en=f"Synthetic {kind}", region="suzhou")
            s.add(o)
            s.flush()
            orgs[kind] = o
        rows, now = [], utcnow()
        for v in variants:
            rows.append(dict(organisation_id=orgs[v.org_type].id, kind="product", title=v.title[:300],
                             description=v.description or v.title, tracks=v.tracks or ["digital_health"],
                             stages=v.stages, certifications=v.certifications, region=v.region,
                             language=v.language or "zh", status="active", version=1, created_at=now,
                             updated_at=now))
        for i in range(0, len(rows), 1000):
            s.execute(insert(Capability), rows[i:i + 1000])
    with session_scope(engine) as s:
        from sqlmodel import select

        todo = s.exec(select(Capability, Organisation).join(Organisation,
                                                            Organisation.id == Capability.organisation_id)).all()
        docs = [capability_doc(c, o) for c, o in todo]
        for i in range(0, len(docs), 500):
            batch = docs[i:i + 500]
            payload = index.matcher.embed_capabilities(batch)
            s.execute(insert(Embedding), [dict(entity="capability", entity_id=int(d.id),
                                               model_name=index.matcher.model_name,
                                               model_version=index.matcher.vector_version, text_hash=text_hash(d),
                                               dim=int(payload["vectors"][d.id].shape[1]),
                                               rows=int(payload["vectors"][d.id].shape[0]),
                                               data=payload["vectors"][d.id].tobytes(), created_at=now)
                                          for d in batch])
            print(f"  embedded {min(i + 500, len(docs))}/{len(docs)}", file=sys.stderr)
    embed_s = time.perf_counter() - t0
    engine.dispose()
    return need_ids, embed_s


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--port", type=int, default=8791)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-bench-"))
    url = f"sqlite:///{tmp}/bench.db"
    print(f"building a database with {a.n} capabilities ...", file=sys.stderr)
    need_ids, embed_s = build_db(url, a.n)
    from app.db import make_engine, session_scope
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users

    engine = make_engine(url)
    with session_scope(engine) as s:
        org = organisations.create(s, None, OrganisationCreate(kind="commission", name_en="Bench", region="putuo"))
        u = users.create_user(s, None, UserCreate(email="bench@example.org", role="commission",
                                                  organisation_id=org.id))
        _, token = users.issue_token(s, None, u.id, TokenCreate(name="bench"))
    engine.dispose()
    env = {**os.environ, "DATABASE_URL": url}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port",
                             str(a.port), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{a.port}"
    try:
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
            if proc.poll() is not None or time.perf_counter() - t0 > 600:
                raise SystemExit("server did not start")
        startup = time.perf_counter() - t0
        rss_idle = psutil.Process(proc.pid).memory_info().rss
        h = {"Authorization": f"Bearer {token}"}
        lat = []
        with httpx.Client(base_url=base, headers=h, timeout=60) as c:
            for nid in need_ids:  # warm: each need embedded once (cached afterwards, as in production)
                assert c.get(f"/api/v1/needs/{nid}/matches").status_code == 200
            for i in range(a.requests):
                nid = need_ids[i % len(need_ids)]
                t = time.perf_counter()
                r = c.get(f"/api/v1/needs/{nid}/matches", params={"limit": 20})
                lat.append(1000 * (time.perf_counter() - t))
                assert r.status_code == 200 and len(r.json()["items"]) == 20
        rss = psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    q = statistics.quantiles(lat, n=100)
    result = {"capabilities": a.n, "vectors_embedded_s": round(embed_s, 1), "server_startup_s": round(startup, 1),
              "rss_after_startup_mb": round(rss_idle / 2**20), "rss_after_requests_mb": round(rss / 2**20),
              "matches_p50_ms": round(statistics.median(lat), 1), "matches_p95_ms": round(q[94], 1),
              "matches_p99_ms": round(q[98], 1), "requests": len(lat)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
