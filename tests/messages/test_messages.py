"""Conversations: a company opens its thread on a need (its interest comment is the first message), the hospital
answers, each new message is news for the other side; a partnership's parties talk in its thread; the commission
reads the threads of the needs it brokered (all of them when configured); outsiders get 404; an anonymous need's
hospital stays hidden in its messages and their notifications; attachments pass the documents' checks; a need's
contact person is shown only to the hospital, the commission and the partners the hospital accepted."""

from __future__ import annotations

from datetime import timedelta

from tests.notifications.conftest import add_endpoint, set_prefs
from tests.security.test_anonymity import leaks

HOSPITAL_NAME = "普陀区中心医院"
OFFER = "我们的可调弯射频穿刺系统已完成动物实验，可安排工程师到导管室观摩"
ANSWER = "欢迎，请下周二上午来导管室，带样机"
QUESTION = "请问每月的房颤消融例数大约多少？"


def _inbox(client, persona, kind: str | None = None) -> list[dict]:
    r = client.get("/api/v1/notifications", params={"limit": 100}, headers=persona.headers)
    assert r.status_code == 200, r.text
    return [n for n in r.json()["items"] if kind is None or n["kind"] == kind]


def _thread(need_id: int, company_org_id: int) -> str:
    return f"/api/v1/needs/{need_id}/threads/{company_org_id}/messages"


def _interested(client, persona, need, cap, comment):
    r = client.post("/api/v1/matches/feedback", json={"need_id": need["id"], "capability_id": cap["id"],
                                                       "verdict": "interested", "comment": comment},
                    headers=persona.headers)
    assert r.status_code == 201, r.text


def test_a_conversation_both_ways_with_its_notifications(client, world, worker, receiver, smtp_server, make_need,
                                                         make_capability):
    hospital, company = world["hospital"], world["company"]
    set_prefs(client, company, channels=["inbox", "webhook", "email"])
    add_endpoint(client, company, receiver)
    need = make_need(status="open", confidentiality="anonymous")
    cap = make_capability()
    url = _thread(need["id"], company.org_id)
    worker.run_once(clock=False)

    # the interest comment is the thread's first message, once
    _interested(client, company, need, cap, OFFER)
    _interested(client, company, need, cap, "改一下留言")
    r = client.get(url, headers=hospital.headers)
    assert r.status_code == 200, r.text
    (first,) = r.json()["items"]
    assert first["body"] == OFFER and first["side"] == "company" and first["organisation"]["id"] == company.org_id
    threads = client.get("/api/v1/threads", headers=hospital.headers).json()["items"]
    assert [(t["need_id"], t["company"]["id"], t["message_count"]) for t in threads] == [
        (need["id"], company.org_id, 1)]
    worker.run_once(clock=False)
    assert _inbox(client, hospital, "interest") and not _inbox(client, hospital, "message")  # told once, as interest

    # the hospital answers: the company is told, and learns nothing of who the hospital is
    r = client.post(url, json={"body": ANSWER}, headers=hospital.headers)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["side"] == "hospital" and mine["organisation"]["id"] == hospital.org_id  # the author sees itself
    worker.run_once(clock=False)
    (told,) = _inbox(client, company, "message")
    assert ANSWER in told["body"] and told["payload"]["items"][0]["thread_id"] == threads[0]["id"]
    assert "匿名医院" in told["title"]  # the company's language is Chinese by default
    seen = client.get(url, headers=company.headers).json()["items"]
    assert [(m["side"], m["body"]) for m in seen] == [("company", OFFER), ("hospital", ANSWER)]
    assert seen[1]["organisation"] is None and seen[1]["user_id"] is None and seen[1]["author_name"] is None
    bodies = {"thread": client.get(url, headers=company.headers).json(),
              "threads": client.get("/api/v1/threads", headers=company.headers).json(),
              "inbox": _inbox(client, company), "webhooks": [g["body"] for g in receiver.received],
              "mail": [m.get_body(("plain",)).get_content() for m in smtp_server.messages]}
    assert receiver.received and smtp_server.messages
    assert {k: v for k, v in {k: leaks(v, hospital.org_id, {hospital.user_id}, [HOSPITAL_NAME])
                              for k, v in bodies.items()}.items() if v} == {}

    # the company writes again: the hospital is told, with the company's name and words
    r = client.post(url, json={"body": QUESTION}, headers=company.headers)
    assert r.status_code == 201, r.text
    worker.run_once(clock=False)
    (told,) = _inbox(client, hospital, "message")
    assert QUESTION in told["body"] and "普实医疗" in told["title"]
    assert len(_inbox(client, company, "message")) == 1  # not told of its own message
    assert [t["message_count"] for t in client.get("/api/v1/threads", headers=hospital.headers).json()["items"]] == [3]

    # a partnership the company proposed on the anonymous need: its thread hides the hospital too, until it accepts
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=company.headers)
    assert r.status_code == 201, r.text
    eng = r.json()
    eng_url = f"/api/v1/engagements/{eng['id']}/messages"
    assert client.post(eng_url, json={"body": ANSWER}, headers=hospital.headers).status_code == 201
    worker.run_once(clock=False)
    (hidden,) = client.get(eng_url, headers=company.headers).json()["items"]
    assert hidden["side"] == "hospital" and hidden["organisation"] is None
    assert leaks({"thread": client.get(eng_url, headers=company.headers).json(), "inbox": _inbox(client, company),
                  "webhooks": [g["body"] for g in receiver.received]},
                 hospital.org_id, {hospital.user_id}, [HOSPITAL_NAME]) == []
    r = client.post(f"/api/v1/engagements/{eng['id']}/accept", json={"version": eng["version"]},
                    headers=hospital.headers)
    assert r.status_code == 200, r.text
    (shown,) = client.get(eng_url, headers=company.headers).json()["items"]
    assert shown["organisation"]["id"] == hospital.org_id  # accepted: the hospital is known now

    # blank and oversized messages are refused
    assert client.post(url, json={"body": "  "}, headers=company.headers).status_code == 422
    assert client.post(url, json={"body": "x" * 4001}, headers=company.headers).status_code == 422


def test_outsiders_get_404_and_the_commission_reads_brokered_threads_only(app, client, world, make_need,
                                                                          make_capability):
    hospital, company, commission = world["hospital"], world["company"], world["commission"]
    brokered, other = make_need(status="open"), make_need(status="open", title="术后疼痛评估工具")
    cap = make_capability()
    r = client.post("/api/v1/introductions", json={"need_id": brokered["id"], "capability_ids": [cap["id"]]},
                    headers=commission.headers)
    assert r.status_code == 201, r.text
    intro = r.json()[0]
    r = client.post(f"/api/v1/introductions/{intro['id']}/answer", json={"verdict": "interested", "comment": OFFER},
                    headers=company.headers)
    assert r.status_code == 200, r.text
    assert client.post(_thread(other["id"], company.org_id), json={"body": QUESTION},
                       headers=company.headers).status_code == 201
    a, b = _thread(brokered["id"], company.org_id), _thread(other["id"], company.org_id)
    assert [m["body"] for m in client.get(a, headers=hospital.headers).json()["items"]] == [OFFER]

    # outsiders: other companies, other hospitals, admins; and addresses of threads not theirs
    for who in ("company_b", "lab", "hospital_b", "admin"):
        for u in (a, b):
            assert client.get(u, headers=world[who].headers).status_code == 404, (who, u)
            assert client.post(u, json={"body": "hi"}, headers=world[who].headers).status_code == 404, (who, u)
        assert client.get("/api/v1/threads", headers=world[who].headers).json()["items"] == []
    # the hospital does not open threads: it answers the company's
    assert client.post(_thread(other["id"], world.orgs["company_b"]), json={"body": "hi"},
                       headers=hospital.headers).status_code == 404
    # a company may open its own thread on an open need (nothing yet), never another company's
    assert client.get(_thread(other["id"], world.orgs["company_b"]), headers=world["company_b"].headers).json() == {
        "items": [], "total": 0, "limit": 20, "offset": 0}
    draft = make_need(status="draft")
    assert client.post(_thread(draft["id"], company.org_id), json={"body": "hi"},
                       headers=company.headers).status_code == 404

    # the commission reads the brokered need's thread, not the other; it does not write
    listed = client.get("/api/v1/threads", headers=commission.headers).json()["items"]
    assert [t["need_id"] for t in listed] == [brokered["id"]]
    assert [m["body"] for m in client.get(a, headers=commission.headers).json()["items"]] == [OFFER]
    assert client.post(a, json={"body": "hi"}, headers=commission.headers).status_code == 403
    assert client.get(b, headers=commission.headers).status_code == 404
    # ... and every thread when the setting says so
    app.state.settings.commission_reads_all_threads = True
    listed = client.get("/api/v1/threads", headers=commission.headers).json()["items"]
    assert sorted(t["need_id"] for t in listed) == sorted([brokered["id"], other["id"]])
    assert client.get(b, headers=commission.headers).status_code == 200


def test_a_partnerships_parties_talk_in_its_thread(app, client, world, worker, make_need, make_capability):
    from app.jobs.scheduler import run_digests
    from app.models.common import utcnow

    hospital, company = world["hospital"], world["company"]
    set_prefs(client, company, rhythm="daily", language="en")
    need = make_need(status="open")
    cap = make_capability()
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=company.headers)
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    url = f"/api/v1/engagements/{eid}/messages"
    worker.run_once(clock=False)
    assert client.get(url, headers=hospital.headers).json()["items"] == []
    assert client.post(url, json={"body": QUESTION}, headers=company.headers).status_code == 201
    assert client.post(url, json={"body": ANSWER}, headers=hospital.headers).status_code == 201
    worker.run_once(clock=False)
    assert [QUESTION in n["body"] for n in _inbox(client, hospital, "message")] == [True]
    assert _inbox(client, company) == []  # the company's rhythm is daily: the message waits for its digest
    assert run_digests(app.state.engine, app.state.settings, now=utcnow() + timedelta(days=1, hours=1)) == 1
    (digest,) = _inbox(client, company)
    assert digest["kind"] == "digest" and ANSWER in digest["body"]
    assert "New message from 普陀区中心医院" in digest["body"]  # not anonymous: the company sees the hospital
    msgs = client.get(url, headers=company.headers).json()["items"]
    assert [(m["side"], m["organisation"]["id"]) for m in msgs] == [("lead", company.org_id),
                                                                   ("hospital", hospital.org_id)]
    for who in ("company_b", "hospital_b", "lab", "admin", "commission"):  # the commission brokered nothing here
        assert client.get(url, headers=world[who].headers).status_code == 404, who
        assert client.post(url, json={"body": "hi"}, headers=world[who].headers).status_code == 404, who
        assert not _inbox(client, world[who], "message")
    threads = client.get("/api/v1/threads", headers=company.headers).json()["items"]
    assert [(t["engagement_id"], t["url"]) for t in threads] == [(eid, url)]

    # an invited organisation reads the thread once it takes part, and writes as a participant
    lab = world["lab"]
    eng = client.get(f"/api/v1/engagements/{eid}", headers=hospital.headers).json()
    r = client.post(f"/api/v1/engagements/{eid}/accept", json={"version": eng["version"]}, headers=hospital.headers)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/engagements/{eid}/participants",
                    json={"organisation_id": lab.org_id, "role": "rnd", "version": r.json()["version"]},
                    headers=hospital.headers)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=lab.headers).status_code == 404  # invited, not yet taking part
    inv = next(i for i in client.get("/api/v1/invitations", headers=lab.headers).json()["items"]
               if i["engagement_id"] == eid)
    assert client.post(f"/api/v1/invitations/{inv['id']}/accept", headers=lab.headers).status_code == 200
    assert client.get(url, headers=lab.headers).json()["total"] == 2
    r = client.post(url, json={"body": "飞秒激光可加工针尖微结构"}, headers=lab.headers)
    assert r.status_code == 201 and r.json()["side"] == "participant", r.text
    worker.run_once(clock=False)
    assert len(_inbox(client, hospital, "message")) == 2 and not _inbox(client, lab, "message")


def test_attachments_pass_the_documents_checks(app, client, world, make_need):
    hospital, company = world["hospital"], world["company"]
    need = make_need(status="open")
    url = _thread(need["id"], company.org_id)
    pdf = b"%PDF-1.7\n" + "穿刺针规格".encode() * 10
    r = client.post(url + "/attachments", files={"file": ("规格 \u202etxt.pdf", pdf, "application/pdf")},
                    data={"body": "规格书见附件"}, headers=company.headers)
    assert r.status_code == 201, r.text
    att = r.json()["attachment"]
    assert att["content_type"] == "application/pdf" and att["size"] == len(pdf) and "\u202e" not in att["filename"]
    got = client.get(att["url"], headers=hospital.headers)
    assert got.status_code == 200 and got.content == pdf and got.headers["x-content-type-options"] == "nosniff"
    assert client.get(att["url"], headers=world["company_b"].headers).status_code == 404
    # the type read from the bytes, not the name or the declared type; empty and oversized files refused
    r = client.post(url + "/attachments", files={"file": ("x.pdf", b"MZ\x90\x00\x03", "application/pdf")},
                    headers=company.headers)
    assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post(url + "/attachments", files={"file": ("x.png", pdf, "image/png")}, headers=company.headers)
    assert r.status_code == 415
    assert client.post(url + "/attachments", files={"file": ("x.txt", b"", "text/plain")},
                       headers=company.headers).status_code == 422
    app.state.settings.max_attachment_bytes = 100
    r = client.post(url + "/attachments", files={"file": ("big.txt", b"x" * 101, "text/plain")},
                    headers=company.headers)
    assert r.status_code == 413
    # the commission reads no thread it did not broker, so it cannot post a file either
    r = client.post(url + "/attachments", files={"file": ("a.txt", b"hi", "text/plain")},
                    headers=world["commission"].headers)
    assert r.status_code == 404
    assert client.get(url, headers=hospital.headers).json()["total"] == 1


CONTACT = {"contact_name": "王医生", "contact_email": "wang@example.org", "contact_phone": "021-1234"}


def test_a_needs_contact_person_only_for_the_partners_the_hospital_accepted(client, world, make_need,
                                                                           make_capability):
    hospital, company = world["hospital"], world["company"]
    need = make_need(status="open", **CONTACT)
    cap = make_capability()
    want = {"name": "王医生", "email": "wang@example.org", "phone": "021-1234"}

    def seen(who: str):
        one = client.get(f"/api/v1/needs/{need['id']}", headers=world[who].headers).json()["contact"]
        listed = next(n for n in client.get("/api/v1/needs", params={"limit": 100},
                                            headers=world[who].headers).json()["items"] if n["id"] == need["id"])
        assert one == listed["contact"], who  # list and detail agree
        return one

    assert seen("hospital") == seen("commission") == want
    assert seen("company") is None and seen("company_b") is None and seen("lab") is None
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=company.headers)
    assert r.status_code == 201, r.text
    eng = r.json()
    assert seen("company") is None  # proposed, not yet accepted by the hospital
    r = client.post(f"/api/v1/engagements/{eng['id']}/accept", json={"version": eng["version"]},
                    headers=hospital.headers)
    assert r.status_code == 200, r.text
    assert seen("company") == want and seen("company_b") is None
    # the hospital edits (and clears) it like any other field
    v = client.get(f"/api/v1/needs/{need['id']}", headers=hospital.headers).json()["version"]
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"version": v, "contact_phone": "", "contact_name": "李护士"},
                     headers=hospital.headers)
    assert r.status_code == 200, r.text
    assert r.json()["contact"] == {"name": "李护士", "email": "wang@example.org", "phone": None}
    assert client.patch(f"/api/v1/needs/{need['id']}", json={"version": v + 1, "contact_email": "not-mail"},
                        headers=hospital.headers).status_code == 422


def test_an_organisations_contact_person_only_for_its_accepted_partners(client, world, make_need, make_capability):
    hospital, company, admin = world["hospital"], world["company"], world["admin"]
    person = {"contact_name": "张经理", "contact_email": "zhang@example.org", "contact_phone": "139-0000"}
    r = client.patch(f"/api/v1/organisations/{company.org_id}", json=person, headers=admin.headers)
    assert r.status_code == 200 and r.json()["contact_name"] == "张经理", r.text

    def seen(who: str):
        one = client.get(f"/api/v1/organisations/{company.org_id}", headers=world[who].headers).json()
        listed = next(o for o in client.get("/api/v1/organisations", params={"limit": 100},
                                            headers=world[who].headers).json()["items"] if o["id"] == company.org_id)
        got = {k: one[k] for k in person}
        assert got == {k: listed[k] for k in person}, who  # list and detail agree
        return got

    nobody = dict.fromkeys(person)
    assert seen("company") == seen("commission") == seen("admin") == person
    assert seen("hospital") == seen("hospital_b") == seen("company_b") == nobody
    need = make_need(status="open")
    cap = make_capability()
    r = client.post("/api/v1/engagements", json={"need_id": need["id"], "capability_id": cap["id"]},
                    headers=company.headers)
    assert r.status_code == 201, r.text
    assert seen("hospital") == nobody  # proposed; the hospital has not accepted the company yet
    eng = r.json()
    assert client.post(f"/api/v1/engagements/{eng['id']}/accept", json={"version": eng["version"]},
                       headers=hospital.headers).status_code == 200
    assert seen("hospital") == person and seen("hospital_b") == nobody
    assert client.get("/api/v1/me", headers=company.headers).json()["organisation"]["contact_name"] == "张经理"
