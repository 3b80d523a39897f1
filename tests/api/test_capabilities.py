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


# --- several at once: POST /capabilities/batch -------------------------------------------------------------------

BATCH = [
    {"kind": "product", "title": "Steerable RF transseptal puncture system",
     "description": "Deflectable needle tip; RF energy crosses thick septa without pushing force.",
     "tracks": ["interventional_implant"], "stages": ["rnd", "animal_trial"], "external_ref": "TSP-1"},
    {"kind": "service", "title": "大动物介入实验", "description": "猪、羊模型的心脏介入动物实验与病理评价。",
     "tracks": ["interventional_implant"], "stages": ["animal_trial"], "region": "suzhou"},
    {"kind": "technology", "title": "Wearable ECG patch", "description": "14-day single-lead ECG with AI rhythm reading.",
     "tracks": ["digital_health"]},
]


def _count(app, model, *where) -> int:
    from sqlmodel import Session, func, select

    with Session(app.state.engine) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_batch_registers_each_item_as_one_request_would(app, client, world, make_need):
    from app.models import AuditEvent, DomainEvent, Embedding, MatchRecord

    need = make_need(status="open")
    r = client.post("/api/v1/capabilities/batch", json={"items": BATCH}, headers=world["company"].headers)
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [i["title"] for i in items] == [b["title"] for b in BATCH]  # in order
    assert [i["region"] for i in items] == ["putuo", "suzhou", "putuo"]  # the organisation's region by default
    assert [i["language"] for i in items] == ["en", "zh", "en"] and items[0]["external_ref"] == "TSP-1"
    assert {i["organisation"]["id"] for i in items} == {world["company"].org_id}
    ids = [i["id"] for i in items]
    for i in items:  # each readable on its own, as if registered alone
        one = client.get(f"/api/v1/capabilities/{i['id']}", headers=world["hospital"].headers)
        assert one.status_code == 200 and one.json() == i
    assert _count(app, Embedding, Embedding.entity == "capability", Embedding.entity_id.in_(ids)) == 3
    assert _count(app, AuditEvent, AuditEvent.entity == "capability", AuditEvent.entity_id.in_(ids)) == 3
    assert _count(app, DomainEvent, DomainEvent.type == "capability.added") == 3
    # matched with the open need, as a single registration is
    assert _count(app, MatchRecord, MatchRecord.need_id == need["id"], MatchRecord.capability_id.in_(ids)) == 3
    listed = client.get(f"/api/v1/needs/{need['id']}/matches", headers=world["hospital"].headers).json()["items"]
    assert {m["capability"]["id"] for m in listed} == set(ids)


def test_batch_is_all_or_none(app, client, world):
    from app.models import Capability

    bad = [BATCH[0], {**BATCH[1], "tracks": ["astrology"]}, {**BATCH[2], "title": " "}]
    r = client.post("/api/v1/capabilities/batch", json={"items": bad}, headers=world["company"].headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert any(f.startswith("items.1.tracks") for f in fields) and any(f.startswith("items.2.title") for f in fields)
    assert _count(app, Capability) == 0
    for body in ({"items": []}, {"items": [BATCH[0]] * 101}, {}, [BATCH[0]]):
        r = client.post("/api/v1/capabilities/batch", json=body, headers=world["company"].headers)
        assert r.status_code == 422, body
    assert _count(app, Capability) == 0


def test_batch_is_for_company_staff_only(app, client, world):
    from app.models import Capability

    for persona in ("hospital", "commission"):
        r = client.post("/api/v1/capabilities/batch", json={"items": BATCH}, headers=world[persona].headers)
        assert r.status_code == 403, persona
    assert client.post("/api/v1/capabilities/batch", json={"items": BATCH}).status_code == 401
    assert _count(app, Capability) == 0
