"""Platforms' resources and booking requests: a request, the platform's inbox, accept or decline, the requester's
withdrawal; the platform hears of a request and the requester of the answer."""

from __future__ import annotations

from app.jobs.outbox import dispatch_events
from tests.industry.conftest import notifications_of

PIG = {"kind": "animal_model", "name": "小型猪心血管介入手术模型", "species": "小型猪",
       "location": "实验动物中心", "booking_contact": "动物中心前台", "description": "房间隔穿刺动物实验"}


def _resource(client, platform, **over):
    r = client.post("/api/v1/industry/resources", json={**PIG, **over}, headers=platform.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_only_a_platform_or_lab_lists_resources(client, world, platform):
    assert client.post("/api/v1/industry/resources", json=PIG, headers=world["company"].headers).status_code == 403
    assert client.post("/api/v1/industry/resources", json=PIG, headers=world["hospital"].headers).status_code == 403
    assert client.post("/api/v1/industry/resources", json={**PIG, "kind": "spaceship"},
                       headers=platform.headers).status_code == 422
    assert client.post("/api/v1/industry/resources", json={**PIG, "name": "  "},
                       headers=platform.headers).status_code == 422
    res = _resource(client, platform)
    assert res["organisation"]["id"] == platform.org_id
    lab = _resource(client, world["lab"], kind="instrument", name="飞秒激光加工平台", model="Demo-FS-100", species=None,
                    location="闵行", description="超快激光微加工")
    # search reaches the structured fields
    found = client.get("/api/v1/industry/resources?q=小型猪", headers=world["company"].headers).json()
    assert [r["id"] for r in found["items"]] == [res["id"]]
    found = client.get("/api/v1/industry/resources?q=FS-100", headers=world["hospital"].headers).json()
    assert [r["id"] for r in found["items"]] == [lab["id"]]
    assert client.get("/api/v1/industry/resources?kind=animal_model", headers=world["hospital"].headers
                      ).json()["total"] == 1
    # the platform changes and retires it; nobody else may
    url = f"/api/v1/industry/resources/{res['id']}"
    assert client.patch(url, json={"capacity": "2 间"}, headers=world["lab"].headers).status_code == 403
    assert client.patch(url, json={"capacity": "2 间"}, headers=platform.headers).json()["capacity"] == "2 间"
    assert client.patch(url, json={"active": False}, headers=platform.headers).json()["active"] is False
    assert client.get("/api/v1/industry/resources?q=小型猪", headers=world["company"].headers).json()["total"] == 0
    assert client.get("/api/v1/industry/resources/999999", headers=world["company"].headers).status_code == 404


def test_booking_request_accept_flow(client, world, platform, app, settings):
    res = _resource(client, platform)
    body = {"resource_id": res["id"], "message": "TSP 动物实验，需 6 头", "wanted_from": "2027-03-01",
            "wanted_to": "2027-03-20"}
    r = client.post("/api/v1/industry/bookings", json=body, headers=world["company"].headers)
    assert r.status_code == 201, r.text
    b = r.json()
    assert b["status"] == "pending" and b["requester"]["id"] == world.orgs["company"]
    assert b["platform"]["id"] == platform.org_id and b["resource_name"] == PIG["name"]
    # the platform's inbox; the requester's sent box; a third party sees nothing
    inbox = client.get("/api/v1/industry/bookings?box=inbox", headers=platform.headers).json()
    assert [x["id"] for x in inbox["items"]] == [b["id"]]
    assert client.get("/api/v1/industry/bookings?box=inbox", headers=world["company"].headers).json()["total"] == 0
    assert client.get("/api/v1/industry/bookings?box=sent", headers=world["company"].headers).json()["total"] == 1
    assert client.get(f"/api/v1/industry/bookings/{b['id']}", headers=world["company_b"].headers).status_code == 404
    assert client.get(f"/api/v1/industry/bookings/{b['id']}", headers=world["commission"].headers).status_code == 200
    dispatch_events(app.state.engine, settings)
    told = [n for n in notifications_of(client, platform) if n["kind"] == "industry"]
    assert len(told) == 1 and "小型猪" in told[0]["title"]
    # only the platform answers
    url = f"/api/v1/industry/bookings/{b['id']}"
    assert client.post(url + "/accept", headers=world["company"].headers).status_code == 403
    assert client.post(url + "/accept", headers=world["commission"].headers).status_code == 403
    r = client.post(url + "/accept", json={"answer": "3 月 5 日起可安排"}, headers=platform.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["answer"] == "3 月 5 日起可安排"
    assert client.post(url + "/decline", headers=platform.headers).status_code == 409
    assert client.post(url + "/withdraw", headers=world["company"].headers).status_code == 409
    assert client.post(url + "/approve", headers=platform.headers).status_code == 422
    dispatch_events(app.state.engine, settings)
    told = [n for n in notifications_of(client, world["company"]) if n["kind"] == "industry"]
    assert len(told) == 1 and "已接受" in told[0]["title"]  # the organisation reads Chinese (its default)


def test_decline_withdraw_and_bad_requests(client, world, platform):
    res = _resource(client, platform)
    make = lambda who: client.post("/api/v1/industry/bookings", json={"resource_id": res["id"], "message": "请安排"},
                                   headers=world[who].headers).json()
    b1, b2 = make("hospital"), make("company_b")
    r = client.post(f"/api/v1/industry/bookings/{b1['id']}/decline", json={"answer": "已满"}, headers=platform.headers)
    assert r.json()["status"] == "declined"
    assert client.post(f"/api/v1/industry/bookings/{b2['id']}/withdraw", headers=platform.headers).status_code == 403
    assert client.post(f"/api/v1/industry/bookings/{b2['id']}/withdraw",
                       headers=world["company_b"].headers).json()["status"] == "withdrawn"
    bad = [({"resource_id": 999999, "message": "x"}, 422), ({"resource_id": res["id"], "message": ""}, 422),
           ({"resource_id": res["id"], "message": "x", "wanted_from": "2027-03-02", "wanted_to": "2027-03-01"}, 422),
           ({"resource_id": res["id"], "message": "x", "extra": 1}, 422),
           ({"resource_id": res["id"], "message": "x", "wanted_from": "next week"}, 422)]
    for body, status in bad:
        assert client.post("/api/v1/industry/bookings", json=body, headers=world["company"].headers).status_code \
            == status, body
    # a platform does not book its own resources; the commission books nothing
    assert client.post("/api/v1/industry/bookings", json={"resource_id": res["id"], "message": "x"},
                       headers=platform.headers).status_code == 403
    assert client.post("/api/v1/industry/bookings", json={"resource_id": res["id"], "message": "x"},
                       headers=world["commission"].headers).status_code == 403
    assert client.get("/api/v1/industry/bookings?box=outbox", headers=platform.headers).status_code == 422
