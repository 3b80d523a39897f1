"""Clinical specialties: named or read from the department, filtered on, and weighed by the matcher."""

from __future__ import annotations

from app.services.reasons import why


def test_the_list_is_served_in_both_languages(client, world):
    r = client.get("/api/v1/specialties", headers=world["company"].headers)
    assert r.status_code == 200
    by_code = {s["code"]: s for s in r.json()}
    assert by_code["gi_endoscopy"] == {"code": "gi_endoscopy", "zh": "消化内镜", "en": "GI endoscopy",
                                       "parent": "gastroenterology"}
    assert client.get("/api/v1/specialties").status_code == 401


def test_a_need_takes_its_department_s_specialties_unless_it_names_its_own(client, world, make_need):
    h = world["hospital"].headers
    need = make_need()  # 心血管内科
    assert need["specialties"] == ["cardiology"]
    named = make_need(specialties=["interventional_cardiology"])
    assert named["specialties"] == ["interventional_cardiology"]
    # a new department carries derived specialties along, chosen ones stay
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"department": "骨科", "version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["specialties"] == ["orthopaedics"]
    r = client.patch(f"/api/v1/needs/{named['id']}", json={"department": "骨科", "version": 1}, headers=h)
    assert r.json()["specialties"] == ["interventional_cardiology"]
    r = client.post("/api/v1/needs", json={"title": "x", "description": "y", "tracks": ["imaging"],
                                           "specialties": ["cardiologie"]}, headers=h)
    assert r.status_code == 422 and "specialties.0" in [e["field"] for e in r.json()["errors"]]
    found = client.get("/api/v1/needs", params={"specialty": "orthopaedics"}, headers=h).json()
    assert [n["id"] for n in found["items"]] == [need["id"]]


def test_capability_filter_keeps_those_that_serve_any(client, world, make_capability):
    cardio = make_capability(specialties=["interventional_cardiology"])
    anyone = make_capability(title="Large-animal GLP studies", description="Pig and sheep models for device trials.")
    make_capability(title="Paediatric MRI reconstruction", description="Motion-robust MRI for children.",
                    specialties=["paediatrics", "radiology"])
    r = client.get("/api/v1/capabilities", params={"specialty": "interventional_cardiology"},
                   headers=world["company"].headers)
    assert r.status_code == 200
    assert {c["id"] for c in r.json()["items"]} == {cardio["id"], anyone["id"]}
    assert anyone["specialties"] == []


def test_the_matcher_weighs_specialty_fit_and_says_so(client, world, make_need, make_capability):
    """An orthopaedic need against an implant serving paediatric radiology: the specialty condition fails."""
    mri = make_capability(title="Bone cement delivery under imaging", description="Imaging-guided cement delivery.",
                          specialties=["paediatrics", "radiology"], tracks=["interventional_implant"])
    fit = make_capability(title="Bone cement delivery system", description="Cement delivery for vertebral surgery.",
                          specialties=["orthopaedics"], tracks=["interventional_implant"])
    need = make_need(title="椎体后凸成形术骨水泥渗漏", description="骨水泥注入时渗漏到椎管外，可能造成神经损伤。",
                     department="骨科脊柱外科", status="open")
    assert need["specialties"] == ["orthopaedics"]
    r = client.get(f"/api/v1/needs/{need['id']}/matches", params={"include_weak": True},
                   headers={**world["hospital"].headers, "Accept-Language": "zh-CN"})
    assert r.status_code == 200, r.text
    items = {i["capability"]["id"]: i for i in r.json()["items"]}
    cond = {c["condition"]: c for c in items[mri["id"]]["explanation"]["structured"]}
    assert cond["specialty"]["holds"] == "no" and cond["specialty"]["value"] == 0.0
    assert {c["condition"]: c for c in items[fit["id"]]["explanation"]["structured"]}["specialty"]["value"] == 1.0
    assert items[fit["id"]]["signals"]["structured"] > items[mri["id"]]["signals"]["structured"]
    assert "临床专科" in why(items[mri["id"]]["explanation"], "zh")
    assert "clinical specialty" in why(items[mri["id"]]["explanation"], "en")
