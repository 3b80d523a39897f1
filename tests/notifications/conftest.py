"""Real peers on loopback for the notification tests: an HTTP receiver that verifies Standard Webhooks signatures,
and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port, smtp_mailbox

# The settings that let webhooks reach the loopback receivers below (off by default: see netguard).
LOOPBACK_RECEIVERS = {"webhook_allow_http": True, "webhook_allow_hosts": "127.0.0.1"}
LOOPBACK_ENV = {"CLINMATCH_WEBHOOK_ALLOW_HTTP": "true", "CLINMATCH_WEBHOOK_ALLOW_HOSTS": "127.0.0.1"}


class Receiver:
    """Records every webhook it is sent; answers ``status`` (200 unless told otherwise) after ``delay`` seconds."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.secrets: list[str] = []
        self.status = 200
        self.delay = 0.0
        self.reply = b""  # the body of every answer
        self.reply_headers: dict[str, str] = {}
        self.received: list[dict] = []  # every request: id, verified, body, signature header
        self.accepted: dict[str, int] = {}  # webhook-id -> times answered 2xx
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError

        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in rec.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                if rec.delay:
                    time.sleep(rec.delay)
                status = rec.status if verified else 401
                with rec._lock:
                    rec.received.append({"id": headers.get("webhook-id"), "verified": verified,
                                         "body": json.loads(body), "signature": headers.get("webhook-signature"),
                                         "host": headers.get("host")})
                    if 200 <= status < 300:
                        rec.accepted[headers["webhook-id"]] = rec.accepted.get(headers["webhook-id"], 0) + 1
                self.send_response(status)
                for k, v in rec.reply_headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(rec.reply)))
                self.end_headers()
                self.wfile.write(rec.reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def smtp_server():
    with smtp_mailbox() as box:
        yield box


@pytest.fixture
def settings(db_url, smtp_server):
    """Fast retries, a real SMTP server, the worker driven by the test, and webhooks allowed to the loopback
    receivers (plain http to 127.0.0.1 only: every other internal address stays refused)."""
    from app.config import Settings

    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False,
                    smtp_host="127.0.0.1", smtp_port=smtp_server.port, delivery_backoff_base_seconds=0.05,
                    delivery_backoff_max_seconds=0.2, delivery_max_attempts=4, webhook_timeout_seconds=2,
                    **LOOPBACK_RECEIVERS)


@pytest.fixture
def worker(app):
    from app.jobs.worker import Worker

    w = Worker(app.state.engine, app.state.settings)
    yield w
    w._client.close()


def set_prefs(client, persona, **values):
    r = client.get("/api/v1/notifications/preferences", headers=persona.headers)
    r = client.put("/api/v1/notifications/preferences", json={**values, "version": r.json()["version"]},
                   headers=persona.headers)
    assert r.status_code == 200, r.text
    return r.json()


def add_endpoint(client, persona, receiver) -> dict:
    r = client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=persona.headers)
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    return r.json()
