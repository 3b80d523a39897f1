"""CPU cost of the JSON access log (``app/access_log.py``) per request, in-process.

    python bench/access_log_cost.py [--requests 20000] [--rounds 3]

The app's real middleware stack (``create_app``: request id, access log, admission, routing, FastAPI) serves
``GET /healthz`` in a loop through ASGI with no network, with the access log on (lines written to a file, as a
server's stderr redirected to one) and off, rounds alternating; printed: CPU microseconds per request for each and
the difference, which is the log's cost. ``bench/api_throughput.py --access-log on|off`` measures it over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def drive(app, n: int) -> float:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/healthz", "raw_path": b"/healthz", "root_path": "", "query_string": b"", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "app": app}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    t0 = time.process_time()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from app import access_log
    from app.config import Settings
    from app.main import create_app

    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-log-bench-"))
    apps = {mode: create_app(Settings(database_url=f"sqlite:///{tmp / 'x.db'}", embedder="hashing",
                                      access_log=mode == "on", worker_in_process=False)) for mode in ("on", "off")}
    out = (tmp / "access.log").open("w")
    for h in access_log.log.handlers:  # the lines go to a file, as a server's redirected stderr
        if isinstance(h, logging.StreamHandler):
            access_log.log.removeHandler(h)
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access_log.log.addHandler(handler)
    res: dict[str, list[float]] = {"on": [], "off": []}
    for rnd in range(a.rounds):
        for mode in (("on", "off") if rnd % 2 == 0 else ("off", "on")):
            res[mode].append(1e6 * asyncio.run(drive(apps[mode], a.requests)) / a.requests)
    out.close()
    lines = sum(1 for _ in (tmp / "access.log").open())
    best = {m: min(v) for m, v in res.items()}
    print(f"GET /healthz through the app's middleware, {a.requests} requests x {a.rounds} rounds, CPU us/request "
          f"(best of rounds): access log on {best['on']:.1f}, off {best['off']:.1f}, cost "
          f"{best['on'] - best['off']:.1f} us ({lines} lines written); all rounds: on "
          f"{[round(x, 1) for x in res['on']]}, off {[round(x, 1) for x in res['off']]}")
    for app in apps.values():
        app.state.engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
