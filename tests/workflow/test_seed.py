"""The demo world carries the transseptal-puncture partnership to clinical_evaluation, with partnerships in other
states, so the commission's view is populated from the first run; loading twice creates nothing twice."""

from __future__ import annotations

from app.workflow import replay


def test_demo_partnerships_are_seeded_through_the_services(app, client):
    from app.db import session_scope
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        rep = load_demo_world(s)
    assert rep.created["engagements"] == 5
    with session_scope(app.state.engine) as s:
        again = load_demo_world(s)
    assert again.created["engagements"] == 0 and again.ids == rep.ids

    commission = next(t for e, role, t in rep.tokens if role == "commission")
    h = {"Authorization": f"Bearer {commission}"}
    listed = client.get("/api/v1/engagements", params={"limit": 100}, headers=h).json()
    assert {e["state"] for e in listed["items"]} == {"clinical_evaluation", "rnd", "proposed", "on_hold", "withdrawn"}

    tsp = client.get(f"/api/v1/engagements/{rep.ids['engagement:tsp-pushi']}", headers=h).json()
    assert tsp["state"] == "clinical_evaluation"
    assert tsp["hospital"]["name_en"] == "Putuo District Central Hospital"
    assert tsp["lead"]["name_en"] == "Shanghai Pushi Medical"
    assert [(p["organisation"]["name_en"], p["role"]) for p in tsp["participants"]] == [
        ("Tongji University School of Medicine public R&D service platform", "animal_facility")]
    assert [x["to_state"] for x in tsp["history"]] == ["proposed", "intent_signed", "training_observation", "rnd",
                                                       "animal_trial", "clinical_evaluation"]
    assert replay([(x["from_state"], x["to_state"]) for x in tsp["history"]]).state == "clinical_evaluation"
    kinds = {m["kind"]: m for m in tsp["milestones"]}
    assert {"training_session", "clinical_observation", "animal_protocol", "iacuc_approval", "animal_trial_report",
            "clinical_ethics_approval"} <= set(kinds)
    assert kinds["iacuc_approval"]["reference"] and kinds["clinical_ethics_approval"]["reference"]
    assert kinds["animal_protocol"]["responsible"]["name_en"].startswith("Tongji")
    need = client.get(f"/api/v1/needs/{tsp['need_id']}", headers=h).json()
    assert need["status"] == "in_partnership"
    # Pushi's staff see their partnership and the need behind it
    pushi = next(t for e, _r, t in rep.tokens if e.startswith("wang.jianing"))
    mine = client.get("/api/v1/engagements", params={"limit": 100},
                      headers={"Authorization": f"Bearer {pushi}"}).json()
    assert {e["id"] for e in mine["items"]} == {rep.ids["engagement:tsp-pushi"], rep.ids["engagement:laa-pushi"]}
