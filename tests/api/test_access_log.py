"""Access log: one JSON line per request with request id, route template, status and duration; never a token, a
query string or a raw path."""

from __future__ import annotations

import json
import logging

import pytest


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    h = Lines()
    logger = logging.getLogger("clinmatch.access")
    logger.addHandler(h)
    yield h.lines
    logger.removeHandler(h)


def test_one_json_line_per_request_without_token_or_query(client, world, make_need, access_lines):
    need = make_need()
    access_lines.clear()
    persona = world["hospital"]
    r = client.get(f"/api/v1/needs/{need['id']}", params={"q": "王小明 13812345678"},
                   headers={**persona.headers, "X-Request-ID": "4f1c2e1a0b9d4c3e8a7f6b5c4d3e2f10"})
    assert r.status_code == 200
    assert len(access_lines) == 1
    line = access_lines[0]
    entry = json.loads(line)
    # the server's own id (a client-sent one is kept aside, never used as the id)
    assert entry["request_id"] == r.headers["X-Request-ID"] != "4f1c2e1a0b9d4c3e8a7f6b5c4d3e2f10"
    assert entry["route"] == "/api/v1/needs/{need_id}"
    assert entry["method"] == "GET" and entry["status"] == 200
    assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
    assert persona.token not in line and persona.token[:10] not in line
    assert "13812345678" not in line and "?" not in line and "q=" not in line
    assert f"/needs/{need['id']}" not in line  # the template, not the path


def test_errors_and_unknown_paths_are_logged_without_the_path(client, world, access_lines):
    r = client.get("/api/v1/needs/999999", headers=world["commission"].headers)
    assert r.status_code == 404
    r = client.get("/no/such/alice@example.org")
    assert r.status_code == 404
    r = client.get("/api/v1/needs")  # no token
    assert r.status_code == 401
    entries = [json.loads(x) for x in access_lines]
    assert [(e["route"], e["status"]) for e in entries] == [
        ("/api/v1/needs/{need_id}", 404), (None, 404), ("/api/v1/needs", 401)]
    assert all(e["request_id"] for e in entries)
    assert not any("alice" in x for x in access_lines)


def test_switched_off(settings, access_lines):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"access_log": False}))
    try:
        with TestClient(app) as c:
            assert c.get("/healthz").status_code == 200
        assert access_lines == []
    finally:
        app.state.engine.dispose()
