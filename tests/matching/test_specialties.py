"""The bilingual specialty list and how a department's name maps onto it."""

import pytest

from matching.specialties import SPECIALTIES, from_department, specialty_codes, specialty_fit


def test_the_list_is_bilingual_and_its_parents_exist():
    assert len(SPECIALTIES) >= 30
    for s in SPECIALTIES.values():
        assert s.zh and s.en and s.aliases, s
        assert any("\u4e00" <= ch <= "\u9fff" for ch in s.zh)
        assert s.parent is None or s.parent in SPECIALTIES


@pytest.mark.parametrize(("department", "expected"), [
    ("心血管内科", ["cardiology"]),
    ("心内科导管室", ["cardiology", "interventional_cardiology"]),
    ("Gastroenterology and Hepatology", ["gastroenterology"]),
    ("消化内镜中心", ["gi_endoscopy"]),
    ("产科门诊", ["obstetrics"]),
    ("妇产科", ["obstetrics", "gynaecology"]),
    ("Neonatal Intensive Care Unit", ["neonatology", "intensive_care"]),
    ("Paediatric ICU", ["paediatrics", "intensive_care"]),
    ("血液净化中心", ["nephrology"]),
    ("护理院", ["geriatrics"]),  # the longer name wins over 护理 (nursing) inside it
    ("Curriculum office", []),  # 'icu' only as a word
    ("", []),
])
def test_departments_map_to_specialties(department, expected):
    assert from_department(department) == expected


def test_fit_is_full_for_parent_or_child_half_for_a_sibling():
    assert specialty_fit(["interventional_cardiology"], ["cardiology"]) == 1.0
    assert specialty_fit(["cardiology"], ["interventional_cardiology"]) == 1.0
    assert specialty_fit(["neonatology"], ["paediatrics"]) == 1.0
    assert specialty_fit(["gi_endoscopy"], ["gastroenterology", "orthopaedics"]) == 1.0
    assert specialty_fit(["orthopaedics"], ["paediatrics", "radiology"]) == 0.0
    assert specialty_fit(["orthopaedics"], []) is None and specialty_fit([], ["orthopaedics"]) is None
    full, half = specialty_codes(["interventional_cardiology"])
    assert {"interventional_cardiology", "cardiology"} <= full and not half & full
