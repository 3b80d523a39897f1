"""Pathways per engagement: each product class takes its own road to clinical use, through the API, with the
guards of its stages; the pathway is chosen at intent and fixed after."""

from __future__ import annotations

import pytest

from tests.workflow.test_states import HAND_PATHS


@pytest.mark.parametrize("pathway", list(HAND_PATHS))
def test_each_pathway_end_to_end(api, make_need, make_capability, pathway):
    n = make_need(status="open")
    eid = api.propose(n["id"], make_capability(stages=["rnd"])["id"]).json()["id"]
    eng = api.carry_to(eid, "clinical_use", pathway=pathway)
    assert eng["pathway"] == pathway and eng["path"] == HAND_PATHS[pathway]
    assert [h["to_state"] for h in eng["history"]] == HAND_PATHS[pathway]
    assert eng["state"] == "clinical_use" and eng["allowed_targets"] == []


def test_software_has_no_animal_trial_and_its_clinical_evaluation_needs_ethics(api, engagement):
    eid = engagement("proposed")["id"]
    api.carry_to(eid, "rnd", pathway="samd")
    r = api.move(eid, "animal_trial")
    assert r.status_code == 409 and r.json()["type"].endswith("invalid-transition")
    assert "clinical_evaluation" in r.json()["allowed"]
    r = api.move(eid, "clinical_evaluation")
    assert r.status_code == 409 and any("clinical ethics" in m for m in r.json()["missing"])
    assert not any("animal" in m for m in r.json()["missing"])


def test_a_class_i_device_is_filed_not_registered(api, engagement):
    eid = engagement("proposed")["id"]
    api.carry_to(eid, "filing", pathway="class_i")
    r = api.move(eid, "clinical_use")
    assert r.status_code == 409 and "filing number" in r.json()["missing"][0]
    assert api.milestone(eid, "filing_record", "国械注准20253070123", "company").status_code == 422  # not a filing
    assert api.milestone(eid, "filing_record", "沪械备20240012号", "hospital").status_code == 403  # the company's
    assert api.milestone(eid, "filing_record", "沪械备20240012号", "company").status_code == 201
    assert api.move(eid, "clinical_use").status_code == 200


def test_a_registered_product_is_admitted_by_the_hospital(api, engagement):
    eid = engagement("proposed")["id"]
    api.carry_to(eid, "training_observation", pathway="registered")
    r = api.move(eid, "hospital_admission")
    assert r.status_code == 409 and "NMPA registration certificate" in r.json()["missing"][0]
    assert api.milestone(eid, "registration_certificate", "国械注准20253070123", "company").status_code == 201
    r = api.move(eid, "hospital_admission", "company")
    assert r.status_code == 403 and "the hospital" in r.json()["detail"]  # the hospital's step
    assert api.move(eid, "hospital_admission").status_code == 200
    assert api.milestone(eid, "admission_approval", None, "company").status_code == 403
    assert api.milestone(eid, "admission_approval", None, "hospital").status_code == 201
    assert api.move(eid, "clinical_use").status_code == 200


def test_the_pathway_is_chosen_at_intent_and_fixed_after(api, engagement):
    eng = engagement("proposed")
    assert eng["pathway"] == "device" and eng["path"] == HAND_PATHS["device"]
    eid = eng["id"]
    api.carry_to(eid, "intent_signed", pathway="ivd")
    assert api.get(eid)["pathway"] == "ivd"
    r = api.move(eid, "training_observation", pathway="samd")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pathway"
    assert api.get(eid)["pathway"] == "ivd" and api.get(eid)["state"] == "intent_signed"
    r = api.client.post("/api/v1/engagements", json={"need_id": 1, "capability_id": 1, "pathway": "nope"},
                        headers=api.h("hospital"))
    assert r.status_code == 422
