"""Registering and maintaining capabilities."""

from __future__ import annotations


def test_company_registers_capability_with_org_region_default(client, world, make_capability):
    cap = make_capability()
    assert cap["organisation"]["id"] == world["company"].org_id
    assert cap["region"] == "putuo" and cap["language"] == "en" and cap["org_kind"] == "enterprise"
    lab = make_capability("lab", title="超快激光微加工", description="飞秒激光精密加工介入器械微结构。", region="suzhou")
    assert lab["region"] == "suzhou" and lab["language"] == "zh" and lab["org_kind"] == "lab"


def test_capability_filters(client, world, make_capability):
    a = make_capability(certifications=["ISO13485", "NMPA-III"])
    b = make_capability("lab", title="Animal study design", tracks=["biotech_rnd"], stages=["animal_trial"],
                        certifications=["GLP"])
    h = world["hospital"].headers

    def ids(**params):
        return [c["id"] for c in client.get("/api/v1/capabilities", params={**params, "sort": "id"},
                                            headers=h).json()["items"]]

    assert ids(certification="NMPA-III") == [a["id"]]
    assert ids(stage="animal_trial") == [a["id"], b["id"]]
    assert ids(track="biotech_rnd") == [b["id"]]
    assert ids(org_kind="lab") == [b["id"]]
    assert ids(region="shanghai") == [b["id"]]
    assert ids(q="animal study") == [b["id"]]


def test_archived_capabilities_leave_the_hospital_view(client, world, make_capability):
    cap = make_capability()
    url = f"/api/v1/capabilities/{cap['id']}"
    r = client.patch(url, json={"status": "archived", "version": 1}, headers=world["company"].headers)
    assert r.status_code == 200 and r.json()["status"] == "archived"
    assert client.get(url, headers=world["hospital"].headers).status_code == 404
    assert client.get(url, headers=world["company"].headers).status_code == 200
    assert client.get(url, headers=world["commission"].headers).status_code == 200


def test_capability_version_conflict(client, world, make_capability):
    cap = make_capability()
    url = f"/api/v1/capabilities/{cap['id']}"
    c = world["company"].headers
    assert client.patch(url, json={"title": "A", "version": 1}, headers=c).status_code == 200
    r = client.patch(url, json={"title": "B", "version": 1}, headers=c)
    assert r.status_code == 409 and r.json()["current_version"] == 2
    assert client.get(url, headers=c).json()["title"] == "A"
