"""The engagements API: proposing from a match, who may do what, lists, anonymity, the need's status, audit and
events, milestones and documents."""

from __future__ import annotations

import hashlib
import io
import zipfile

from sqlmodel import Session, select

from app.models import DomainEvent


def test_company_proposes_hospital_accepts_and_detail_shows_everything(api, client, world, make_need, make_capability):
    need = make_need(status="open")
    cap = make_capability()
    r = api.propose(need["id"], cap["id"], "company", comment="we saw your need at the commission's fair",
                    participants=[{"organisation_id": world.orgs["lab"], "role": "rnd"}])
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/engagements/{r.json()['id']}" and r.headers["etag"] == '"1"'
    eng = r.json()
    assert eng["state"] == "proposed" and eng["lead"]["id"] == world.orgs["company"]
    assert eng["lead_accepted_at"] and eng["hospital_accepted_at"] is None
    assert eng["participants"][0]["role"] == "rnd" and eng["participants"][0]["org_kind"] == "lab"
    assert eng["history"][0]["from_state"] is None and eng["history"][0]["to_state"] == "proposed"
    r = api.accept(eng["id"], "hospital", version=1)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert api.accept(eng["id"], "hospital").status_code == 409  # accepted already
    r = api.move(eng["id"], "intent_signed", "company", comment="合作意向已签署")
    assert r.status_code == 200
    body = r.json()
    assert [h["to_state"] for h in body["history"]] == ["proposed", "intent_signed"]
    assert body["history"][1]["organisation_id"] == world.orgs["company"]
    assert body["history"][1]["comment"] == "合作意向已签署"
    assert set(body["seconds_in_state"]) == {"proposed", "intent_signed"}


def test_duplicate_proposal_and_unopen_need_are_refused(api, make_need, make_capability):
    need = make_need(status="open")
    cap = make_capability()
    assert api.propose(need["id"], cap["id"]).status_code == 201
    r = api.propose(need["id"], cap["id"], "company")
    assert r.status_code == 409 and "engagement_id" in r.json()
    draft = make_need()
    assert api.propose(draft["id"], cap["id"]).status_code == 409
    assert api.propose(draft["id"], cap["id"], "company").status_code == 404  # companies do not see drafts


def test_who_may_do_what(api, engagement, world):
    eng = engagement("intent_signed")
    eid = eng["id"]
    assert api.participant(eid, world.orgs["lab"], "rnd").status_code == 200
    # the lab (participant) reads, records its own milestones, but does not drive the engagement
    assert api.get(eid, "lab")["state"] == "intent_signed"
    assert api.move(eid, "training_observation", "lab").status_code == 403
    assert api.milestone(eid, "design_review", None, "lab").status_code == 201
    r = api.milestone(eid, "design_review", None, "lab", responsible_org_id=world.orgs["company"])
    assert r.status_code == 403
    # the commission and admin read everything and change nothing
    assert api.get(eid, "commission")["id"] == eid
    for persona in ("commission", "admin"):
        assert api.move(eid, "training_observation", persona).status_code == 403
        assert api.milestone(eid, "meeting", None, persona).status_code == 403
    # outsiders do not learn it exists
    for persona in ("hospital_b", "company_b"):
        assert api.client.get(f"/api/v1/engagements/{eid}", headers=api.h(persona)).status_code == 404
        assert api.move(eid, "training_observation", persona).status_code == 404
    # the hospital may record a milestone for the lead company
    r = api.milestone(eid, "training_session", None, "hospital", responsible_org_id=world.orgs["company"])
    assert r.status_code == 201 and r.json()["responsible"]["id"] == world.orgs["company"]
    assert api.milestone(eid, "meeting", None, "hospital",
                         responsible_org_id=world.orgs["company_b"]).status_code == 422


def test_stale_version_and_if_match(api, client, engagement):
    eng = engagement("intent_signed")
    url = f"/api/v1/engagements/{eng['id']}/transitions"
    r = client.post(url, json={"target": "training_observation", "version": eng["version"] - 1},
                    headers=api.h("hospital"))
    assert r.status_code == 409 and r.json()["current_version"] == eng["version"]
    r = client.post(url, json={"target": "training_observation"}, headers=api.h("hospital"))
    assert r.status_code == 428
    r = client.post(url, json={"target": "training_observation"},
                    headers={**api.h("hospital"), "If-Match": f'"{eng["version"]}"'})
    assert r.status_code == 200 and r.headers["etag"] == f'"{eng["version"] + 1}"'


def test_list_filters(api, client, engagement, world):
    a = engagement("proposed")
    b = engagement("rnd")
    assert api.participant(b["id"], world.orgs["lab"], "animal_facility").status_code == 200
    c = engagement("intent_signed")
    api.move(c["id"], "withdrawn", comment="the company changed its plans")

    def ids(persona="commission", **params):
        r = client.get("/api/v1/engagements", params={"limit": 100, **params}, headers=api.h(persona))
        assert r.status_code == 200, r.text
        return {e["id"] for e in r.json()["items"]}

    assert ids() == {a["id"], b["id"], c["id"]}
    assert ids(state="rnd") == {b["id"]}
    assert ids(state="withdrawn") == {c["id"]}
    assert ids(need_id=a["need_id"]) == {a["id"]}
    assert ids(organisation_id=world.orgs["company"]) == {a["id"], b["id"], c["id"]}
    assert ids(organisation_id=world.orgs["lab"]) == {b["id"]}  # the animal facility of b
    assert ids("lab") == {b["id"]}
    assert ids("company_b") == set() and ids("hospital_b") == set()
    assert client.get("/api/v1/engagements", params={"state": "nope"}, headers=api.h("commission")).status_code == 422


def test_anonymous_need_reveals_the_hospital_once_it_accepts(api, client, world, make_need, make_capability):
    need = make_need(status="open", confidentiality="anonymous")
    cap = make_capability()
    eid = api.propose(need["id"], cap["id"], "company").json()["id"]

    def seen_by_company():
        detail = api.get(eid, "company")
        listed = next(e for e in client.get("/api/v1/engagements", headers=api.h("company")).json()["items"]
                      if e["id"] == eid)
        one_need = client.get(f"/api/v1/needs/{need['id']}", headers=api.h("company")).json()
        assert detail["hospital"] == listed["hospital"] == one_need["hospital"]  # list and detail agree
        return detail["hospital"]

    assert seen_by_company() is None
    by_org = client.get("/api/v1/engagements", params={"organisation_id": world.orgs["hospital"]},
                        headers=api.h("company")).json()
    assert by_org["total"] == 0  # filtering by hospital does not reveal it either
    assert api.accept(eid, "hospital").status_code == 200
    assert seen_by_company()["id"] == world.orgs["hospital"]
    # another company still does not see who filed it
    other = client.get(f"/api/v1/needs/{need['id']}", headers=api.h("company_b")).json()
    assert other["hospital"] is None and other["hospital_hidden"] is True


def test_need_status_follows_its_engagements(api, client, engagement, world):
    eng = engagement("proposed")
    nid = eng["need_id"]

    def need():
        return client.get(f"/api/v1/needs/{nid}", headers=api.h("hospital")).json()

    assert need()["status"] == "open"
    v = need()["version"]
    api.carry_to(eng["id"], "intent_signed")
    assert need()["status"] == "in_partnership" and need()["version"] == v + 1
    # the lead company still sees the need it works on, although it is no longer open
    assert client.get(f"/api/v1/needs/{nid}", headers=api.h("company")).status_code == 200
    assert client.get(f"/api/v1/needs/{nid}", headers=api.h("company_b")).status_code == 404
    api.move(eng["id"], "on_hold", comment="pause")
    assert need()["status"] == "in_partnership"  # held from a partnership state
    api.move(eng["id"], "terminated", comment="the hospital's priorities changed")
    assert need()["status"] == "open"
    audit = client.get("/api/v1/audit", params={"entity": "need", "entity_id": nid},
                       headers=api.h("admin")).json()["items"]
    assert [e["action"] for e in audit][:2] == ["status:open", "status:in_partnership"]


def test_transitions_are_audited_and_emit_events(api, app, client, engagement, world):
    eng = engagement("intent_signed")
    audit = client.get("/api/v1/audit", params={"entity": "engagement", "entity_id": eng["id"]},
                       headers=api.h("admin")).json()["items"]
    assert [e["action"] for e in audit] == ["transition:intent_signed", "accept:lead", "create"]
    assert audit[0]["changes"]["state"] == ["proposed", "intent_signed"]
    with Session(app.state.engine) as s:
        evs = s.exec(select(DomainEvent).order_by(DomainEvent.id)).all()
    types = [e.type for e in evs]
    # filing the need and registering the capability come first (what notifications tell companies of)
    assert set(types[:-4]) <= {"need.opened", "capability.added"} and "need.opened" in types[:-4]
    assert types[-4:] == ["engagement.proposed", "engagement.accepted", "engagement.transition", "need.status_changed"]
    tr = evs[-2]
    assert tr.payload["to_state"] == "intent_signed" and tr.payload["engagement_id"] == eng["id"]
    assert set(tr.organisation_ids) == {world.orgs["hospital"], world.orgs["company"]}


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_documents_upload_download_checksum_type_and_size(api, client, engagement, world, settings):
    eid = engagement("intent_signed")["id"]
    api.participant(eid, world.orgs["lab"], "rnd")
    m = api.milestone(eid, "training_session", None).json()
    url = f"/api/v1/engagements/{eid}/milestones/{m['id']}/documents"
    pdf = b"%PDF-1.7\n" + b"x" * 1000 + b"\n%%EOF"
    r = client.post(url, files={"file": ("培训记录.pdf", pdf, "application/pdf")}, headers=api.h("hospital"))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["sha256"] == hashlib.sha256(pdf).hexdigest() and doc["size"] == len(pdf)
    assert doc["content_type"] == "application/pdf"
    assert (settings.attachments_dir / doc["sha256"][:2] / doc["sha256"]).read_bytes() == pdf
    # parties and the commission download it; the bytes come back intact
    for persona in ("hospital", "company", "lab", "commission"):
        d = client.get(doc["url"], headers=api.h(persona))
        assert d.status_code == 200 and d.content == pdf and d.headers["content-type"] == "application/pdf"
        assert d.headers["x-content-sha256"] == doc["sha256"]
    assert client.get(doc["url"], headers=api.h("admin")).status_code == 403
    assert client.get(doc["url"], headers=api.h("company_b")).status_code == 404
    assert api.get(eid)["milestones"][0]["documents"][0]["id"] == doc["id"]
    # content type is sniffed and checked
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    assert client.post(url, files={"file": ("a.png", png, "image/png")},
                       headers=api.h("company")).json()["content_type"] == "image/png"
    r = client.post(url, files={"file": ("a.docx", _docx(), "application/octet-stream")}, headers=api.h("hospital"))
    assert r.json()["content_type"].endswith("wordprocessingml.document")
    assert client.post(url, files={"file": ("notes.txt", "会议纪要".encode(), "text/plain")},
                       headers=api.h("hospital")).status_code == 201
    r = client.post(url, files={"file": ("fake.pdf", png, "application/pdf")}, headers=api.h("hospital"))
    assert r.status_code == 415 and r.json()["detected"] == "image/png"
    r = client.post(url, files={"file": ("x.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "application/pdf")},
                    headers=api.h("hospital"))
    assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json")
    r = client.post(url, files={"file": ("big.pdf", b"%PDF-" + b"x" * settings.max_attachment_bytes, "application/pdf")},
                    headers=api.h("hospital"))
    assert r.status_code == 413 and r.json()["max_bytes"] == settings.max_attachment_bytes
    assert client.post(url, files={"file": ("e.txt", b"", "text/plain")}, headers=api.h("hospital")).status_code == 422
    # who may attach: parties (the lab only to its own milestones), never the commission
    assert client.post(url, files={"file": ("n.txt", b"x", "text/plain")}, headers=api.h("lab")).status_code == 403
    assert client.post(url, files={"file": ("n.txt", b"x", "text/plain")},
                       headers=api.h("commission")).status_code == 403
    other = client.post(f"/api/v1/engagements/{eid}/milestones/999999/documents",
                        files={"file": ("n.txt", b"x", "text/plain")}, headers=api.h("hospital"))
    assert other.status_code == 404


def test_ended_engagement_takes_no_milestones(api, engagement):
    eid = engagement("rnd")["id"]
    assert api.move(eid, "withdrawn", "company").status_code == 422  # the reason is required
    r = api.move(eid, "withdrawn", "company", comment="technology did not fit")
    assert r.status_code == 200 and r.json()["end_reason"] == "technology did not fit"
    assert api.milestone(eid, "meeting", None).status_code == 409
    assert api.move(eid, "rnd").json()["allowed"] == []
