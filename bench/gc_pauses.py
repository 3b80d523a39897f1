"""Stop-the-world pauses of Python's garbage collector in the running server with a large match index, with and
without freezing what lives for the process (``Settings.gc_freeze``, ``app.services.matching.index.freeze_long_lived``).

    python bench/gc_pauses.py [--n 100000] [--duration 20] [--rounds 2] [--embedder hashing|model]

What runs, in one process: the real app (``create_app``, its lifespan) served by uvicorn (uvloop, httptools) in a
thread, over a SQLite database holding the dev set (40 needs, 160 capabilities, ``bench/synthetic.py``'s
``load_db``); then synthetic capabilities up to ``--n`` are put into the app's match index (``bench/synthetic.py``'s
variants, with their vectors and stored analyses, cached under var/bench-cache) as its start-up sync puts rows in.
The database does not hold them: inserting 100k rows costs minutes and adds no object the collector keeps (a
request's ORM rows die with it); ranking still scores every one, and responses leave them out.

Then ``wrk`` (64 connections, from its own process) drives a mix in rounds, each round once per mode, alternating
which goes first: ``off`` (every object back in the collector's generations, ``gc.unfreeze()``: as before) and
``freeze`` (``freeze_long_lived()``, as the app does after start-up). The mix, in turn: ``GET /needs/{id}``,
``GET /capabilities/{id}``, ``GET /needs?limit=20``, ``GET /needs/{id}/matches`` (ranks all ``--n``; the ranking
cache is on, as in production). Every collection is timed with ``gc.callbacks`` (called at its start and end,
inside the pause); printed per mode: collections per generation, the longest and the 99th-percentile pause, the
mean full collection, all pauses as a share of the run, the objects the collector tracks, and wrk's req/s, p50, p99.

``--embedder hashing`` (default): the index holds the hashing embedder's 64-dim vectors instead of the model's 512:
arrays, which the collector does not track, so the pauses are the same; ``model`` needs the model's vectors of all
``--n`` capabilities (computed once, ~150 capabilities/s on 2 cores, then cached).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np
import synthetic

NO_ROW = 10_000_000  # ids of the synthetic capabilities in the index (no database row: left out of responses)


class PauseRecorder:
    """Times every collection through ``gc.callbacks`` (called in the collecting thread at the pause's start and
    end): wall time, and the thread's CPU time, which a busy machine's preemption does not stretch."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []  # (generation, wall ms, CPU ms)
        self._t0 = self._c0 = 0.0
        self.on = False

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0, self._c0 = time.perf_counter(), time.thread_time()
        elif self.on:
            self.pauses.append((info["generation"], 1000 * (time.perf_counter() - self._t0),
                                1000 * (time.thread_time() - self._c0)))


def summary(pauses: list[tuple[int, float, float]], wall_s: float) -> dict:
    out: dict = {"collections": {str(g): sum(1 for x, *_ in pauses if x == g) for g in (0, 1, 2)},
                 "wall_s": round(wall_s, 2)}
    for k, col in (("cpu", 2), ("wall", 1)):
        ms = np.array([p[col] for p in pauses]) if pauses else np.zeros(1)
        full = [p[col] for p in pauses if p[0] == 2]
        out[k] = {"max_ms": round(float(ms.max()), 1), "p99_ms": round(float(np.percentile(ms, 99)), 2),
                  "young_max_ms": round(max([p[col] for p in pauses if p[0] < 2] or [0.0]), 1),
                  "full_max_ms": round(max(full), 1) if full else None,
                  "full_mean_ms": round(float(np.mean(full)), 1) if full else None,
                  "paused_ms": round(float(ms.sum())), "paused_share": round(float(ms.sum()) / 1000 / wall_s, 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000, help="capabilities in the index (dev set's 160 + synthetic)")
    ap.add_argument("--duration", type=int, default=20, help="seconds of wrk per mode and round")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--port", type=int, default=8795)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--embedder", choices=("hashing", "model"), default="hashing")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")
    os.environ["CLINMATCH_EMBEDDER"] = a.embedder  # load_db's embedder too
    logging.getLogger("httpx").setLevel(logging.WARNING)
    import httpx
    import uvicorn
    from api_throughput import run_wrk

    from app.config import Settings
    from app.main import create_app
    from app.services.matching.index import freeze_long_lived

    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-gc-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    info = synthetic.load_db(url, 160, progress=False)
    settings = Settings(database_url=url, embedder=a.embedder, worker_in_process=False, gc_freeze=False)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=a.port, loop="uvloop", http="httptools",
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit("server did not start")
        time.sleep(0.1)
    base = f"http://127.0.0.1:{a.port}"
    rec = PauseRecorder()
    gc.callbacks.append(rec)
    try:
        m = app.state.match_index.matcher
        syn = synthetic.variants(synthetic.dev_dataset().capabilities, max(0, a.n - 160))
        t0 = time.perf_counter()
        payload = synthetic.vectors(m, syn)
        blobs = synthetic.analyses(m, syn)
        print(f"vectors and analyses of {len(syn)} synthetic capabilities: {time.perf_counter() - t0:.0f} s",
              file=sys.stderr)
        t0 = time.perf_counter()
        for i in range(0, len(syn), 2000):
            chunk = syn[i:i + 2000]
            vecs = {"model": m.model_name, "version": m.vector_version, "vectors": {}, "analysis": {}}
            for j, d in enumerate(chunk):  # numeric ids past the database's, as the service's ids are
                vecs["vectors"][str(NO_ROW + i + j)] = payload["vectors"][d.id]
                vecs["analysis"][str(NO_ROW + i + j)] = blobs[d.id]
                d.id = str(NO_ROW + i + j)
            m.upsert_capabilities(chunk, vectors=vecs)
        m.trim()
        del payload, blobs, syn, chunk, vecs
        print(f"index of {len(m)} capabilities built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        token, needs, caps = info["token"], info["need_ids"], info["capability_ids"]
        paths = []
        for i in range(len(needs)):
            paths += [f"/api/v1/needs/{needs[i]}", f"/api/v1/capabilities/{caps[i % len(caps)]}",
                      "/api/v1/needs?limit=20", f"/api/v1/needs/{needs[i]}/matches"]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
            for p in paths:  # warm: each need embedded once, as the service caches it
                assert c.get(p).status_code == 200, p
        results: dict[str, list[dict]] = {"off": [], "freeze": []}
        for rnd in range(a.rounds):
            for mode in (("off", "freeze") if rnd % 2 == 0 else ("freeze", "off")):
                gc.unfreeze()
                t0 = time.perf_counter()
                frozen = freeze_long_lived() if mode == "freeze" else gc.collect() * 0
                freeze_ms = 1000 * (time.perf_counter() - t0)
                tracked = len(gc.get_objects())
                rec.pauses, rec.on = [], True
                t0 = time.perf_counter()
                w = run_wrk(base, f"mix-{mode}-{rnd}", paths, token, a, tmp)
                wall = time.perf_counter() - t0
                rec.on = False
                s = summary(rec.pauses, wall) | {
                    "tracked_objects": tracked, "frozen_objects": frozen, "freeze_ms": round(freeze_ms, 1),
                    "round": rnd, "requests": w["requests"], "rps": w["rps"], "p50_ms": w["p50_ms"],
                    "p99_ms_requests": w["p99_ms"], "errors": w["non_2xx"] + w["socket_errors"]}
                results[mode].append(s)
                print(f"round {rnd} {mode:>6}: {w['requests']} requests in {wall:.1f} s ({w['rps']} req/s, p50 "
                      f"{w['p50_ms']} ms, p99 {w['p99_ms']} ms, errors {s['errors']}); tracked {tracked:,}, frozen "
                      f"{frozen:,}; collections {s['collections']}; pauses, CPU: {s['cpu']}; wall: {s['wall']}",
                      file=sys.stderr, flush=True)
    finally:
        gc.callbacks.remove(rec)
        gc.unfreeze()
        server.should_exit = True
        thread.join(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{a.n} capabilities in the index; wrk {a.connections} connections, {a.duration} s a mode and round; "
          f"embedder {a.embedder}")
    print("pauses in ms of the collecting thread's CPU time (wall time, stretched by a busy machine, in brackets)")
    print(f"{'mode':<8}{'tracked':>10}{'gen0/1/2':>12}{'max':>14}{'p99':>14}{'young max':>14}{'full mean':>15}"
          f"{'paused':>8}{'req/s':>8}{'req p50':>9}{'req p99':>9}")
    for mode, rows in results.items():
        for s in rows:
            c, cp, wa = s["collections"], s["cpu"], s["wall"]

            def both(k, cp=cp, wa=wa):
                return f"{cp[k] if cp[k] is not None else '-'} ({wa[k] if wa[k] is not None else '-'})"
            print(f"{mode:<8}{s['tracked_objects']:>10,}{c['0']:>6}/{c['1']}/{c['2']}{both('max_ms'):>14}"
                  f"{both('p99_ms'):>14}{both('young_max_ms'):>14}{both('full_mean_ms'):>15}"
                  f"{cp['paused_share']:>8.1%}{s['rps']:>8}{s['p50_ms']:>9}{s['p99_ms_requests']:>9}")
    out = {"capabilities": a.n, "connections": a.connections, "duration_s": a.duration, "embedder": a.embedder,
           "results": results}
    print(json.dumps(out, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
