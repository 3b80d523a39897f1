"""Page render time of the people's web app on the demo world: p50 and p95 of each page, signed in as its role.

    python bench/page_render.py [--requests 40] [--model] [--only /dashboard ...]

What runs: a fresh SQLite file seeded the way ``clinmatch seed`` does it (the demo world: 13 needs, 26 capabilities,
5 partnerships, matched, the inboxes filled), every demo person given a password, one real server (uvicorn, one
worker, on loopback, in this process), an httpx client signed in through the sign-in form per role (a real
server-side session, the cookie the browser would send). Each page is fetched once to warm up, then
``--requests`` times; the time is the whole request as the client sees it (server, network stack, HTML). Printed:
one line per page with its status, p50 and p95 in ms, and whether p95 is within the target (150 ms); then JSON.
``--model`` ranks with the real embedding model from var/models (default: the deterministic hashing embedder; the
pages read persisted matches, so the ranking model hardly matters here).

Adding pages: list them in ``PAGES`` under the role that opens them. A URL may name demo records by key, in
braces: ``{need:laa-occluder-fit}``, ``{org:tongji-medical-platform}``, ``{engagement:first}`` (the keys of
seed/data/demo_world.json).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("CLINMATCH_WORKER_IN_PROCESS", "0")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx

TARGET_P95_MS = 150.0
PASSWORD = "bench passphrase 2026"
# role -> (the demo person who signs in, the pages to time)
PAGES: dict[str, tuple[str, list[str]]] = {
    "anonymous": ("", ["/signin", "/reset", "/dashboard/signin"]),
    "admin": ("ops.admin@example.org", ["/admin/users", "/admin/organisations", "/admin/invitations",
                                        "/admin/users/1"]),
    "commission": ("xu.zhengtao@example.org", ["/dashboard", "/queue", "/introductions", "/notes", "/audit",
                                               "/dashboard/engagements/{engagement:first}", "/dashboard/industry/map",
                                               "/dashboard/industry/chain", "/dashboard/industry/gaps",
                                               "/dashboard/industry/org/{org:tongji-medical-platform}"]),
    "hospital_staff": ("chen.lihang@example.org", [
        "/needs", "/needs/new", "/needs/{need:tsp-steerable-needle}", "/needs/{need:laa-occluder-fit}/edit",
        "/needs/statement-check?desired_outcome=%E5%BC%80%E5%8F%91%E4%B8%80%E6%AC%BE%E5%B0%84%E9%A2%91%E7%B3%BB%E7%BB%9F",
        "/partnerships/{engagement:tsp-pushi}", "/threads", "/inbox", "/invitations", "/settings/notifications"]),
    "company_staff": ("wang.jianing@example.org", [
        "/inbox", "/browse", "/browse?track=interventional_implant", "/needs/{need:tsp-steerable-needle}",
        "/capabilities", "/capabilities/new", "/capabilities/{capability:pushi-steerable-rf-tsp}",
        "/capabilities/{capability:pushi-steerable-rf-tsp}/edit", "/capabilities/import",
        "/partnerships/{engagement:laa-pushi}", "/threads/partnerships/{engagement:laa-pushi}", "/threads",
        "/settings/notifications"]),
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(tmp: Path, model: bool):
    """The app on a fresh, seeded SQLite file; every demo person with a password. Returns (app, ids)."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from app.config import Settings
    from app.main import create_app
    from app.migrate import upgrade
    from app.models import Engagement, User
    from app.services.accounts import PASSWORDS
    from seed.loader import seed

    url = f"sqlite:///{tmp / 'pages.db'}"
    upgrade(url)
    settings = Settings(database_url=url, embedder="model" if model else "hashing", model_dir=ROOT / "var/models",
                        worker_in_process=False, secret_key="bench-key", access_log=False)
    app = create_app(settings)
    with TestClient(app):  # the lifespan builds the match index the seed needs
        rep, _stats, _told = seed(app.state.engine, app.state.match_index, settings)
    hashed = PASSWORDS.hash(PASSWORD)
    with Session(app.state.engine) as s:
        for u in s.exec(select(User)):
            u.password_hash = hashed
            s.add(u)
        first = s.exec(select(Engagement.id).order_by(Engagement.id)).first()
        s.commit()
    ids = {**rep.ids, "engagement:first": first}
    return app, ids


def serve(app) -> tuple[str, object]:
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def signed_in(base: str, email: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30, headers={"Accept-Language": "zh-CN"})
    if email:
        page = c.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        r = c.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
        assert r.status_code == 303, (email, r.status_code)
    return c


def fill(url: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{([a-z_]+:[a-z0-9_\-]+)\}", lambda m: str(ids[m.group(1)]), url)


def time_page(c: httpx.Client, url: str, n: int) -> dict:
    status = c.get(url).status_code  # warm-up (templates compiled, caches filled)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = c.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        status = r.status_code
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return {"status": status, "n": n, "p50_ms": round(statistics.median(times), 1), "p95_ms": round(p95, 1),
            "ok": p95 <= TARGET_P95_MS and status < 400}


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the results
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--model", action="store_true", help="rank with the real model (default: hashing embedder)")
    ap.add_argument("--only", nargs="*", default=None, help="time only these URLs (as listed in PAGES)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="clinmatch-pages-") as d:
        t0 = time.perf_counter()
        app, ids = build(Path(d), args.model)
        print(f"demo world seeded in {time.perf_counter() - t0:.1f} s")
        base, server = serve(app)
        results = []
        try:
            for role, (email, urls) in PAGES.items():
                client = signed_in(base, email)
                for url in urls:
                    if args.only and url not in args.only:
                        continue
                    res = {"role": role, "url": url, **time_page(client, fill(url, ids), args.requests)}
                    results.append(res)
                    print(f"{role:<12} {url:<45} {res['status']}  p50 {res['p50_ms']:7.1f} ms  "
                          f"p95 {res['p95_ms']:7.1f} ms  {'ok' if res['ok'] else 'OVER 150 ms'}", flush=True)
                client.close()
        finally:
            server.should_exit = True
    worst = max((r["p95_ms"] for r in results), default=0.0)
    print(f"worst p95: {worst} ms (target {TARGET_P95_MS} ms): {'met' if worst <= TARGET_P95_MS else 'NOT met'}")
    print(json.dumps({"target_p95_ms": TARGET_P95_MS, "requests": args.requests, "pages": results}, indent=1))


if __name__ == "__main__":
    main()
