"""Every analytics figure against a value computed by hand from the pipeline table in conftest.py (both backends)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from app.services.analytics import percentile

A = "/api/v1/analytics"
ZERO8 = dict.fromkeys(("training_observation", "rnd", "animal_trial", "clinical_evaluation", "registration",
                       "clinical_use"), 0)


def counts(filed, matched, interested, intent=0, training=0, rnd=0, animal=0, ce=0, reg=0, cu=0):
    return {"filed": filed, "matched": matched, "interested": interested, "intent_signed": intent,
            "training_observation": training, "rnd": rnd, "animal_trial": animal, "clinical_evaluation": ce,
            "registration": reg, "clinical_use": cu}


def eng_counts(proposed, intent=0, training=0, rnd=0, animal=0, ce=0, reg=0, cu=0):
    return {"proposed": proposed, "intent_signed": intent, "training_observation": training, "rnd": rnd,
            "animal_trial": animal, "clinical_evaluation": ce, "registration": reg, "clinical_use": cu}


def get(client, world, path, **params):
    r = client.get(A + path, params=params, headers=world["commission"].headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_percentile_is_linear_interpolation():
    assert percentile([1, 2, 3, 10], 50) == 2.5
    assert percentile([1, 2, 3, 10], 90) == pytest.approx(7.9)
    assert percentile([5], 90) == 5 and percentile([], 50) is None


def test_funnel(client, world, pipeline):
    # furthest step per filed need: N1 clinical_evaluation, N2 intent_signed, N3 interested (E3 proposed),
    # N4 matched, N5 filed, N7 interested (feedback, no match: counts as matched too), N8 clinical_use.
    f = get(client, world, "/funnel")["funnel"]
    assert {r["step"]: r["count"] for r in f} == counts(7, 6, 5, 3, 2, 2, 2, 2, 1, 1)
    conv = {r["step"]: r["conversion"] for r in f}
    assert conv == {"filed": None, "matched": round(6 / 7, 4), "interested": round(5 / 6, 4), "intent_signed": 0.6,
                    "training_observation": round(2 / 3, 4), "rnd": 1.0, "animal_trial": 1.0,
                    "clinical_evaluation": 1.0, "registration": 0.5, "clinical_use": 1.0}
    assert [r["overall"] for r in f] == [1.0, round(6 / 7, 4), round(5 / 7, 4), round(3 / 7, 4)] + \
        [round(2 / 7, 4)] * 4 + [round(1 / 7, 4)] * 2


def test_stage_durations(client, world, pipeline):
    # completed stays (days): proposed E1 3, E2 10, E3 2, E4 1; intent E1 10, E2 10, E4 2; training E1 30, E4 4;
    # rnd E1 60, E4 10; animal E1 60, E4 20; clinical_evaluation E4 30 (E1 is still in it); registration E4 30.
    rows = {r["stage"]: r for r in get(client, world, "/stage-durations")["stage_durations"]}
    expect = {"proposed": (4, 2.5, 7.9), "intent_signed": (3, 10.0, 10.0), "training_observation": (2, 17.0, 27.4),
              "rnd": (2, 35.0, 55.0), "animal_trial": (2, 40.0, 56.0), "clinical_evaluation": (1, 30.0, 30.0),
              "registration": (1, 30.0, 30.0), "on_hold": (0, None, None),
              # the other pathways' stages (none of this world's partnerships took them)
              "clinical_performance": (0, None, None), "filing": (0, None, None), "hospital_admission": (0, None, None)}
    assert {k: (r["n"], r["median_days"], r["p90_days"]) for k, r in rows.items()} == expect


def test_stalled_and_waiting(client, world, pipeline):
    now = datetime.now(UTC)
    stalled = get(client, world, "/stalled")["stalled"]  # 30 days: only E2 (on hold since day 40)
    assert [r["engagement_id"] for r in stalled] == [pipeline.engagements["E2"]]
    assert stalled[0]["state"] == "on_hold" and stalled[0]["held_from"] == "intent_signed"
    idle = (now - datetime(2025, 2, 10, tzinfo=UTC)).total_seconds() / 86400
    assert stalled[0]["idle_days"] == pytest.approx(idle, abs=0.2)
    # 5 days: E1 too (last activity: the milestone recorded 10 days ago, after its last transition)
    stalled5 = get(client, world, "/stalled", stale_days=5)["stalled"]
    assert [r["engagement_id"] for r in stalled5] == [pipeline.engagements["E2"], pipeline.engagements["E1"]]
    assert stalled5[1]["idle_days"] == pytest.approx(10, abs=0.2)
    # waiting: open needs with no interested company: N4 (since day 30), N5 (5 days: only under a 0-day threshold)
    waiting = get(client, world, "/waiting-needs")["waiting"]
    assert [r["need_id"] for r in waiting] == [pipeline.needs["N4"]]
    assert waiting[0]["matched"] is True
    assert [r["need_id"] for r in get(client, world, "/waiting-needs", stale_days=0)["waiting"]] == \
        [pipeline.needs["N4"], pipeline.needs["N5"]]


def test_matching_efficiency(client, world, pipeline):
    # open: N3, N4, N5; with interest: N3 (its engagement). Days to first interest: N1 2, N2 2 (feedback d12),
    # N3 5, N7 3, N8 2 → median 2, p90 3 + 0.6 × 2 = 4.2.
    assert get(client, world, "/matching")["matching"] == {
        "open_needs": 3, "open_with_interest": 1, "share_open_with_interest": 0.3333, "needs_with_interest": 5,
        "median_days_to_first_interest": 2.0, "p90_days_to_first_interest": 4.2}


def test_breakdowns(client, world, pipeline):
    def rows(dim, **params):
        body = get(client, world, f"/breakdowns/{dim}", **params)
        return {r["key"]: r["counts"] for r in body["rows"]}, {r["key"]: r["label"] for r in body["rows"]}

    track, _ = rows("track")
    assert track == {"interventional_implant": counts(3, 3, 3, 2, 2, 2, 2, 2, 1, 1),
                     "imaging": counts(2, 2, 2, 1), "digital_health": counts(2, 1, 0),
                     "diagnostics_ivd": counts(1, 1, 1)}
    o = world.orgs
    hosp, labels = rows("hospital")
    assert hosp == {str(o["hospital"]): counts(5, 4, 4, 3, 2, 2, 2, 2, 1, 1), str(o["hospital_b"]): counts(2, 2, 1)}
    assert labels[str(o["hospital_b"])] == "苏州示例医院"
    dept, _ = rows("department")
    assert dept == {f"{o['hospital']}:心血管内科": counts(2, 2, 2, 2, 2, 2, 2, 2, 1, 1),
                    f"{o['hospital']}:放射科": counts(2, 2, 2, 1), f"{o['hospital']}:信息科": counts(1, 0, 0),
                    f"{o['hospital_b']}:心内科": counts(1, 1, 1), f"{o['hospital_b']}:信息科": counts(1, 1, 0)}
    region, _ = rows("region")
    assert region == {"putuo": counts(5, 4, 4, 3, 2, 2, 2, 2, 1, 1), "suzhou": counts(2, 2, 1)}
    partner, _ = rows("partner")
    assert partner == {str(o["company"]): eng_counts(2, 1, 1, 1, 1, 1), str(o["company_b"]): eng_counts(1, 1),
                       str(o["lab"]): eng_counts(1, 1, 1, 1, 1, 1, 1, 1)}
    pregion, _ = rows("partner_region")
    assert pregion == {"putuo": eng_counts(2, 1, 1, 1, 1, 1), "wuxi": eng_counts(1, 1),
                       "shanghai": eng_counts(1, 1, 1, 1, 1, 1, 1, 1)}
    month, _ = rows("month")
    this_month = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m")
    assert {k: v for k, v in month.items() if v["filed"]} == {
        "2025-01": counts(5, 5, 4, 3, 2, 2, 2, 2, 1, 1), "2025-02": counts(1, 1, 1), this_month: counts(1, 0, 0)}
    assert list(month)[:3] == ["2025-01", "2025-02", "2025-03"] and list(month)[-1] == this_month  # no gaps
    assert len(month) == (int(this_month[:4]) - 2025) * 12 + int(this_month[5:]) and list(month) == sorted(month)


@pytest.mark.parametrize("params, expected", [
    ({"track": "imaging"}, counts(2, 2, 2, 1)),                        # N2, N7
    ({"region": "suzhou"}, counts(2, 2, 1)),                           # N3, N4 (hospital in Suzhou)
    ({"region": "wuxi"}, counts(1, 1, 1, 1)),                          # N2: its partner company_b is in Wuxi
    ({"region": "jiangsu"}, counts(3, 3, 2, 1)),                       # N2, N3, N4
    ({"region": "shanghai"}, counts(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)),    # N8: its partner lab is in Shanghai
    ({"date_from": "2025-01-10", "date_to": "2025-01-31"}, counts(3, 3, 2, 1)),  # N2, N3, N4
    ({"date_from": "2025-01-10", "date_to": "2025-01-31", "track": "digital_health"}, counts(1, 1, 0)),
])
def test_filters(client, world, pipeline, params, expected):
    f = get(client, world, "/funnel", **params)["funnel"]
    assert {r["step"]: r["count"] for r in f} == expected


def test_filters_narrow_every_section(client, world, pipeline):
    body = get(client, world, "", region="jiangsu")
    assert [r["engagement_id"] for r in body["stalled"]] == [pipeline.engagements["E2"]]
    assert {r["key"] for r in body["breakdowns"]["partner"]} == {str(world.orgs["company"]),
                                                                 str(world.orgs["company_b"])}
    assert body["matching"]["open_needs"] == 2 and body["matching"]["open_with_interest"] == 1
    assert {r["stage"]: r["n"] for r in body["stage_durations"]}["proposed"] == 2  # E2, E3


def test_summary_is_the_sections(client, world, pipeline):
    whole = get(client, world, "")
    assert whole["funnel"] == get(client, world, "/funnel")["funnel"]
    assert whole["matching"] == get(client, world, "/matching")["matching"]
    assert whole["breakdowns"]["track"] == get(client, world, "/breakdowns/track")["rows"]


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_exports(client, world, pipeline):
    h = world["commission"].headers
    for path in ("/funnel.csv", "/funnel?format=csv"):
        r = client.get(A + path, headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = _csv(r.text)
        assert rows[0] == ["step", "count", "conversion", "overall"]
        assert [(x[0], int(x[1])) for x in rows[1:4]] == [("filed", 7), ("matched", 6), ("interested", 5)]
    rows = _csv(client.get(A + "/breakdowns/region.csv", headers=h).text)
    assert rows[0][:5] == ["key", "label", "filed", "matched", "interested"]
    assert rows[1][:5] == ["putuo", "putuo", "5", "4", "4"]
    assert _csv(client.get(A + "/breakdowns/partner?format=csv", headers=h).text)[0][2] == "proposed"
    stalled = _csv(client.get(A + "/stalled.csv", headers=h, params={"stale_days": 5}).text)
    assert [int(x[0]) for x in stalled[1:]] == [pipeline.engagements["E2"], pipeline.engagements["E1"]]
    waiting = _csv(client.get(A + "/waiting-needs.csv", headers=h).text)
    assert waiting[1][0] == str(pipeline.needs["N4"]) and waiting[1][4] == "digital_health"
    matching = dict(_csv(client.get(A + "/matching.csv", headers=h).text)[1:])
    assert matching["open_needs"] == "3" and matching["p90_days_to_first_interest"] == "4.2"
    durations = _csv(client.get(A + "/stage-durations.csv", headers=h).text)
    assert durations[1] == ["proposed", "4", "2.5", "7.9"] and durations[-1] == ["on_hold", "0", "", ""]


def test_bad_filters_are_422(client, world):
    h = world["commission"].headers
    for params in ({"region": "beijing"}, {"track": "x"}, {"date_from": "2025-13-01"}, {"stale_days": -1}):
        r = client.get(A + "/funnel", params=params, headers=h)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get(A + "/breakdowns/colour", headers=h).status_code == 422


def test_empty_database(client, world):
    f = get(client, world, "/funnel")["funnel"]
    assert all(r["count"] == 0 for r in f) and all(r["overall"] is None for r in f)
    assert get(client, world, "/matching")["matching"]["share_open_with_interest"] is None


def test_partnerships_furthest_first(client, world, pipeline):
    rows = get(client, world, "/partnerships")["partnerships"]
    e = pipeline.engagements
    assert [(r["engagement_id"], r["reached"], r["state"], r["milestones"]) for r in rows] == [
        (e["E4"], "clinical_use", "clinical_use", 0), (e["E1"], "clinical_evaluation", "clinical_evaluation", 1),
        (e["E2"], "intent_signed", "on_hold", 0), (e["E3"], "proposed", "withdrawn", 0)]
    assert rows[0]["partner"] == "华东师大超快激光实验室" and rows[0]["partner_region"] == "shanghai"
    csv_rows = _csv(client.get(A + "/partnerships.csv", headers=world["commission"].headers).text)
    assert [int(r[0]) for r in csv_rows[1:]] == [r["engagement_id"] for r in rows]


def test_lists_are_limited_in_json_with_their_totals(client, world, pipeline):
    body = get(client, world, "/partnerships", limit=2)
    assert [r["engagement_id"] for r in body["partnerships"]] == [pipeline.engagements["E4"],
                                                                  pipeline.engagements["E1"]]
    assert body["total"] == 4
    whole = get(client, world, "", limit=1, stale_days=0)
    assert whole["totals"] == {"stalled": 2, "waiting": 2, "without_fit": 1, "partnerships": 4}
    assert len(whole["stalled"]) == len(whole["waiting"]) == len(whole["partnerships"]) == 1
    h = world["commission"].headers
    assert len(_csv(client.get(A + "/partnerships.csv", params={"limit": 1}, headers=h).text)) == 5  # all rows


def test_headline_figures_by_hand(app, client, world, pipeline):
    """Open N3, N4, N5 (N5 has no persisted match); active E1 (clinical_evaluation), E2 (on hold); from publication
    to intent: N1 5 days (E1), N2 20 (E2), N8 3 (E4): median 5, p90 17 (3, 5, 20 interpolated); E1 brokered."""
    from sqlalchemy import update
    from sqlmodel import Session

    from app.models import Engagement

    with Session(app.state.engine) as s:
        s.execute(update(Engagement).where(Engagement.id == pipeline.engagements["E1"])
                  .values(brokered_by_org_id=world.orgs["commission"]))
        s.commit()
    h = get(client, world, "/headline")["headline"]
    assert h == {"open_needs": 3, "open_needs_without_fit": 1, "active_partnerships": 2,
                 "active_by_stage": {"clinical_evaluation": 1, "on_hold": 1},
                 "needs_to_intent": 3, "median_days_need_to_intent": 5.0, "p90_days_need_to_intent": 17.0,
                 "partnerships_brokered": 1, "partnerships_matched": 3,
                 "brokered_reached_intent": 1, "matched_reached_intent": 2}
    # "matched" means a fitting partner: with a bar above every persisted score, no open need has one
    app.state.settings.fit_min_score = 0.6
    h = get(client, world, "/headline")["headline"]
    assert h["open_needs_without_fit"] == 3
    funnel = {r["step"]: r["count"] for r in get(client, world, "/funnel")["funnel"]}
    assert funnel["matched"] == funnel["interested"]  # only needs that went further count past 'filed'
    csv = client.get("/api/v1/analytics/headline.csv", headers=world["commission"].headers)
    assert csv.status_code == 200 and "open_needs_without_fit,3" in csv.text


def test_the_brokering_queue_lists_what_needs_the_commission_with_candidates(client, world, pipeline):
    h = world["commission"].headers
    for who in ("hospital", "company", "admin"):
        assert client.get("/api/v1/introductions/queue", headers=world[who].headers).status_code == 403
    q = client.get("/api/v1/introductions/queue", headers=h).json()
    n = pipeline.needs
    assert [r["need_id"] for r in q["without_fit"]] == [n["N5"]] and q["without_fit"][0]["candidates"] == []
    assert [r["need_id"] for r in q["waiting"]] == [n["N4"]]  # 30 days open, only a 'not interested'
    assert [r["engagement_id"] for r in q["stalled"]] == [pipeline.engagements["E2"]]
    (cand,) = q["waiting"][0]["candidates"]
    assert cand["title"] == "capL capability" and cand["score"] == 0.5
    # once introduced, a candidate is no longer suggested for that need
    r = client.post("/api/v1/introductions", json={"need_id": n["N4"], "capability_ids": [cand["capability_id"]]},
                    headers=h)
    assert r.status_code == 201, r.text
    q = client.get("/api/v1/introductions/queue", headers=h).json()
    assert q["waiting"][0]["candidates"] == []


def test_a_fitting_partner_is_a_match_in_the_possible_band_or_better(app, client, world, pipeline):
    """Calibrated matches count by band: N3's only match is weak (no fitting partner), N4's is possible."""
    from sqlalchemy import update
    from sqlmodel import Session

    from app.models import MatchRecord

    with Session(app.state.engine) as s:
        for need, band in (("N3", "weak"), ("N4", "possible")):
            s.execute(update(MatchRecord).where(MatchRecord.need_id == pipeline.needs[need]).values(band=band))
        s.commit()
    h = get(client, world, "/headline")["headline"]
    assert h["open_needs_without_fit"] == 2  # N3 (weak only) and N5 (no match)
    rows = get(client, world, "/needs-without-fit")["without_fit"]
    assert [r["need_id"] for r in rows] == [pipeline.needs["N3"], pipeline.needs["N5"]]
