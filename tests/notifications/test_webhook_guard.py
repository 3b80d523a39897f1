"""Webhooks go only to public https receivers (app/services/notifications/netguard.py): internal addresses in every
spelling, metadata names and URLs with credentials are refused at registration (POST and PATCH, 422 naming ``url``)
and again when the worker sends; redirects are not followed; a failure keeps a status and a short reason, never the
receiver's body."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models import Delivery, WebhookEndpoint
from tests.notifications.conftest import Receiver, add_endpoint, set_prefs
from tests.notifications.test_delivery import _drain, _queue, _statuses

INTERNAL = [
    "https://127.0.0.1/hook", "https://localhost/hook", "https://0.0.0.0/", "https://0/", "https://[::1]/",
    "https://[::]/", "https://2130706433/", "https://0x7f.1/", "https://017700000001/", "https://127.1/",
    "https://[::ffff:127.0.0.1]/", "https://[64:ff9b::7f00:1]/", "https://[64:ff9b:1::a00:1]/",
    "https://[2002:7f00:1::]/", "https://[::127.0.0.1]/", "https://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/", "https://metadata/", "https://service.internal/",
    "https://10.0.0.1/", "https://172.16.0.1/", "https://192.168.1.1/", "https://100.64.0.1/",
    "https://[fe80::1]/", "https://[fc00::1]/", "https://224.0.0.1/", "https://[ff02::1]/", "https://240.0.0.1/",
    "https://198.18.0.1/", "https://192.0.2.1/", "https://user:secret@127.0.0.1/", "https://user:pw@8.8.8.8/",
    "http://8.8.8.8/hook", "https://name-that-does-not-resolve.invalid/",
]


@pytest.fixture
def settings(db_url, smtp_server):
    """Defaults: https only, no allow-list (what a deployment gets)."""
    from pathlib import Path

    from app.config import Settings

    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False,
                    delivery_backoff_base_seconds=0.05, delivery_backoff_max_seconds=0.2, delivery_max_attempts=2,
                    webhook_timeout_seconds=2)


def _refused(r, *words: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in body["errors"]] == ["url"], body
    for w in words:
        assert w in body["errors"][0]["message"], body


def test_internal_addresses_credentials_and_http_are_refused_at_registration(client, world):
    h = world["company"].headers
    for url in INTERNAL:
        r = client.post("/api/v1/webhooks", json={"url": url}, headers=h)
        _refused(r, "not accepted")
    assert client.get("/api/v1/webhooks", headers=h).json()["total"] == 0
    _refused(client.post("/api/v1/webhooks", json={"url": "https://2130706433/"}, headers=h), "127.0.0.1", "loopback")
    _refused(client.post("/api/v1/webhooks", json={"url": "https://u:p@8.8.8.8/"}, headers=h), "credentials")
    _refused(client.post("/api/v1/webhooks", json={"url": "http://8.8.8.8/"}, headers=h), "https")
    _refused(client.post("/api/v1/webhooks", json={"url": "https://169.254.169.254/"}, headers=h), "link-local")


def test_a_public_https_address_is_accepted(client, world):
    r = client.post("/api/v1/webhooks", json={"url": "https://8.8.8.8/hook"}, headers=world["company"].headers)
    assert r.status_code == 201, r.text


def test_the_allow_list_admits_only_what_it_names(app, client, world):
    app.state.settings.webhook_allow_http = True
    app.state.settings.webhook_allow_hosts = "127.0.0.1"
    h = world["company"].headers
    ep = add_endpoint(client, world["company"], Receiver())
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://localhost/", "http://10.0.0.1/"):
        _refused(client.post("/api/v1/webhooks", json={"url": url}, headers=h))
    # PATCH of the URL is held to the same rule
    for url in ("https://169.254.169.254/", "http://0x7f000002/", "https://u:p@127.0.0.1/"):
        r = client.patch(f"/api/v1/webhooks/{ep['id']}", json={"url": url, "version": ep["version"]}, headers=h)
        _refused(r)
    assert client.get(f"/api/v1/webhooks/{ep['id']}", headers=h).json()["url"] == ep["url"]


def test_an_internal_address_is_refused_again_when_sending(app, client, world, worker):
    """An endpoint stored before the rule (or whose name now resolves inside): the worker does not connect."""
    set_prefs(client, world["company"], channels=["webhook"])
    inside = Receiver().start()
    try:
        with Session(app.state.engine) as s:
            s.add(WebhookEndpoint(organisation_id=world["company"].org_id, url=f"https://127.0.0.1:{inside.port}/x",
                                  secret="whsec_" + "A" * 44))
            s.add(WebhookEndpoint(organisation_id=world["company"].org_id, url=f"https://u:p@{inside.port}.example/",
                                  secret="whsec_" + "A" * 44))
            s.commit()
        _queue(app, world["company"].org_id, 1)
        _drain(worker, lambda: set(_statuses(app).values()) == {"dead"})
        assert inside.received == []
        with Session(app.state.engine) as s:
            errors = sorted(d.last_error for d in s.exec(select(Delivery)).all())
        assert errors[0] == "blocked address: 127.0.0.1 (loopback)"
        assert errors[1].startswith("credentials in the URL are not accepted") and "p@" not in errors[1]
    finally:
        inside.stop()


@pytest.fixture
def loopback(app):
    app.state.settings.webhook_allow_http = True
    app.state.settings.webhook_allow_hosts = "127.0.0.1"
    from app.jobs.worker import Worker

    w = Worker(app.state.engine, app.state.settings)
    yield w
    w._client.close()


def test_a_failure_keeps_the_status_and_a_reason_never_the_body(app, client, world, loopback, receiver):
    set_prefs(client, world["company"], channels=["webhook"])
    add_endpoint(client, world["company"], receiver)
    receiver.status, receiver.reply = 500, b'{"internal": "db password hunter2"}'
    (key,) = _queue(app, world["company"].org_id, 1)
    _drain(loopback, lambda: _statuses(app)[key] == "dead")
    (dead,) = client.get("/api/v1/deliveries", headers=world["company"].headers).json()["items"]
    assert dead["last_error"] == "HTTP 500 Internal Server Error" and dead["last_status_code"] == 500


def test_connection_refused_is_a_short_reason(app, client, world, loopback):
    set_prefs(client, world["company"], channels=["webhook"])
    add_endpoint(client, world["company"], Receiver())  # nobody listens
    (key,) = _queue(app, world["company"].org_id, 1)
    _drain(loopback, lambda: _statuses(app)[key] == "dead")
    (dead,) = client.get("/api/v1/deliveries", headers=world["company"].headers).json()["items"]
    assert dead["last_error"] == "connection refused" and dead["last_status_code"] is None


def test_redirects_are_not_followed(app, client, world, loopback, receiver):
    set_prefs(client, world["company"], channels=["webhook"])
    inside = Receiver().start()
    try:
        add_endpoint(client, world["company"], receiver)
        receiver.status, receiver.reply_headers = 307, {"location": inside.url}
        (key,) = _queue(app, world["company"].org_id, 1)
        _drain(loopback, lambda: _statuses(app)[key] == "dead")
        assert inside.received == [] and len(receiver.received) == 2
        (dead,) = client.get("/api/v1/deliveries", headers=world["company"].headers).json()["items"]
        assert dead["last_error"] == "HTTP 307 Temporary Redirect"
    finally:
        inside.stop()


def test_a_name_is_resolved_checked_and_connected_to_with_its_host_header(app, client, world, receiver):
    """An allow-listed name: the worker connects to the address it checked, and the request still names the host."""
    app.state.settings.webhook_allow_http = True
    app.state.settings.webhook_allow_hosts = "localhost"
    from app.jobs.worker import Worker

    set_prefs(client, world["company"], channels=["webhook"])
    r = client.post("/api/v1/webhooks", json={"url": f"http://localhost:{receiver.port}/hook"},
                    headers=world["company"].headers)
    assert r.status_code == 201, r.text
    receiver.secrets.append(r.json()["secret"])
    w = Worker(app.state.engine, app.state.settings)
    try:
        (key,) = _queue(app, world["company"].org_id, 1)
        _drain(w, lambda: _statuses(app)[key] == "delivered")
    finally:
        w._client.close()
    assert [x["host"] for x in receiver.received] == [f"localhost:{receiver.port}"]
