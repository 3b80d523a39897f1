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
    c = conditions(need(regions=["shanghai"], required_certifications=["ISO13485", "GLP"]), cap())
    assert c == {"partner_type": 1.0, "stages": 0.5, "region": 1.0, "tracks": 1.0, "certifications": 0.5}
    assert structured_score(c) == pytest.approx((1 + 0.5 + 1 + 1 + 0.5) / 5)
    assert hard_failures(c) == ["certifications"]


def test_not_applicable_conditions_are_none():
    c = conditions(need(partner_types=[], stages=[], tracks=[]), cap())
    assert c["partner_type"] is None and c["stages"] is None and c["tracks"] is None and c["region"] is None
    assert structured_score(c) == 0.5


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
                certifications=list(rng.choice(["ISO13485", "GLP", "CNAS"], size=rng.integers(0, 3), replace=False)))
            for i in range(60)]
    st = DocStore("capability", 4)
    for c in caps:
        st.add(c, np.ones((2, 4), np.float32), ["t"], RowInfo(frozenset()))
    for n in [need(), need(regions=["shanghai"], required_certifications=["glp"]), need(partner_types=[], stages=[]),
              need(tracks=["imaging"], partner_types=["lab", "platform"], stages=["manufacturing"])]:
        vec = struct_score_vec(vector_conditions(n, st, len(caps)), len(caps))
        ref = [structured_score(conditions(n, c)) for c in caps]
        assert np.allclose(vec, ref, atol=1e-6)
