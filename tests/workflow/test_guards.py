"""Every guard fails without its precondition and passes with it: as a pure rule, and through the API."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.workflow import EngagementState as S
from app.workflow import GuardFailed, Position, apply_transition
from app.workflow import guards as g
from tests.workflow.test_states import ALL_MET

# guard -> (the facts without its precondition, a target it protects, the state before)
CASES = {
    "both_parties_accepted (hospital)": (replace(ALL_MET, hospital_accepted=False), S.intent_signed, S.proposed),
    "both_parties_accepted (lead)": (replace(ALL_MET, lead_accepted=False), S.intent_signed, S.proposed),
    "animal_protocol_approved (protocol)": (
        replace(ALL_MET, milestones={**ALL_MET.milestones, "animal_protocol": ()}), S.animal_trial, S.rnd),
    "animal_protocol_approved (IACUC number)": (
        replace(ALL_MET, milestones={**ALL_MET.milestones, "iacuc_approval": ("",)}), S.animal_trial, S.rnd),
    "animal_facility_participates": (
        replace(ALL_MET, animal_facility_participant=False, lead_states_animal_capability=False), S.animal_trial,
        S.rnd),
    "animal_trial_reported": (replace(ALL_MET, milestones={**ALL_MET.milestones, "animal_trial_report": ()}),
                              S.clinical_evaluation, S.animal_trial),
    "clinical_ethics_approved": (replace(ALL_MET, milestones={**ALL_MET.milestones, "clinical_ethics_approval": ()}),
                                 S.clinical_evaluation, S.animal_trial),
    "clinical_evaluation_reported": (
        replace(ALL_MET, milestones={**ALL_MET.milestones, "clinical_evaluation_report": ()}), S.registration,
        S.clinical_evaluation),
    "registration_certified": (
        replace(ALL_MET, milestones={**ALL_MET.milestones, "registration_certificate": ("CERT-123",)}),
        S.clinical_use, S.registration),
}


@pytest.mark.parametrize("name", CASES)
def test_guard_fails_without_its_precondition_and_passes_with_it(name):
    facts, target, before = CASES[name]
    with pytest.raises(GuardFailed) as e:
        apply_transition(Position(before), target, facts)
    assert e.value.status == 409 and e.value.extra["missing"]
    assert apply_transition(Position(before), target, ALL_MET).state == target


def test_every_guard_is_covered():
    covered = {n.split(" ")[0] for n in CASES}
    declared = {fn.__name__ for fns in g.GUARDS.values() for fn in fns}
    assert covered == declared


def test_the_lead_companys_own_animal_capability_counts_as_facility():
    facts = replace(ALL_MET, animal_facility_participant=False, lead_states_animal_capability=True)
    assert apply_transition(Position(S.rnd), S.animal_trial, facts).state == S.animal_trial


# --- through the API: the precondition is recorded (or not) the way a user would ------------------------------

def _missing(r) -> list[str]:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["type"].endswith("transition-precondition")
    return body["missing"]


def test_api_intent_needs_both_acceptances(api, engagement):
    eng = engagement(by="hospital")  # the hospital's acceptance comes with its proposal
    assert eng["hospital_accepted_at"] and eng["lead_accepted_at"] is None
    assert "the lead company" in _missing(api.move(eng["id"], "intent_signed"))[0]
    assert api.accept(eng["id"], "company").status_code == 200
    assert api.move(eng["id"], "intent_signed").status_code == 200
    eng = engagement(by="company")
    assert "the hospital" in _missing(api.move(eng["id"], "intent_signed", persona="company"))[0]
    assert api.accept(eng["id"], "hospital").status_code == 200
    assert api.move(eng["id"], "intent_signed", persona="company").status_code == 200


def test_api_animal_trial_needs_protocol_iacuc_number_and_facility(api, engagement, world):
    eid = engagement("rnd")["id"]
    assert len(_missing(api.move(eid, "animal_trial"))) == 2  # protocol and facility
    assert api.milestone(eid, "animal_protocol", "AP-2024-017").status_code == 201
    missing = _missing(api.move(eid, "animal_trial"))
    assert "IACUC" in missing[0] and "animal facility" in missing[1]
    # an enterprise cannot be the animal facility; a lab (or platform) can, once it accepts the invitation
    assert api.participant(eid, world.orgs["company_b"], "animal_facility").status_code == 422
    assert api.participant(eid, world.orgs["lab"], "animal_facility", join=False).status_code == 200
    assert len(_missing(api.move(eid, "animal_trial"))) == 2  # invited is not yet taking part
    api.join(eid, world.orgs["lab"], "animal_facility")
    # the IACUC approval is the animal facility's to certify
    r = api.milestone(eid, "iacuc_approval", "IACUC-TJ-2024-0311", "hospital")
    assert r.status_code == 403 and "the animal facility" in r.json()["detail"]
    r = api.milestone(eid, "iacuc_approval", None, "lab")
    assert r.status_code == 422  # an approval without its number is refused outright
    assert api.milestone(eid, "iacuc_approval", "x", "lab").status_code == 422  # nor with a placeholder
    assert api.milestone(eid, "iacuc_approval", "IACUC-TJ-2024-0311", "lab").status_code == 201
    assert api.move(eid, "animal_trial").status_code == 200


def test_api_animal_facility_from_the_lead_companys_stated_capability(api, make_need, make_capability):
    n = make_need(status="open")
    c = make_capability()  # RF_CAPABILITY lists the animal_trial stage
    eid = api.propose(n["id"], c["id"]).json()["id"]
    api.carry_to(eid, "rnd")
    assert api.milestone(eid, "animal_protocol", "AP-2024-001").status_code == 201
    # no participating facility: the lead that runs the animal trial itself certifies its approval
    assert api.milestone(eid, "iacuc_approval", "IACUC-2024-001", "hospital").status_code == 403
    assert api.milestone(eid, "iacuc_approval", "IACUC-2024-001", "company").status_code == 201
    assert api.move(eid, "animal_trial").status_code == 200


def test_api_clinical_evaluation_needs_report_and_clinical_ethics(api, engagement):
    eid = engagement("animal_trial")["id"]
    assert len(_missing(api.move(eid, "clinical_evaluation"))) == 2
    assert api.milestone(eid, "animal_trial_report", "ATR-1", "company").status_code == 403  # the facility's
    assert api.milestone(eid, "animal_trial_report", "ATR-1", "lab").status_code == 201
    assert "clinical ethics" in _missing(api.move(eid, "clinical_evaluation"))[0]
    r = api.milestone(eid, "clinical_ethics_approval", "EC-2024-088", "company")
    assert r.status_code == 403 and "the hospital" in r.json()["detail"]  # the hospital's own approval
    assert api.milestone(eid, "clinical_ethics_approval", "EC-2024-088", "hospital").status_code == 201
    # entering clinical evaluation is the hospital's to confirm
    r = api.move(eid, "clinical_evaluation", "company")
    assert r.status_code == 403 and "the hospital" in r.json()["detail"]
    assert api.move(eid, "clinical_evaluation").status_code == 200


def test_api_registration_needs_the_clinical_evaluation_report(api, engagement):
    eid = engagement("clinical_evaluation")["id"]
    assert "clinical-evaluation report" in _missing(api.move(eid, "registration"))[0]
    api.milestone(eid, "clinical_evaluation_report", "CER-1")
    assert api.move(eid, "registration").status_code == 200


def test_api_clinical_use_needs_an_nmpa_certificate_number(api, engagement):
    eid = engagement("registration")["id"]
    assert "NMPA" in _missing(api.move(eid, "clinical_use"))[0]
    r = api.milestone(eid, "registration_certificate", "CERT-123")
    assert r.status_code == 422 and r.json()["errors"]
    assert api.milestone(eid, "registration_certificate", "国械注准20253070123", "hospital").status_code == 403
    assert api.milestone(eid, "registration_certificate", "国械注准20253070123", "company").status_code == 201
    r = api.move(eid, "clinical_use")
    assert r.status_code == 200 and r.json()["allowed_targets"] == []
