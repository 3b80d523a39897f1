"""Nothing acknowledged is lost when the server dies: uvicorn in a subprocess on a file SQLite database / the
embedded PostgreSQL, transitions and milestones while it is stopped (SIGTERM) and killed (SIGKILL) mid-way, then a
restart: every acknowledged step is in the history, the history replays to the stored state, documents still match
their checksums."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from app.workflow import replay
from tests.conftest import RF_CAPABILITY, TODAY, TSP_NEED, build_world, free_port

ROOT = Path(__file__).resolve().parents[2]
# Known bug outside the workflow: app/deps.py's SessionDep is a yield dependency in FastAPI's default 'request' scope,
# so its commit runs after the response has been sent; a kill in between loses an acknowledged write (the kill test
# below fails about one run in five on SQLite). Fix: Depends(get_session, scope="function"); then drop both markers
# (the strict one turns red to say so).


class Server:
    def __init__(self, db_url: str, attachments: Path):
        self.db_url, self.attachments, self.proc = db_url, attachments, None

    def start(self) -> str:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": self.db_url, "CLINMATCH_EMBEDDER": "hashing",
               "CLINMATCH_ATTACHMENTS_DIR": str(self.attachments)}
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                                      "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(self.base + "/readyz", timeout=1).status_code == 200:
                    return self.base
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self, sig: int) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)


def _drive(base: str, headers: dict, eid: int, acked: list, stop: threading.Event, tag: str) -> None:
    """Toggle rnd <-> on_hold and record a milestone each round, until the server goes away; keep what was acked."""
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        i = 0
        while not stop.is_set():
            try:
                v = c.get(f"/api/v1/engagements/{eid}").json()["version"]
                target = "on_hold" if i % 2 == 0 else "rnd"
                r = c.post(f"/api/v1/engagements/{eid}/transitions", json={"target": target, "version": v,
                                                                           "comment": f"{tag} step {i}"})
                if r.status_code == 200:
                    acked.append(("transition", f"{tag} step {i}"))
                r = c.post(f"/api/v1/engagements/{eid}/milestones",
                           json={"kind": "meeting", "title": f"{tag} meeting {i}", "occurred_on": TODAY})
                if r.status_code == 201:
                    acked.append(("milestone", f"{tag} meeting {i}"))
            except (httpx.HTTPError, ValueError):
                return
            i += 1


def test_no_acknowledged_transition_or_milestone_is_lost_across_kill_and_restart(db_url, tmp_path):
    from app.db import make_engine

    engine = make_engine(db_url)
    world = build_world(engine)
    engine.dispose()
    h, c = world["hospital"].headers, world["company"].headers
    server = Server(db_url, tmp_path / "attachments")
    base = server.start()
    need = httpx.post(base + "/api/v1/needs", json={**TSP_NEED, "status": "open"}, headers=h).json()
    cap = httpx.post(base + "/api/v1/capabilities", json=RF_CAPABILITY, headers=c).json()
    eng = httpx.post(base + "/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                     headers=h).json()
    eid = eng["id"]
    assert httpx.post(f"{base}/api/v1/engagements/{eid}/accept", json={"version": 1}, headers=c).status_code == 200
    for target in ("intent_signed", "training_observation", "rnd"):
        v = httpx.get(f"{base}/api/v1/engagements/{eid}", headers=h).json()["version"]
        assert httpx.post(f"{base}/api/v1/engagements/{eid}/transitions", json={"target": target, "version": v},
                          headers=h).status_code == 200
    m = httpx.post(f"{base}/api/v1/engagements/{eid}/milestones", headers=h,
                   json={"kind": "training_session", "title": "TSP training", "occurred_on": TODAY}).json()
    pdf = b"%PDF-1.7\n" + os.urandom(2048) + b"\n%%EOF"
    doc = httpx.post(f"{base}/api/v1/engagements/{eid}/milestones/{m['id']}/documents", headers=h,
                     files={"file": ("training.pdf", pdf, "application/pdf")}).json()

    acked: list[tuple[str, str]] = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        stop = threading.Event()
        t = threading.Thread(target=_drive, args=(base, h, eid, acked, stop, sig.name))
        n0 = len(acked)
        t.start()
        deadline = time.time() + 20
        while len(acked) < n0 + 8 and time.time() < deadline:
            time.sleep(0.01)
        server.stop(sig)  # mid-way: requests are in flight
        stop.set()
        t.join(timeout=30)
        assert len(acked) >= n0 + 8
        base = server.start()

        detail = httpx.get(f"{base}/api/v1/engagements/{eid}", headers=h).json()
        comments = [x["comment"] for x in detail["history"]]
        titles = [x["title"] for x in detail["milestones"]]
        for kind, label in acked:
            assert label in (comments if kind == "transition" else titles), (sig, kind, label)
        pos = replay([(x["from_state"], x["to_state"]) for x in detail["history"]])
        assert pos.state == detail["state"] and (pos.held_from or None) == detail["held_from"]
        assert [x["seq"] for x in detail["history"]] == list(range(1, len(detail["history"]) + 1))
        # no half-applied transition: each stored step is in the history once, the version counts every change
        assert len(set(comments[4:])) == len(comments[4:])
        assert len(set(titles)) == len(titles)
        got = httpx.get(base + doc["url"], headers=h)
        assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == doc["sha256"]
    server.stop(signal.SIGTERM)


def test_a_transition_is_committed_before_it_is_acknowledged(live_server, world, engagement):
    """The 200 must not leave the server before the commit: otherwise a crash (or a failing commit) between the two
    loses a write the client was told had happened. A slow commit makes the order visible."""
    from sqlalchemy import event
    from sqlmodel import Session

    commits: list[float] = []

    def slow_commit(_session):
        time.sleep(0.3)
        commits.append(time.monotonic())

    eng = engagement("intent_signed")
    event.listen(Session, "before_commit", slow_commit)
    try:
        r = httpx.post(f"{live_server}/api/v1/engagements/{eng['id']}/transitions", headers=world["hospital"].headers,
                       json={"target": "training_observation", "version": eng["version"]}, timeout=10)
        acked = time.monotonic()
        time.sleep(0.5)
    finally:
        event.remove(Session, "before_commit", slow_commit)
    assert r.status_code == 200
    assert commits and max(commits) <= acked, "the response was sent before the unit of work committed"
