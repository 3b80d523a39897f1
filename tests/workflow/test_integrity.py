"""Partnership integrity: real dates (when a step happened, checked against the clock and the previous step),
participants by invitation and consent, evidence that must carry its document."""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import TODAY


def _propose(api, make_need, make_capability, **extra) -> dict:
    n = make_need(status="open", **extra.pop("need", {}))
    c = make_capability(stages=["rnd", "prototyping"])
    r = api.propose(n["id"], c["id"], "hospital", **extra)
    assert r.status_code == 201, r.text
    return r.json()


def _move(api, eid, target, persona="hospital", **body):
    v = api.get(eid)["version"]
    return api.client.post(f"/api/v1/engagements/{eid}/transitions", json={"target": target, "version": v, **body},
                           headers=api.h(persona))


def test_steps_carry_when_they_happened_and_time_in_stage_follows(api, make_need, make_capability):
    eng = _propose(api, make_need, make_capability, occurred_at="2024-01-10")
    eid = eng["id"]
    assert eng["history"][0]["occurred_at"].startswith("2024-01-09T16:00")  # Shanghai midnight in UTC
    assert api.accept(eid, "company").status_code == 200
    r = _move(api, eid, "intent_signed", occurred_at="2024-02-09T00:00:00+08:00")
    assert r.status_code == 200, r.text
    r = _move(api, eid, "training_observation", occurred_at="2024-03-10")
    assert r.status_code == 200, r.text
    days = {k: round(v / 86400, 3) for k, v in r.json()["seconds_in_state"].items()}
    assert days["proposed"] == 30 and days["intent_signed"] == 30  # by hand: Jan 10 → Feb 9 → Mar 10 (2024)
    hist = r.json()["history"]
    assert all(h["recorded_at"] > h["occurred_at"] for h in hist)  # recorded today, happened in 2024
    m = api.milestone(eid, "meeting", None, occurred_on="2024-03-01").json()
    assert m["occurred_on"] == "2024-03-01" and m["recorded_at"] > "2026-12-01"  # recorded now, happened in 2024


def test_dates_in_the_future_or_before_the_previous_step_are_refused(api, make_need, make_capability):
    tomorrow = (date.fromisoformat(TODAY) + timedelta(days=1)).isoformat()
    r = api.propose(make_need(status="open")["id"], make_capability()["id"], "hospital", occurred_at="2099-01-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_at"
    eng = _propose(api, make_need, make_capability, occurred_at="2024-01-10")
    eid = eng["id"]
    api.accept(eid, "company")
    r = _move(api, eid, "intent_signed", occurred_at="2024-01-05")  # before the proposal
    assert r.status_code == 422 and "2024-01-10" in r.json()["detail"]
    assert _move(api, eid, "intent_signed", occurred_at="2099-01-01").status_code == 422
    assert api.get(eid)["state"] == "proposed"  # refused: nothing changed
    # milestones: not in the future, not before the partnership began
    r = api.milestone(eid, "meeting", None, occurred_on=tomorrow)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "occurred_on"
    r = api.milestone(eid, "meeting", None, occurred_on="2024-01-09")
    assert r.status_code == 422 and "2024-01-10" in r.json()["detail"]
    assert api.milestone(eid, "meeting", None, occurred_on="2024-01-10").status_code == 201


def test_a_participant_takes_part_only_once_it_accepts(api, client, world, make_need, make_capability):
    eng = _propose(api, make_need, make_capability, need={"confidentiality": "anonymous"})
    eid = eng["id"]
    assert api.accept(eid, "company").status_code == 200
    assert api.participant(eid, world.orgs["lab"], "rnd", "company", join=False).status_code == 200
    detail = api.get(eid)
    assert [(p["role"], p["status"]) for p in detail["participants"]] == [("rnd", "invited")]
    lab = world["lab"].headers
    # invited: the invitation, nothing else
    assert client.get(f"/api/v1/engagements/{eid}", headers=lab).status_code == 404
    assert api.milestone(eid, "meeting", None, "lab").status_code == 404
    (inv,) = client.get("/api/v1/invitations", headers=lab).json()["items"]
    assert inv["engagement_id"] == eid and inv["status"] == "invited" and inv["role"] == "rnd"
    assert inv["hospital"] is None and inv["lead"]["id"] == world.orgs["company"]  # anonymous need: still hidden
    # nobody else answers for the lab
    for other in ("company", "hospital", "company_b", "commission"):
        r = client.post(f"/api/v1/invitations/{inv['id']}/accept", headers=world[other].headers)
        assert r.status_code == 404, other
    r = client.post(f"/api/v1/invitations/{inv['id']}/decline", headers=lab)
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert client.post(f"/api/v1/invitations/{inv['id']}/accept", headers=lab).status_code == 409
    assert client.get(f"/api/v1/engagements/{eid}", headers=lab).status_code == 404
    # invited again, it accepts: now it reads the partnership and records its own milestones
    assert api.participant(eid, world.orgs["lab"], "animal_facility", "company").status_code == 200
    assert client.get(f"/api/v1/engagements/{eid}", headers=lab).status_code == 200
    assert api.milestone(eid, "meeting", None, "lab").status_code == 201
    statuses = {p["role"]: p["status"] for p in api.get(eid)["participants"]}
    assert statuses == {"rnd": "declined", "animal_facility": "active"}


def test_evidence_can_be_required_to_carry_its_document(app, api, client, world, make_need, make_capability):
    app.state.settings.evidence_documents_required = ["clinical_ethics_approval"]
    eid = api.propose(make_need(status="open")["id"], make_capability()["id"]).json()["id"]
    api.carry_to(eid, "animal_trial")
    owner = api.owner(eid, "animal_trial_report")
    assert api.milestone(eid, "animal_trial_report", "ATR-2024-001", owner).status_code == 201
    m = api.milestone(eid, "clinical_ethics_approval", "EC-2024-088", "hospital").json()
    r = _move(api, eid, "clinical_evaluation")
    assert r.status_code == 409 and "clinical ethics" in r.json()["missing"][0]
    assert any("document attached" in x for x in r.json()["missing"])
    doc = client.post(f"/api/v1/engagements/{eid}/milestones/{m['id']}/documents", headers=world["hospital"].headers,
                      files={"file": ("ethics.pdf", b"%PDF-1.4 approval", "application/pdf")})
    assert doc.status_code == 201, doc.text
    assert _move(api, eid, "clinical_evaluation").status_code == 200


def test_the_engagement_page_reads_in_the_pages_language_with_evidence_and_its_owner(app, api, client, world,
                                                                                     make_need, make_capability):
    from sqlmodel import Session

    from app.models import Milestone

    eid = api.propose(make_need(status="open")["id"], make_capability(stages=["rnd"])["id"]).json()["id"]
    api.carry_to(eid, "animal_trial")  # the lab takes part as animal facility (accepted its invitation)
    m = api.milestone(eid, "animal_trial_report", "ATR-2024-007", "lab").json()
    client.post(f"/api/v1/engagements/{eid}/milestones/{m['id']}/documents", headers=world["lab"].headers,
                files={"file": ("动物实验报告.pdf", b"%PDF-1.4 report", "application/pdf")})
    with Session(app.state.engine) as s:  # a record from before ownership was enforced: the company's
        s.add(Milestone(engagement_id=eid, kind="clinical_ethics_approval", title="伦理批件",
                        occurred_on=date.fromisoformat(TODAY), reference="EC-2024-099", responsible_org_id=world.orgs["company"],
                        recorded_by_org_id=world.orgs["company"], engagement_state="animal_trial"))
        s.commit()
    h = world["commission"].headers
    zh = client.get(f"/dashboard/engagements/{eid}", headers={**h, "Accept-Language": "zh-CN"}).text
    assert "动物实验机构" in zh and "参与中" in zh and "二/三类医疗器械" in zh  # role, status, pathway in Chinese
    assert "动物实验报告.pdf" in zh  # documents listed with their evidence
    assert zh.count('data-unconfirmed="1"') == 1 and "未经所属方确认" in zh  # only the company's ethics record
    assert "医院的证据" in zh and "动物实验机构的证据" in zh
    en = client.get(f"/dashboard/engagements/{eid}?lang=en", headers=h).text
    assert "Animal facility" in en and "unconfirmed by its owner" in en and "Class II/III device" in en
    detail = api.get(eid, "commission")
    flags = {x["kind"]: x["confirmed"] for x in detail["milestones"]}
    assert flags["animal_trial_report"] is True and flags["clinical_ethics_approval"] is False
    assert all(v is None for k, v in flags.items() if k not in ("animal_trial_report", "clinical_ethics_approval",
                                                                 "iacuc_approval"))  # any party's records
