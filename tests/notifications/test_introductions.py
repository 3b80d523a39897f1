"""The commission brokers: it introduces a need to capabilities with a note, the company answers (its comment reaches
the hospital), the hospital accepts and a partnership is proposed marked as brokered. Anonymous needs stay anonymous
until the hospital accepts."""

from __future__ import annotations

import json

from tests.notifications.conftest import add_endpoint, set_prefs
from tests.security.test_anonymity import leaks

OFFER = "我们可以派工程师到导管室观摩手术"


def _inbox(client, persona) -> list[dict]:
    r = client.get("/api/v1/notifications", headers=persona.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_commission_introduces_company_answers_hospital_accepts(client, world, worker, receiver, smtp_server,
                                                                  make_need, make_capability):
    hospital, company, commission = world["hospital"], world["company"], world["commission"]
    set_prefs(client, company, channels=["inbox", "webhook", "email"])
    add_endpoint(client, company, receiver)
    cap = make_capability()
    other = make_capability("lab", title="超快激光微加工", description="飞秒激光加工介入器械微结构。")
    need = make_need(status="open", confidentiality="anonymous")
    worker.run_once(clock=False)

    # only the commission brokers
    body = {"need_id": need["id"], "capability_ids": [cap["id"], other["id"]],
            "note": "区商务委推荐：穿刺系统与该需求契合"}
    for who in ("hospital", "company", "admin"):
        assert client.post("/api/v1/introductions", json=body, headers=world[who].headers).status_code == 403
    r = client.post("/api/v1/introductions", json=body, headers=commission.headers)
    assert r.status_code == 201, r.text
    intro, to_lab = r.json()
    assert intro["status"] == "introduced" and intro["note"] == body["note"]
    assert intro["hospital"]["id"] == hospital.org_id
    assert client.post("/api/v1/introductions", json=body, headers=commission.headers).status_code == 409  # once

    # the company sees its introduction, without the anonymous need's hospital; other companies see nothing
    mine = client.get("/api/v1/introductions", headers=company.headers).json()["items"]
    assert [i["id"] for i in mine] == [intro["id"]] and mine[0]["hospital"] is None and mine[0]["hospital_hidden"]
    assert client.get(f"/api/v1/introductions/{intro['id']}", headers=world["company_b"].headers).status_code == 404
    assert client.get(f"/api/v1/introductions/{intro['id']}", headers=world["lab"].headers).status_code == 404
    worker.run_once(clock=False)
    (told,) = [n for n in _inbox(client, company) if n["kind"] == "introduction"]
    assert body["note"] in told["body"] and told["payload"]["items"][0]["need"]["id"] == need["id"]
    assert any(n["kind"] == "introduction" for n in _inbox(client, hospital))

    # the hospital decides once the company is interested, not before; the commission does not answer for it
    assert client.post(f"/api/v1/introductions/{intro['id']}/accept", headers=hospital.headers).status_code == 409
    assert client.post(f"/api/v1/introductions/{intro['id']}/answer", json={"verdict": "interested"},
                       headers=commission.headers).status_code == 403
    r = client.post(f"/api/v1/introductions/{intro['id']}/answer", json={"verdict": "interested", "comment": OFFER},
                    headers=company.headers)
    assert r.status_code == 200 and r.json()["status"] == "interested"
    r = client.post(f"/api/v1/introductions/{to_lab['id']}/answer",
                    json={"verdict": "not_interested", "reason": "capacity"}, headers=world["lab"].headers)
    assert r.status_code == 200
    worker.run_once(clock=False)
    answered = [n for n in _inbox(client, hospital) if n["kind"] == "introduction" and OFFER in n["body"]]
    assert answered, "the company's offer reaches the hospital"
    seen = {i["company"]["id"]: (i["status"], i["comment"], i["reason"])
            for i in client.get("/api/v1/introductions", params={"need_id": need["id"]},
                                headers=hospital.headers).json()["items"]}
    assert seen == {company.org_id: ("interested", OFFER, None), world.orgs["lab"]: ("not_interested", "", "capacity")}

    # nothing the company read or was sent so far names the hospital
    bodies = {"list": client.get("/api/v1/introductions", headers=company.headers).json(),
              "inbox": _inbox(client, company), "webhooks": [g["body"] for g in receiver.received],
              "mail": [m.get_body(("plain",)).get_content() for m in smtp_server.messages]}
    assert {k: v for k, v in {k: leaks(v, hospital.org_id, {hospital.user_id}, ["普陀区中心医院"])
                              for k, v in bodies.items()}.items() if v} == {}

    # the hospital accepts: a partnership, brokered by the commission, with both acceptances
    r = client.post(f"/api/v1/introductions/{intro['id']}/accept", headers=hospital.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    eid = r.json()["engagement_id"]
    eng = client.get(f"/api/v1/engagements/{eid}", headers=company.headers).json()
    assert eng["brokered_by_org_id"] == commission.org_id
    assert eng["hospital_accepted_at"] and eng["lead_accepted_at"]
    assert eng["hospital"]["id"] == hospital.org_id  # accepted: the company may know the hospital now
    r = client.post(f"/api/v1/engagements/{eid}/transitions", json={"target": "intent_signed",
                                                                    "version": eng["version"]},
                    headers=hospital.headers)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/introductions/{intro['id']}", headers=company.headers).json()["hospital"]["id"] == \
        hospital.org_id
    assert client.post(f"/api/v1/introductions/{intro['id']}/decline", headers=hospital.headers).status_code == 409
    worker.run_once(clock=False)
    assert any(n["kind"] == "introduction" and "accepted" in json.dumps(n["payload"]) for n in _inbox(client, company))


def test_a_company_interest_comment_reaches_the_hospital(client, world, worker, make_need, make_capability):
    cap = make_capability()
    need = make_need(status="open")
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": cap["id"],
                                                     "verdict": "interested", "comment": OFFER},
                    headers=world["company"].headers)
    assert r.status_code in (200, 201), r.text
    worker.run_once(clock=False)
    (n,) = [n for n in _inbox(client, world["hospital"]) if n["kind"] == "interest"]
    assert OFFER in n["body"] and n["payload"]["items"][0]["comment"] == OFFER


def test_a_chinese_readers_match_message_gives_its_reasons_in_chinese(client, world, worker, smtp_server,
                                                                         make_need, make_capability):
    set_prefs(client, world["company"], min_score=0.0, channels=["inbox", "email"], language="zh")
    make_capability()
    make_need(status="open")
    worker.run_once(clock=False)
    (n,) = [n for n in _inbox(client, world["company"]) if n["kind"] == "match"]
    assert "匹配原因: 共同概念：" in n["body"] and "shared concepts" not in n["body"]
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "共同概念：" in text and "shared concepts" not in text


def test_a_hospital_hears_of_a_new_strong_fit_once(app, client, world, worker, make_need, make_capability):
    from sqlalchemy import update
    from sqlmodel import Session

    from app.models import MatchRecord

    need = make_need(status="open")
    worker.run_once(clock=False)
    weak = make_capability(title="Generic catheter", description="A catheter.")
    strong = make_capability()
    with Session(app.state.engine) as s:  # the tests' hashing embedder has no calibration: set the bands
        s.execute(update(MatchRecord).where(MatchRecord.capability_id == strong["id"]).values(band="strong"))
        s.execute(update(MatchRecord).where(MatchRecord.capability_id == weak["id"]).values(band="possible"))
        s.commit()
    worker.run_once(clock=False)
    fits = [n for n in _inbox(client, world["hospital"]) if n["kind"] == "match"]
    assert len(fits) == 1 and fits[0]["title"].startswith("您的需求“")  # the hospital reads Chinese by default
    assert "有新的高匹配合作方：普实医疗" in fits[0]["title"]
    (item,) = fits[0]["payload"]["items"]
    assert item["capability"]["id"] == strong["id"] and item["need"]["id"] == need["id"]
    # an edit of the capability tells nobody twice
    r = client.patch(f"/api/v1/capabilities/{strong['id']}", json={"description": RF_EDIT, "version": 1},
                     headers=world["company"].headers)
    assert r.status_code == 200, r.text
    with Session(app.state.engine) as s:
        s.execute(update(MatchRecord).where(MatchRecord.capability_id == strong["id"]).values(band="strong"))
        s.commit()
    worker.run_once(clock=False)
    assert len([n for n in _inbox(client, world["hospital"]) if n["kind"] == "match"]) == 1


RF_EDIT = "A steerable radiofrequency transseptal puncture system with a deflectable needle tip (second generation)."
