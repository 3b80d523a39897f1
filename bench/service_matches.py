"""The running service with N capabilities: start-up time, resident memory, and GET /needs/{id}/matches latency.

    python bench/service_matches.py [--sizes 1000,10000,100000] [--requests 200] [--json bench/out/service.json]

For each size, a fresh SQLite database gets the dev set plus synthetic capabilities up to N with their stored
vectors (bench/synthetic.py: variants of the dev set's texts, real model vectors, inserted in bulk as `clinmatch
seed` would leave them). Then the real server starts in a subprocess (uvicorn, one worker, as `clinmatch serve`
runs it), loads its index from the database, and one client on loopback asks for the matches of the 40 dev needs
(k=20, explanations, as the API answers them), each need once to warm (its vectors are then cached, as in
production), then ``--requests`` times in turn. RSS is read from the server process after start-up and after the
requests.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import httpx
import numpy as np
import psutil
import synthetic


def run_size(n: int, requests: int, port: int, env_extra: dict | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-bench-"))
    url = f"sqlite:///{tmp}/bench.db"
    print(f"building a database with {n} capabilities ...", file=sys.stderr)
    t = time.perf_counter()
    info = synthetic.load_db(url, n)
    build_s = time.perf_counter() - t
    env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "false", **(env_extra or {})}
    proc, base, startup = synthetic.start_server(env, port, timeout=1200)
    try:
        ps = psutil.Process(proc.pid)
        rss_idle = ps.memory_info().rss
        h = {"Authorization": f"Bearer {info['token']}"}
        lat = []
        with httpx.Client(base_url=base, headers=h, timeout=60) as c:
            for nid in info["need_ids"]:
                assert c.get(f"/api/v1/needs/{nid}/matches").status_code == 200
            for i in range(requests):
                nid = info["need_ids"][i % len(info["need_ids"])]
                t = time.perf_counter()
                r = c.get(f"/api/v1/needs/{nid}/matches", params={"limit": 20})
                lat.append(1000 * (time.perf_counter() - t))
                assert r.status_code == 200 and len(r.json()["items"]) == 20, r.text[:300]
        rss = ps.memory_info().rss
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return {"capabilities": n, "db_build_s": round(build_s, 1), "server_startup_s": round(startup, 1),
            "rss_after_startup_mb": round(rss_idle / 2**20), "rss_after_requests_mb": round(rss / 2**20),
            "matches_p50_ms": round(float(np.percentile(lat, 50)), 1),
            "matches_p95_ms": round(float(np.percentile(lat, 95)), 1),
            "matches_p99_ms": round(float(np.percentile(lat, 99)), 1),
            "matches_mean_ms": round(statistics.fmean(lat), 1), "requests": len(lat)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--port", type=int, default=8791)
    ap.add_argument("--json", default=None)
    ap.add_argument("--rank-cache", type=int, default=0,
                    help="CLINMATCH_RANK_CACHE_SIZE for the server (0: every request ranks; the service's default is "
                         "256, which makes a repeated read a look-up)")
    a = ap.parse_args()
    out = []
    for n in [int(x) for x in a.sizes.split(",")]:
        r = run_size(n, a.requests, a.port, {"CLINMATCH_RANK_CACHE_SIZE": str(a.rank_cache)})
        print(f"{n:>7} capabilities | start-up {r['server_startup_s']:6.1f} s | RSS {r['rss_after_startup_mb']} MB "
              f"after start-up, {r['rss_after_requests_mb']} MB after requests | GET matches p50 "
              f"{r['matches_p50_ms']} ms, p95 {r['matches_p95_ms']} ms, p99 {r['matches_p99_ms']} ms", flush=True)
        out.append(r)
    print(json.dumps(out, indent=2))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
