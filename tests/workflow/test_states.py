"""The transition table, pair by pair: every (state, target) either allowed or rejected with 409 naming the allowed."""

from __future__ import annotations

from itertools import pairwise

import pytest

from app.errors import InvalidTransition
from app.workflow import EngagementFacts, Position, apply_transition, replay, time_in_states
from app.workflow import EngagementState as S
from app.workflow.states import FINAL, PATH, PATHS

ALL_MET = EngagementFacts(hospital_accepted=True, lead_accepted=True, animal_facility_participant=True,
                          milestones={"animal_protocol": ("AP-1",), "iacuc_approval": ("IACUC-1",),
                                      "animal_trial_report": ("R",), "clinical_ethics_approval": ("EC-1",),
                                      "clinical_evaluation_report": ("C",),
                                      "registration_certificate": ("国械注准20253070123",),
                                      "filing_record": ("沪械备20240012号",), "admission_approval": ("",)})

# The expected tables, written out by hand (independently of app.workflow.states): each pathway's stages in order.
START = ["proposed", "intent_signed", "training_observation"]
HAND_PATHS = {
    "device": START + ["rnd", "animal_trial", "clinical_evaluation", "registration", "clinical_use"],
    "samd": START + ["rnd", "clinical_evaluation", "registration", "clinical_use"],
    "ivd": START + ["rnd", "clinical_performance", "registration", "clinical_use"],
    "class_i": START + ["rnd", "filing", "clinical_use"],
    "registered": START + ["hospital_admission", "clinical_use"],
}
NEXT = {p: {S(a): S(b) for a, b in pairwise(path)} for p, path in HAND_PATHS.items()}
EXITS = {S.on_hold, S.withdrawn, S.terminated}


def expected_allowed(state: S, held_from: S | None, pathway: str = "device") -> set[S]:
    if state in (S.clinical_use, S.withdrawn, S.terminated):
        return set()
    if state == S.on_hold:
        return {S.withdrawn, S.terminated, held_from}
    return {NEXT[pathway][state]} | EXITS


def positions(pathway: str) -> list[Position]:
    on = [S(x) for x in HAND_PATHS[pathway]] + [S.withdrawn, S.terminated]
    holdable = [s for s in on if s not in FINAL]
    return [Position(s, None, pathway) for s in on] + [Position(S.on_hold, h, pathway) for h in holdable]


POSITIONS = [pos for p in HAND_PATHS for pos in positions(p)]


def test_the_pathways_are_the_ones_written_by_hand():
    assert {p.value: [s.value for s in path] for p, path in PATHS.items()} == HAND_PATHS
    assert [s.value for s in PATH] == HAND_PATHS["device"]


@pytest.mark.parametrize("pos", POSITIONS, ids=lambda p: f"{p.pathway}:{p.state}"
                         + (f"<{p.held_from}" if p.held_from else ""))
@pytest.mark.parametrize("target", list(S), ids=str)
def test_every_state_target_pair(pos: Position, target: S):
    allowed = expected_allowed(pos.state, pos.held_from, pos.pathway)
    if target in allowed:
        new = apply_transition(pos, target, ALL_MET, comment="reason")
        assert new.state == target and new.pathway == pos.pathway
        assert new.held_from == (pos.state if target == S.on_hold else None)
    else:
        with pytest.raises(InvalidTransition) as e:
            apply_transition(pos, target, ALL_MET, comment="reason")
        assert e.value.status == 409
        assert sorted(e.value.extra["allowed"]) == sorted(a.value for a in allowed)
        assert str(target) in e.value.detail


@pytest.mark.parametrize("pathway", list(HAND_PATHS))
def test_no_step_of_a_path_can_be_skipped_nor_another_pathways_stage_taken(pathway):
    path = [S(x) for x in HAND_PATHS[pathway]]
    for i, state in enumerate(path[:-1]):
        for later in path[i + 2:]:
            with pytest.raises(InvalidTransition):
                apply_transition(Position(state, None, pathway), later, ALL_MET)
        for foreign in set(S) - set(path) - EXITS:
            with pytest.raises(InvalidTransition):
                apply_transition(Position(state, None, pathway), foreign, ALL_MET)


def test_withdrawn_and_terminated_need_a_reason():
    from app.errors import Invalid

    for target in (S.withdrawn, S.terminated):
        with pytest.raises(Invalid):
            apply_transition(Position(S.rnd), target, ALL_MET, comment="  ")
        assert apply_transition(Position(S.rnd), target, ALL_MET, comment="funding ended").state == target


def test_replay_and_time_in_states():
    from datetime import UTC, datetime, timedelta

    steps = [(None, "proposed"), ("proposed", "intent_signed"), ("intent_signed", "on_hold"),
             ("on_hold", "intent_signed"), ("intent_signed", "training_observation")]
    assert replay(steps) == Position(S.training_observation)
    with pytest.raises(ValueError):
        replay(steps[:2] + [("rnd", "animal_trial")])  # does not start where the previous step ended
    with pytest.raises(InvalidTransition):
        replay(steps[:2] + [("intent_signed", "clinical_use")])  # forbidden by the table
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [("proposed", t0), ("intent_signed", t0 + timedelta(days=2)), ("on_hold", t0 + timedelta(days=3)),
            ("intent_signed", t0 + timedelta(days=10))]
    spent = time_in_states(rows, t0 + timedelta(days=11))
    assert spent == {"proposed": 2 * 86400, "intent_signed": 2 * 86400, "on_hold": 7 * 86400}


def test_the_api_rejects_a_forbidden_transition_naming_the_allowed(api, engagement):
    eng = engagement("intent_signed")
    r = api.move(eng["id"], "animal_trial")
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("invalid-transition")
    assert body["allowed"] == ["on_hold", "terminated", "training_observation", "withdrawn"]
    assert api.get(eng["id"])["state"] == "intent_signed" and api.get(eng["id"])["version"] == eng["version"]


def test_on_hold_resumes_only_to_the_state_it_left(api, engagement):
    eng = engagement("rnd")
    r = api.move(eng["id"], "on_hold", comment="waiting for the budget")
    assert r.status_code == 200 and r.json()["held_from"] == "rnd"
    assert sorted(r.json()["allowed_targets"]) == ["rnd", "terminated", "withdrawn"]
    assert api.move(eng["id"], "training_observation").status_code == 409
    r = api.move(eng["id"], "rnd", comment="budget approved")
    assert r.status_code == 200 and r.json()["state"] == "rnd" and r.json()["held_from"] is None
    assert [h["to_state"] for h in r.json()["history"]][-2:] == ["on_hold", "rnd"]
