"""An anonymous need's hospital stays hidden from a company everywhere, searched the way a leak is found: every
endpoint the company can call on the need's objects, the whole JSON (and the webhook bodies and e-mails it is sent),
for the hospital's id in any organisation field, its people's ids in any person field, and its names anywhere."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import TODAY
from tests.notifications.conftest import add_endpoint, set_prefs

ORG_KEYS = {"organisation_id", "hospital_id", "recorded_by_org_id", "proposed_by_org_id", "responsible_org_id",
            "lead_org_id", "org_id", "actor_organisation_id"}
ORG_OBJECTS = {"hospital", "responsible", "organisation", "lead", "who", "recorded_by", "proposed_by_org"}
USER_SUFFIXES = ("user_id", "_by_id")


def leaks(doc: Any, org_id: int, user_ids: set[int], names: list[str], path: str = "$") -> list[str]:
    """Every place in ``doc`` that names the hidden organisation or one of its people."""
    found = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            here = f"{path}.{k}"
            if k in ORG_KEYS and v == org_id:
                found.append(here)
            if k in ORG_OBJECTS and isinstance(v, dict) and v.get("id") == org_id:
                found.append(here)
            if k.endswith(USER_SUFFIXES) and v in user_ids:
                found.append(here)
            found += leaks(v, org_id, user_ids, names, here)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += leaks(v, org_id, user_ids, names, f"{path}[{i}]")
    elif isinstance(doc, str):
        found += [f"{path} names {n!r}" for n in names if n and n in doc]
    return found


def test_an_anonymous_needs_hospital_leaks_nowhere_a_company_can_look(client, world, worker, receiver, smtp_server,
                                                                      make_need, make_capability):
    hospital, company = world["hospital"], world["company"]
    names = ["普陀区中心医院"]
    hidden_users = {hospital.user_id}
    set_prefs(client, company, min_score=0.0, channels=["inbox", "webhook", "email"])
    add_endpoint(client, company, receiver)
    cap = make_capability()
    need = make_need(status="open", confidentiality="anonymous")
    worker.run_once(clock=False)  # the match notification

    h, hc = hospital.headers, company.headers
    eng = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]}, headers=hc)
    assert eng.status_code == 201, eng.text
    eid = eng.json()["id"]
    # the hospital records a milestone with a document before it accepts, then declines
    m = client.post(f"/api/v1/engagements/{eid}/milestones",
                    json={"kind": "meeting", "title": "首次沟通", "occurred_on": TODAY}, headers=h)
    assert m.status_code == 201, m.text
    doc = client.post(f"/api/v1/engagements/{eid}/milestones/{m.json()['id']}/documents",
                      files={"file": ("minutes.txt", "会议纪要".encode(), "text/plain")}, headers=h)
    assert doc.status_code == 201, doc.text
    version = client.get(f"/api/v1/engagements/{eid}", headers=h).json()["version"]
    r = client.post(f"/api/v1/engagements/{eid}/transitions",
                    json={"target": "withdrawn", "comment": "暂不合作", "version": version}, headers=h)
    assert r.status_code == 200, r.text
    worker.run_once(clock=False)  # the partnership's steps reach the company

    # an oracle: adding the hidden hospital as a participant must answer exactly as for any other hospital
    eng2 = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]}, headers=hc)
    assert eng2.status_code == 201, eng2.text
    e2 = eng2.json()

    def add(org_id):
        return client.post(f"/api/v1/engagements/{e2['id']}/participants",
                           json={"organisation_id": org_id, "role": "clinical_site", "version": e2["version"]},
                           headers=hc)

    own, other = add(hospital.org_id), add(world.orgs["hospital_b"])

    bodies: dict[str, Any] = {"participant refusal": own.json()}
    gets = [f"/api/v1/engagements/{eid}", f"/api/v1/engagements/{eid}/transitions",
            f"/api/v1/engagements/{eid}/milestones", "/api/v1/engagements",
            f"/api/v1/engagements?need_id={need['id']}", f"/api/v1/engagements/{e2['id']}",
            f"/api/v1/needs/{need['id']}", "/api/v1/needs", f"/api/v1/capabilities/{cap['id']}/matches",
            "/api/v1/notifications", "/api/v1/deliveries", "/api/v1/matches/feedback", "/api/v1/me"]
    for url in gets:
        r = client.get(url, headers=hc)
        assert r.status_code == 200, (url, r.text)
        bodies[url] = r.json()
    inbox = bodies["/api/v1/notifications"]["items"]
    assert {n["kind"] for n in inbox} >= {"match", "engagement"}
    for n in inbox:
        bodies[f"notification {n['id']}"] = client.get(f"/api/v1/notifications/{n['id']}", headers=hc).json()
    assert receiver.received and smtp_server.messages
    for i, got in enumerate(receiver.received):
        bodies[f"webhook {i}"] = got["body"]
    for i, mail in enumerate(smtp_server.messages):
        bodies[f"e-mail {i}"] = [mail["Subject"], mail.get_body(("plain",)).get_content(),
                                 mail.get_body(("html",)).get_content()]

    # the objects are there (the test looks where the hospital acted), and nothing names it
    detail = bodies[f"/api/v1/engagements/{eid}"]
    assert detail["state"] == "withdrawn" and detail["hospital"] is None and detail["hospital_hidden"] is True
    assert [t["party"] for t in detail["history"]] == ["lead", "hospital"]
    (ms,) = detail["milestones"]
    assert ms["responsible"] is None and ms["responsible_party"] == "hospital"
    assert ms["documents"][0]["party"] == "hospital" and ms["documents"][0]["organisation_id"] is None
    found = {where: leaks(body, hospital.org_id, hidden_users, names) for where, body in bodies.items()}
    assert {k: v for k, v in found.items() if v} == {}
    assert not any(n in json.dumps(bodies, ensure_ascii=False) for n in names)

    assert own.status_code == other.status_code == 403
    assert own.json()["detail"] == other.json()["detail"]

    # the hospital itself, and the commission, see who acted
    for who in (hospital, world["commission"]):
        mine = client.get(f"/api/v1/engagements/{eid}", headers=who.headers).json()
        assert mine["history"][1]["organisation_id"] == hospital.org_id
        assert mine["milestones"][0]["responsible"]["id"] == hospital.org_id


def test_a_region_filter_does_not_tell_where_an_anonymous_need_comes_from(client, world, worker, make_need,
                                                                         make_capability):
    """The need's own regions decide; the hidden hospital's region (putuo) must not, or switching the filter would
    reveal it."""
    company = world["company"]
    make_capability()
    told = {}
    for region in ("putuo", "suzhou"):
        set_prefs(client, company, min_score=0.0, regions=[region])
        need = make_need(status="open", confidentiality="anonymous", regions=[], title=f"匿名需求 {region}")
        worker.run_once(clock=False)
        items = client.get("/api/v1/notifications", headers=company.headers).json()["items"]
        told[region] = any(i["payload"]["items"][0]["need"]["id"] == need["id"] for i in items
                           if i["kind"] == "match")
    assert told == {"putuo": False, "suzhou": False}


def test_only_the_needs_hospital_and_the_commission_read_its_matches(client, world, make_need, make_capability):
    need = make_need(status="open")
    cap = make_capability()
    h = world["hospital"].headers
    eng = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]}, headers=h)
    assert eng.status_code == 201, eng.text
    site = client.post(f"/api/v1/engagements/{eng.json()['id']}/participants",
                       json={"organisation_id": world.orgs["hospital_b"], "role": "clinical_site",
                             "version": eng.json()["version"]}, headers=h)
    assert site.status_code == 200, site.text
    (invitation,) = client.get("/api/v1/invitations", headers=world["hospital_b"].headers).json()["items"]
    assert client.post(f"/api/v1/invitations/{invitation['id']}/accept",
                       headers=world["hospital_b"].headers).status_code == 200
    url = f"/api/v1/needs/{need['id']}/matches"
    assert client.get(f"/api/v1/needs/{need['id']}", headers=world["hospital_b"].headers).status_code == 200
    r = client.get(url, headers=world["hospital_b"].headers)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    for who in ("hospital", "commission"):
        assert client.get(url, headers=world[who].headers).status_code == 200
    for who in ("company", "lab"):
        assert client.get(url, headers=world[who].headers).status_code in (403, 404)
