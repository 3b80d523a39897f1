import numpy as np
import pytest

from matching import CapabilityDoc, NeedDoc
from matching.signals import struct_score_vec, vector_conditions
from matching.store import DocStore, RowInfo
from matching.structured import CORRIDOR, conditions, expand_regions, hard_failures, region_ok, structured_score


def need(**kw):
    base = {"id": "N", "title": "t", "description": "d", "tracks": ["interventional_implant"], "partner_types": ["enterprise"],
                "stages": ["rnd", "animal_trial"], "regions": [], "language": "zh"}
    base.update(kw)
    return NeedDoc(**base)


def cap(**kw):
    base = {"id": "C", "title": "t", "description": "d", "org_type": "enterprise", "tracks": ["interventional_implant"],
                "stages": ["rnd"], "region": "putuo", "certifications": ["ISO13485"], "language": "zh"}
    base.update(kw)
    return CapabilityDoc(**base)


def test_region_expansion():
    assert expand_regions(["shanghai"]) == {"shanghai", "putuo"}
    assert expand_regions(["corridor"]) == CORRIDOR
    assert region_ok(["shanghai"], "putuo") is True
    assert region_ok(["putuo"], "shanghai") is False
    assert region_ok(["corridor"], "taizhou") is True
    assert region_ok([], "nanjing") is None


def test_conditions_values():
    c = conditions(need(regions=["shanghai"], required_certifications=["ISO13485", "GLP"], stages=["rnd", "prototyping"]),
                   cap(stages=["rnd", "manufacturing"]))
    assert c == {"partner_type": 1.0, "stages": 0.5, "region": 1.0, "tracks": 1.0, "specialty": None,
                 "certifications": 0.5}
    assert structured_score(c) == pytest.approx((1 + 0.5 + 1 + 1 + 0.5) / 5)
    assert hard_failures(c) == ["certifications"]


def test_not_applicable_conditions_are_none():
    c = conditions(need(partner_types=[], stages=[], tracks=[]), cap())
    assert c["partner_type"] is None and c["stages"] is None and c["tracks"] is None and c["region"] is None
    assert structured_score(c) == 0.5


def test_stage_fit_rewards_the_stage_asked_for_not_breadth():
    asked = ["rnd", "animal_trial", "clinical_evaluation"]
    every = ["rnd", "prototyping", "animal_trial", "clinical_evaluation", "manufacturing", "registration_support"]
    assert conditions(need(stages=asked), cap(stages=every))["stages"] == 1.0
    # an animal centre offering only the animal trial asked for fits as well as the one listing every stage
    assert conditions(need(stages=asked), cap(stages=["animal_trial"]))["stages"] == 1.0
    assert conditions(need(stages=asked), cap(stages=["animal_trial", "manufacturing"]))["stages"] == 0.5
    assert conditions(need(stages=asked), cap(stages=["manufacturing"]))["stages"] == 0.0
    assert conditions(need(stages=asked), cap(stages=[]))["stages"] == 0.0


def test_specialty_condition_from_the_department_or_the_need():
    cardio = need(department="心血管内科")
    assert conditions(cardio, cap(specialties=["interventional_cardiology"]))["specialty"] == 1.0
    assert conditions(cardio, cap(specialties=["paediatrics", "radiology"]))["specialty"] == 0.0
    assert conditions(cardio, cap(specialties=[]))["specialty"] is None  # serves any
    assert conditions(need(department="Orthopaedics", specialties=["gi_endoscopy"]),
                      cap(specialties=["gastroenterology"]))["specialty"] == 1.0  # named beats the department
    assert conditions(need(department="行政办公室"), cap(specialties=["orthopaedics"]))["specialty"] is None


def test_wrong_partner_and_region_fail_hard():
    c = conditions(need(partner_types=["platform"], regions=["wuxi"]), cap(org_type="lab", region="nanjing"))
    assert set(hard_failures(c)) == {"partner_type", "region"}


def test_vectorised_conditions_agree_with_reference():
    rng = np.random.default_rng(0)
    orgs, regs = ["enterprise", "lab", "platform"], ["putuo", "shanghai", "nanjing", "wuxi", "other"]
    stages = ["rnd", "prototyping", "animal_trial", "clinical_evaluation", "manufacturing"]
    tracks = ["imaging", "digital_health", "interventional_implant"]
    caps = [cap(id=f"C{i}", org_type=rng.choice(orgs), region=rng.choice(regs),
                stages=list(rng.choice(stages, size=rng.integers(0, 3), replace=False)),
                tracks=list(rng.choice(tracks, size=rng.integers(0, 2), replace=False)),
                certifications=list(rng.choice(["ISO13485", "GLP", "CNAS"], size=rng.integers(0, 3), replace=False)),
                specialties=list(rng.choice(["cardiology", "interventional_cardiology", "cardiac_surgery", "neonatology",
                                             "paediatrics", "orthopaedics"], size=rng.integers(0, 3), replace=False)))
            for i in range(60)]
    st = DocStore("capability", 4)
    for c in caps:
        st.add(c, np.ones((2, 4), np.float32), ["t"], RowInfo(frozenset()))
    for n in [need(), need(regions=["shanghai"], required_certifications=["glp"]), need(partner_types=[], stages=[]),
              need(tracks=["imaging"], partner_types=["lab", "platform"], stages=["manufacturing"]),
              need(department="新生儿科", stages=["rnd", "prototyping", "manufacturing"]),
              need(specialties=["interventional_cardiology"]), need(specialties=["cardiac_surgery", "orthopaedics"])]:
        vec = struct_score_vec(vector_conditions(n, st, len(caps)), len(caps))
        ref = [structured_score(conditions(n, c)) for c in caps]
        assert np.allclose(vec, ref, atol=1e-6)
