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


def test_the_seeded_tsp_partnership_carries_its_real_dates(app, client):
    """The TSP case ran 2021-2023: its steps carry when they happened, so time in stage is real days (computed by hand
    from the seed's dates), not the seconds between the loader's writes."""
    from app.db import session_scope
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        rep = load_demo_world(s)
    commission = next(t for e, role, t in rep.tokens if role == "commission")
    h = {"Authorization": f"Bearer {commission}"}
    tsp = client.get(f"/api/v1/engagements/{rep.ids['engagement:tsp-pushi']}", headers=h).json()
    assert [x["occurred_at"][:10] for x in tsp["history"]] == [
        "2021-08-31", "2021-09-14", "2021-11-04", "2022-03-13", "2022-10-09", "2023-06-14"]  # Shanghai midnight, UTC
    days = {k: v / 86400 for k, v in tsp["seconds_in_state"].items()}
    assert (days["proposed"], days["intent_signed"], days["training_observation"], days["rnd"],
            days["animal_trial"]) == (14, 51, 129, 210, 248)
    rows = {r["stage"]: r for r in client.get("/api/v1/analytics/stage-durations", headers=h).json()["stage_durations"]}
    assert rows["animal_trial"]["n"] == 1 and rows["animal_trial"]["median_days"] == 248
    assert rows["rnd"]["median_days"] > 0 and rows["intent_signed"]["median_days"] > 0
