"""CPU per request of clinmatch's reads against their anchor (``bench/_anchor_app.py``), the figure that decides
throughput on a CPU-bound server and that, unlike wrk's requests/s, other jobs on the machine barely move.

    python bench/read_cpu.py [--n 10000] [--db sqlite|postgres] [--sqlite-file PATH] [--requests 2000]
                             [--rounds 5] [--clients 1] [--mode asgi|server] [--profile ENDPOINT]

The world is ``bench/api_throughput.py``'s (``synthetic.load_db``: the dev set plus synthetic capabilities up to
``--n``, a commission token; ``--sqlite-file`` keeps it and reuses it, with the same JSON beside it as that bench).

``--mode asgi`` (the default): both apps in this process (clinmatch as ``clinmatch serve`` builds it, access log on,
written to a file), driven through ASGI with no network, ``--clients`` requests at a time; ``time.process_time``
around ``--requests`` requests after a warm-up (the apps' worker threads included). Everything the two servers do
differently is in it; uvicorn's HTTP parsing, the same for both, is not.

``--mode server``: both servers as ``api_throughput.py`` starts them (uvicorn, one worker, uvloop/httptools, 8
request threads), the client in this process (``--clients`` threads, one keep-alive connection each); measured is
the server process's own CPU (user + system, ``/proc/<pid>/stat``), so the client's is not counted. Closest to
production, but the clock ticks are coarse and, with many clients, GIL hand-offs under other jobs make it noisy.

Rounds alternate which app goes first. Printed per endpoint: the least CPU ms per request over the rounds for
clinmatch and its anchor and their ratio (other jobs on a shared machine only ever add CPU time: cache misses,
more thread switches), then medians and ranges. ``--profile ENDPOINT``: cProfile of clinmatch serving that
endpoint, every thread (the request threads included, CPU time), by own and by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx
import synthetic
from _anchor_app import create_app as anchor_app
from _hello_app import create_app as clinmatch_app
from anyio._backends._asyncio import _threadpool_idle_workers
from api_throughput import add_hospital_user, start_postgres, stop

from app import access_log
from app.config import get_settings

TICK = os.sysconf("SC_CLK_TCK")


def plan(info: dict) -> list[tuple[str, list[str], list[str]]]:
    """(endpoint, clinmatch's paths, the anchor's paths): the reads of api_throughput.py with the same URLs."""
    needs = info["need_ids"]
    caps = info["capability_ids"][:: max(1, len(info["capability_ids"]) // 200)][:200]
    return [
        ("GET /needs/{id}", [f"/api/v1/needs/{n}" for n in needs], [f"/anchor/needs/{n}" for n in needs]),
        ("GET /capabilities/{id}", [f"/api/v1/capabilities/{c}" for c in caps],
         [f"/anchor/capabilities/{c}" for c in caps]),
        ("GET /needs", ["/api/v1/needs"], ["/anchor/needs"]),
        ("GET /capabilities", ["/api/v1/capabilities"], ["/anchor/capabilities"]),
    ]


def schedule(info: dict, a):
    """(round, endpoint, side, paths) in the order they run: clinmatch and the anchor back to back, which goes first
    alternating by round."""
    for rnd in range(a.rounds):
        for name, paths, anchor_paths in plan(info):
            if a.only and name not in a.only:
                continue
            sides = [("clinmatch", paths), ("anchor", anchor_paths)]
            for side, ps in (sides if rnd % 2 == 0 else sides[::-1]):
                yield rnd, name, side, ps


def world(a, tmp: Path) -> tuple[str, dict, object]:
    """(database URL, the world's ids and tokens, the embedded PostgreSQL server or None)."""
    if a.db == "postgres":
        server, url = start_postgres(tmp)
    else:
        server, url = None, f"sqlite:///{a.sqlite_file or tmp / 'bench.db'}"
    saved = a.sqlite_file.with_suffix(".json") if a.sqlite_file and a.db == "sqlite" else None
    if saved and saved.exists() and a.sqlite_file.exists():
        from app.migrate import upgrade

        upgrade(url)
        print(f"reusing {a.sqlite_file}", file=sys.stderr)
        return url, json.loads(saved.read_text()), server
    print(f"building a {a.db} database with {a.n} capabilities ...", file=sys.stderr)
    info = synthetic.load_db(url, a.n)
    info["hospital_token"] = add_hospital_user(url)
    if saved:
        saved.write_text(json.dumps({**info, "n": a.n}))
    return url, info, server


# --- server mode ---------------------------------------------------------------------------------------------------

def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def drive_http(base: str, paths: list[str], token: str, n: int, clients: int) -> None:
    def worker(k: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            for i in range(k, n, clients):
                r = c.get(paths[i % len(paths)])
                if r.status_code != 200:
                    raise SystemExit(f"{paths[i % len(paths)]}: {r.status_code} {r.text[:300]}")

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))


def run_server_mode(a, url: str, info: dict, tmp: Path) -> dict[str, dict[str, list[float]]]:
    env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "false", "CLINMATCH_ACCESS_LOG": "true",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    log_file = (tmp / "access.log").open("w")
    mine = anchor = None
    res: dict[str, dict[str, list[float]]] = {}
    try:
        mine, base, _ = synthetic.start_server(env, a.port, app="bench._hello_app:create_app", stderr=log_file)
        anchor, anchor_base, _ = synthetic.start_server(env, a.port + 1, app="bench._anchor_app:create_app")
        servers = {"clinmatch": (mine, base), "anchor": (anchor, anchor_base)}
        for rnd, name, side, ps in schedule(info, a):
            proc, b = servers[side]
            drive_http(b, ps, info["token"], a.warmup, a.clients)
            c0 = proc_cpu(proc.pid)
            drive_http(b, ps, info["token"], a.requests, a.clients)
            ms = 1000 * (proc_cpu(proc.pid) - c0) / a.requests
            res.setdefault(name, {}).setdefault(side, []).append(ms)
            print(f"  round {rnd}: {name} on {side}: {ms:.3f} ms CPU/request", file=sys.stderr)
    finally:
        stop(mine)
        stop(anchor)
        log_file.close()
    return res


# --- asgi mode -----------------------------------------------------------------------------------------------------

def asgi_scope(app, path: str, token: str) -> dict:
    p, _, q = path.partition("?")
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": p, "raw_path": p.encode(), "root_path": "", "query_string": q.encode(),
            "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app}


async def drive_asgi(app, paths: list[str], token: str, n: int, clients: int) -> float:
    """process_time of ``n`` requests, ``clients`` at a time."""

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def one(path: str) -> None:
        async def send(message):
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise SystemExit(f"{path}: {message['status']}")

        await app(asgi_scope(app, path, token), receive, send)

    async def worker(k: int) -> None:
        for i in range(k, n, clients):
            await one(paths[i % len(paths)])

    t0 = time.process_time()
    await asyncio.gather(*(worker(k) for k in range(clients)))
    return time.process_time() - t0


class AllThreadsProfile:
    """cProfile of the calling thread and every thread started while it is on (Python 3.11's cProfile sees only the
    thread that enabled it); one merged ``pstats.Stats``."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def _start_in_thread(self, *_args) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU, not wall: a thread waiting for the GIL costs nothing
        self.profiles.append(prof)
        prof.enable()  # replaces this hook in the new thread

    def __enter__(self):
        threading.setprofile(self._start_in_thread)
        # anyio's idle worker threads of this event loop were started before the hook: new ones from here on
        _threadpool_idle_workers.set(deque())
        self._start_in_thread()
        return self

    def __exit__(self, *exc) -> None:
        threading.setprofile(None)
        for p in self.profiles:
            p.disable()

    def stats(self) -> pstats.Stats:
        out = io.StringIO()
        st = pstats.Stats(self.profiles[0], stream=out)
        for p in self.profiles[1:]:
            try:
                st.add(p)
            except TypeError:  # a thread that recorded nothing
                pass
        return st


def run_asgi_mode(a, url: str, info: dict, tmp: Path) -> dict[str, dict[str, list[float]]]:
    os.environ.update({"DATABASE_URL": url, "CLINMATCH_DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "false",
                       "CLINMATCH_ACCESS_LOG": "true"})
    get_settings.cache_clear()
    res: dict[str, dict[str, list[float]]] = {}

    async def main() -> None:
        mine, anchor = clinmatch_app(), anchor_app()
        async with mine.router.lifespan_context(mine), anchor.router.lifespan_context(anchor):
            out = (tmp / "access.log").open("w")
            for h in list(access_log.log.handlers):  # the lines go to a file, as a server's redirected stderr
                access_log.log.removeHandler(h)
            handler = logging.StreamHandler(out)
            handler.setFormatter(logging.Formatter("%(message)s"))
            access_log.log.addHandler(handler)
            apps = {"clinmatch": mine, "anchor": anchor}
            if a.profile:
                name, paths, _ = next(p for p in plan(info) if p[0] == a.profile)
                await drive_asgi(mine, paths, info["token"], a.warmup, a.clients)
                with AllThreadsProfile() as prof:
                    await drive_asgi(mine, paths, info["token"], a.requests, a.clients)
                st = prof.stats()
                st.stream = sys.stdout
                if a.profile_out:
                    st.dump_stats(a.profile_out)
                print(f"\n=== {name}: {a.requests} requests, by own time")
                st.sort_stats("tottime").print_stats(45)
                print(f"\n=== {name}: by cumulative time")
                st.sort_stats("cumulative").print_stats(60)
                return
            for rnd, name, side, ps in schedule(info, a):
                await drive_asgi(apps[side], ps, info["token"], a.warmup, a.clients)
                ms = 1000 * await drive_asgi(apps[side], ps, info["token"], a.requests, a.clients) / a.requests
                res.setdefault(name, {}).setdefault(side, []).append(ms)
                print(f"  round {rnd}: {name} on {side}: {ms:.3f} ms CPU/request", file=sys.stderr)
            out.close()

    asyncio.run(main())
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000, help="capabilities in all (dev set's 160 + synthetic)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--sqlite-file", type=Path, help="keep the SQLite database here and reuse it when it exists")
    ap.add_argument("--mode", choices=("server", "asgi"), default="asgi")
    ap.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint, server and round")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=1, help="concurrent requests (more: closer to a loaded server, "
                                                            "but GIL hand-offs make the CPU noisier)")
    ap.add_argument("--port", type=int, default=8795, help="clinmatch's port (server mode); the anchor's is the next")
    ap.add_argument("--only", default="", help="comma-separated endpoint names (default: the four reads)")
    ap.add_argument("--profile", default="", help="asgi mode: profile clinmatch on this endpoint instead")
    ap.add_argument("--profile-out", type=Path, help="also write the profile's stats here (pstats format)")
    a = ap.parse_args()
    a.only = {s.strip() for s in a.only.split(",") if s.strip()}
    if a.profile:
        a.mode = "asgi"
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-read-cpu-"))
    server = None
    try:
        url, info, server = world(a, tmp)
        res = (run_server_mode if a.mode == "server" else run_asgi_mode)(a, url, info, tmp)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    if a.profile:
        return
    print(f"\n{a.db}, {a.n} capabilities, mode {a.mode}, {a.clients} concurrent, {a.requests} requests x "
          f"{a.rounds} rounds; CPU ms per request: the least of the rounds (other jobs on the machine only add to "
          f"it), then the median and range")
    print(f"{'endpoint':<26}{'clinmatch':>11}{'anchor':>9}{'ratio':>7}   {'clinmatch median (range)':<26}"
          f"{'anchor median (range)':<24}{'ratio median (range)'}")
    rows = []
    for name, sides in res.items():
        m, t = sides["clinmatch"], sides["anchor"]
        ratios = [x / y for x, y in zip(m, t)]
        rows.append({"endpoint": name, "clinmatch_ms": m, "anchor_ms": t, "ratio_of_least": min(m) / min(t),
                     "ratio_median": statistics.median(ratios)})
        print(f"{name:<26}{min(m):>11.3f}{min(t):>9.3f}{min(m) / min(t):>7.2f}   "
              f"{f'{statistics.median(m):.3f} ({min(m):.3f}-{max(m):.3f})':<26}"
              f"{f'{statistics.median(t):.3f} ({min(t):.3f}-{max(t):.3f})':<24}"
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    print(json.dumps({"db": a.db, "capabilities": a.n, "mode": a.mode, "clients": a.clients,
                      "requests": a.requests, "rounds": a.rounds, "rows": rows}))


if __name__ == "__main__":
    main()
