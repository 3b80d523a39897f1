"""The notification worker: dispatch events, make digests and reminders, deliver what is due; in a loop (a job).

Runs as its own process (``clinmatch worker``; a docker-compose service) or as a daemon thread inside each server
process (``CLINMATCH_WORKER_IN_PROCESS``, the embedded default). Any number may run at once: every step claims its
work (see ``outbox.claim``), so a message is never sent by two workers at the same time, and a killed worker's
claims expire and are taken up again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.config import Settings
from app.jobs import outbox, scheduler
from app.services.notifications import netguard

log = logging.getLogger("clinmatch.worker")

CLOCK_EVERY_SECONDS = 60.0  # digests and reminders: looked at once a minute


@dataclass
class Tick:
    events: int = 0
    digests: int = 0
    reminders: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def busy(self) -> bool:
        return bool(self.events or self.delivered or self.failed or self.dead)


class Worker:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_clock = 0.0
        self._client = netguard.client(settings)

    def run_once(self, clock: bool | None = None) -> Tick:
        """One round. ``clock``: run digests and reminders (default: when a minute has passed since the last)."""
        t = Tick()
        # Drain the events first: a burst of filings becomes messages before anything is delivered.
        while n := outbox.dispatch_events(self.engine, self.settings):
            t.events += n
        if clock or (clock is None and time.monotonic() - self._last_clock >= CLOCK_EVERY_SECONDS):
            self._last_clock = time.monotonic()
            try:  # a failing clock step must not hold up the deliveries below
                t.reminders = scheduler.run_reminders(self.engine, self.settings)
                t.digests = scheduler.run_digests(self.engine, self.settings)
            except Exception:
                log.exception("digests or reminders failed; the next round tries again")
            while n := outbox.dispatch_events(self.engine, self.settings):
                t.events += n
        run = outbox.deliver_due(self.engine, self.settings, self._client)
        t.delivered, t.failed, t.dead = run.delivered, run.failed, run.dead
        return t

    def run_forever(self) -> None:
        log.info("notification worker started (poll %.1f s, batch %d)", self.settings.worker_poll_seconds,
                 self.settings.worker_batch_size)
        while not self._stop.is_set():
            try:
                t = self.run_once()
            except Exception:  # the database restarting, say: wait and try again, never die
                log.exception("worker round failed; retrying")
                t = Tick()
            if t.busy:
                log.info("worker: %s", t)
            else:
                self._stop.wait(self.settings.worker_poll_seconds)
        self._client.close()

    def start(self) -> Worker:
        self._thread = threading.Thread(target=self.run_forever, name="clinmatch-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
