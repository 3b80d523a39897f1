"""Every write leaves an audit event: who, what, which fields, when, and the request id."""

from __future__ import annotations


def test_writes_are_audited_with_fields_and_request_id(client, world, make_need):
    h = {**world["hospital"].headers, "X-Request-ID": "3f2c1b0a9e8d4c7b8a6f5e4d3c2b1a09"}
    need = client.post("/api/v1/needs", json={"title": "审计", "description": "描述", "tracks": ["imaging"]},
                       headers=h).json()
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"title": "审计 2", "status": "open", "version": 1},
                     headers=h)
    server_id = r.headers["x-request-id"]
    events = client.get("/api/v1/audit", params={"entity": "need", "entity_id": need["id"]},
                        headers=world["commission"].headers).json()["items"]
    assert [e["action"] for e in events] == ["status:open", "create"]
    upd, created = events
    assert upd["user_id"] == world["hospital"].user_id and upd["organisation_id"] == world["hospital"].org_id
    # the request id is the server's own; the one the caller sent is kept beside it, never instead of it
    assert upd["request_id"] == server_id != "3f2c1b0a9e8d4c7b8a6f5e4d3c2b1a09"
    assert upd["client_request_id"] == "3f2c1b0a9e8d4c7b8a6f5e4d3c2b1a09"
    assert upd["changes"]["title"] == ["审计", "审计 2"] and upd["changes"]["status"] == ["draft", "open"]
    assert created["changes"]["title"] == [None, "审计"]


def test_every_kind_of_write_is_audited(client, world, make_capability):
    admin = world["admin"].headers
    before = client.get("/api/v1/audit", headers=admin).json()["total"]
    org = client.post("/api/v1/organisations", json={"kind": "platform", "name_zh": "常州中试平台", "region": "changzhou"},
                      headers=admin).json()
    user = client.post("/api/v1/users", json={"email": "p@example.org", "role": "company_staff",
                                              "organisation_id": org["id"]}, headers=admin).json()
    tok = client.post(f"/api/v1/users/{user['id']}/tokens", json={"name": "ci"}, headers=admin).json()
    client.delete(f"/api/v1/tokens/{tok['id']}", headers=admin)
    cap = make_capability()
    client.post("/api/v1/notes", json={"entity": "capability", "entity_id": cap["id"], "body": "called them"},
                headers=world["commission"].headers)
    events = client.get("/api/v1/audit", params={"limit": 100}, headers=admin).json()
    assert events["total"] == before + 6
    got = {(e["entity"], e["action"]) for e in events["items"][:6]}
    assert got == {("organisation", "create"), ("user", "create"), ("token", "create"), ("token", "revoke"),
                   ("capability", "create"), ("note", "create")}
    # The trail itself cannot be changed through the API.
    first = events["items"][0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, f"/api/v1/audit/{first}", headers=admin).status_code in (404, 405)
        assert client.request(method, "/api/v1/audit", headers=admin).status_code == 405


def test_failed_write_leaves_no_trace(client, world, make_need):
    need = make_need()
    before = client.get("/api/v1/audit", headers=world["admin"].headers).json()["total"]
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"title": "x", "version": 9}, headers=world["hospital"].headers)
    assert r.status_code == 409
    assert client.get("/api/v1/audit", headers=world["admin"].headers).json()["total"] == before
