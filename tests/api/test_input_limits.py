"""Bad input is refused with a 4xx problem, never a 500 nor a silent drop: analytics dates out of range (422; the
dashboard ignores them), request bodies over the limit (413 before they are read), unknown fields in every request
body (422 naming them), NUL characters in any string (422: PostgreSQL cannot store them)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from tests.conftest import RF_CAPABILITY, TSP_NEED

PROBLEM = "application/problem+json"
EXTREME_DATES = ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31")


def _fields(r) -> set[str]:
    assert r.headers["content-type"].startswith(PROBLEM), r.text
    return {e["field"] for e in r.json().get("errors", [])}


def analytics_paths(app) -> list[str]:
    """Every analytics operation of the OpenAPI document (breakdowns by month)."""
    return [p.replace("{dimension}", "month") for p in app.openapi()["paths"] if p.startswith("/api/v1/analytics")]


# --- analytics dates -----------------------------------------------------------------------------------------------

def test_analytics_dates_out_of_range_are_422_on_every_endpoint(app, client, world):
    h = world["commission"].headers
    paths = analytics_paths(app)
    assert len(paths) >= 14
    for path in paths:
        for field in ("date_from", "date_to"):
            for day in EXTREME_DATES:
                r = client.get(path, params={field: day}, headers=h)
                assert r.status_code == 422 and _fields(r) == {field}, (path, field, day, r.text)
        r = client.get(path, params={"date_from": "2000-01-01", "date_to": "2100-12-31"}, headers=h)
        assert r.status_code == 200, (path, r.text)
    r = client.get("/api/v1/analytics/funnel", params={"date_to": "9999-12-31"}, headers=h)
    assert "2000-01-01" in r.json()["errors"][0]["message"] and "2100-12-31" in r.json()["errors"][0]["message"]


def test_the_dashboard_ignores_dates_out_of_range(client, world):
    h = world["commission"].headers
    for day in EXTREME_DATES:
        for url in (f"/dashboard?date_to={day}", f"/dashboard?date_from={day}",
                    f"/dashboard/export/funnel.csv?date_to={day}",
                    f"/dashboard/export/breakdowns-month.csv?date_from={day}"):
            r = client.get(url, headers=h)
            assert r.status_code == 200, (url, r.text[:300])


# --- body size -----------------------------------------------------------------------------------------------------

def _padded_need(size: int) -> bytes:
    body = json.dumps({**TSP_NEED, "title": "padded"}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"  # whitespace is valid JSON


def test_a_json_body_over_the_limit_is_413(app, client, world):
    limit = app.state.settings.max_json_bytes
    h = {**world["hospital"].headers, "content-type": "application/json"}
    assert client.post("/api/v1/needs", content=_padded_need(limit), headers=h).status_code == 201
    r = client.post("/api/v1/needs", content=_padded_need(limit + 1), headers=h)
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM), r.text
    assert r.json()["max_bytes"] == limit and str(limit) in r.json()["detail"]

    def chunks():  # no Content-Length: counted as it streams
        body = _padded_need(3 * limit)
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = client.post("/api/v1/needs", content=chunks(), headers=h)
    assert r.status_code == 413 and r.json()["status"] == 413, r.text
    assert client.get("/api/v1/needs", params={"q": "padded"}, headers=h).json()["total"] == 1


def test_an_oversized_body_is_refused_before_it_is_sent(live_server, world):
    """Content-Length alone decides: the answer comes while the 30 MB have not been sent."""
    u = urlsplit(live_server)
    with socket.create_connection((u.hostname, u.port), timeout=15) as s:
        s.sendall(b"POST /api/v1/needs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + world["hospital"].token.encode() + b"\r\n"
                  b"Content-Length: 31457280\r\n\r\n{\"title\": \"")
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


# --- unknown fields ------------------------------------------------------------------------------------------------

def _json_body_operations(app) -> list[tuple[str, str]]:
    ops = []
    for path, methods in app.openapi()["paths"].items():
        for method, op in methods.items():
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                ops.append((method.upper(), path))
    return ops


def test_every_request_body_refuses_unknown_fields(app, client, world):
    ops = _json_body_operations(app)
    assert len(ops) >= 23
    for method, path in ops:
        url = path
        for name in ("org_id", "user_id", "need_id", "cap_id", "engagement_id", "milestone_id", "endpoint_id"):
            url = url.replace("{" + name + "}", "1")
        r = client.request(method, url, json={"colour": "red"}, headers=world["admin"].headers)
        assert r.status_code == 422 and "colour" in _fields(r), (method, path, r.status_code, r.text)
    # inside a batch too, naming the item
    r = client.post("/api/v1/capabilities/batch", json={"items": [RF_CAPABILITY, {**RF_CAPABILITY, "colour": 1}]},
                    headers=world["company"].headers)
    assert r.status_code == 422 and _fields(r) == {"items.1.colour"}, r.text
    r = client.post("/api/v1/needs", json={**TSP_NEED, "titel": "typo"}, headers=world["hospital"].headers)
    assert r.status_code == 422 and _fields(r) == {"titel"}
    assert r.json()["errors"][0]["message"].startswith("Unknown field")


def test_request_bodies_forbid_extras_and_responses_do_not(app):
    schema = app.openapi()
    components = schema["components"]["schemas"]
    bodies = {op["requestBody"]["content"]["application/json"]["schema"].get("$ref", "").rsplit("/", 1)[-1]
              for m in schema["paths"].values() for op in m.values()
              if "application/json" in op.get("requestBody", {}).get("content", {})}
    bodies |= {"SecretRotation"}
    for name in bodies - {""}:
        assert components[name].get("additionalProperties") is False, name
    for name in ("NeedPublic", "CapabilityPublic", "WebhookPublic", "DeliveryPublic", "UserPublic", "Problem"):
        assert components[name].get("additionalProperties") is not False, name


# --- NUL characters ------------------------------------------------------------------------------------------------

def test_nul_characters_are_422_in_bodies_and_queries(client, world, make_need):
    """On PostgreSQL each of these was a 500 (text cannot hold NUL); on SQLite they were stored."""
    hosp, comp, comm = (world[p].headers for p in ("hospital", "company", "commission"))
    cases = [
        ("/api/v1/needs", {**TSP_NEED, "title": "TSP\x00 monitor"}, hosp, "title"),
        ("/api/v1/needs", {**TSP_NEED, "required_certifications": ["ISO\x0013485"]}, hosp, "required_certifications"),
        ("/api/v1/capabilities", {**RF_CAPABILITY, "description": "RF \x00ablation"}, comp, "description"),
    ]
    need = make_need()
    cases.append(("/api/v1/notes", {"entity": "need", "entity_id": need["id"], "body": "call\x00back"}, comm, "body"))
    for path, body, headers, field in cases:
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 422 and _fields(r) == {field}, (path, r.text)
        assert "NUL" in r.json()["errors"][0]["message"]
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"version": need["version"], "department": "x\x00"},
                     headers=hosp)
    assert r.status_code == 422 and _fields(r) == {"department"}
    for params in ({"q": "a\x00b"}, {"q": "\x00"}):
        r = client.get("/api/v1/needs", params=params, headers=hosp)
        assert r.status_code == 422 and _fields(r) == {"q"}, r.text
    assert client.get("/api/v1/needs", headers=hosp).json()["total"] == 1
    assert client.get("/api/v1/capabilities", headers=comp).json()["total"] == 0


def test_other_control_characters_and_scripts_are_kept(client, world):
    for text in ("tab\there", "line\nbreak", "中文 ü \u202e"):
        r = client.post("/api/v1/needs", json={**TSP_NEED, "description": text}, headers=world["hospital"].headers)
        assert r.status_code == 201 and r.json()["description"] == text
