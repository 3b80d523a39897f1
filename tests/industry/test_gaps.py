"""Gaps on a small world computed by hand. "Fitting" is the persisted band (strong/possible); the records the
matcher stored by itself (the hashing embedder has no calibration) are set to the weak band, so only the table counts.

| need | hospital (region) | tracks | department | fitting partner (band) |
|---|---|---|---|---|
| N1 | hospital (putuo) | interventional_implant | 心血管内科 | company (putuo), strong |
| N2 | hospital | imaging | 放射科 | company_b (wuxi), possible |
| N3 | hospital_b (suzhou), anonymous | imaging | 放射科 | none (company: weak) |
| N4 | hospital | interventional_implant, imaging | 心血管内科 | lab (shanghai), strong |
| N5 | hospital, withdrawn | imaging | 放射科 | none (not open: no gap) |

Putuo: gaps N2, N3, N4 → (imaging, 放射科) 2 [candidates company_b], (imaging, 心血管内科) 1 [lab],
(interventional_implant, 心血管内科) 1 [lab]. Shanghai: N2, N3 → (imaging, 放射科) 2. Corridor (Putuo + 7 cities):
N3, N4 → (imaging, 放射科) 1, (imaging, 心血管内科) 1, (interventional_implant, 心血管内科) 1.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select


@pytest.fixture
def small(client, world, make_need, make_capability, app):
    from app.models import MatchRecord

    caps = {"company": make_capability("company")["id"],
            "company_b": make_capability("company_b", title="Motion-robust MRI", tracks=["imaging"])["id"],
            "lab": make_capability("lab", title="Laser-machined parts", tracks=["imaging",
                                                                               "interventional_implant"])["id"]}
    needs = {
        "N1": make_need("hospital", status="open", title="N1 穿刺", department="心血管内科")["id"],
        "N2": make_need("hospital", status="open", title="N2 影像", department="放射科", tracks=["imaging"])["id"],
        "N3": make_need("hospital_b", status="open", title="N3 匿名影像", department="放射科", tracks=["imaging"],
                        confidentiality="anonymous")["id"],
        "N4": make_need("hospital", status="open", title="N4 封堵", department="心血管内科",
                        tracks=["interventional_implant", "imaging"])["id"],
        "N5": make_need("hospital", status="open", title="N5 撤回", department="放射科", tracks=["imaging"])["id"],
    }
    r = client.patch(f"/api/v1/needs/{needs['N5']}", json={"status": "withdrawn", "version": 1},
                     headers=world["hospital"].headers)
    assert r.status_code == 200, r.text
    bands = {("N1", "company"): "strong", ("N2", "company_b"): "possible", ("N3", "company"): "weak",
             ("N4", "lab"): "strong", ("N5", "company_b"): "strong"}
    with Session(app.state.engine) as s:
        for rec in s.exec(select(MatchRecord)):  # whatever the matcher stored: not a fit
            rec.band = "weak"
            s.add(rec)
        for (n, c), band in bands.items():
            rec = s.exec(select(MatchRecord).where(MatchRecord.need_id == needs[n],
                                                   MatchRecord.capability_id == caps[c])).first()
            rec = rec or MatchRecord(need_id=needs[n], capability_id=caps[c], score=0.5, model_version="test")
            rec.band = band
            s.add(rec)
        s.commit()
    return needs


def _gaps(client, persona, **q):
    r = client.get("/api/v1/industry/gaps", params=q, headers=persona.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _shape(rep):
    return [(g["track"], g["specialty"], g["needs"], [c["name"] for c in g["candidates_outside"]],
             sorted(i["need_id"] for i in g["items"])) for g in rep["gaps"]]


def test_gaps_by_scope(client, world, small):
    n = small
    rep = _gaps(client, world["commission"])
    assert (rep["scope"], rep["open_needs"], rep["needs_without_fit"]) == ("putuo", 4, 3)
    assert _shape(rep) == [("imaging", "放射科", 2, ["无锡示例器械"], sorted([n["N2"], n["N3"]])),
                           ("imaging", "心血管内科", 1, ["华东师大超快激光实验室"], [n["N4"]]),
                           ("interventional_implant", "心血管内科", 1, ["华东师大超快激光实验室"], [n["N4"]])]
    g = rep["gaps"][0]
    assert g["partner_types"] == {"enterprise": 2} and g["stages"] == {"rnd": 2, "animal_trial": 2,
                                                                          "clinical_evaluation": 2}
    assert _shape(_gaps(client, world["commission"], scope="shanghai")) == [
        ("imaging", "放射科", 2, ["无锡示例器械"], sorted([n["N2"], n["N3"]]))]
    # equal counts: by track, then specialty (code-point order: 心 before 放)
    assert _shape(_gaps(client, world["commission"], scope="corridor")) == [
        ("imaging", "心血管内科", 1, ["华东师大超快激光实验室"], [n["N4"]]),
        ("imaging", "放射科", 1, [], [n["N3"]]),
        ("interventional_implant", "心血管内科", 1, ["华东师大超快激光实验室"], [n["N4"]])]
    assert _shape(_gaps(client, world["commission"], track="interventional_implant")) == [
        ("interventional_implant", "心血管内科", 1, ["华东师大超快激光实验室"], [n["N4"]])]


def test_the_anonymous_hospital_stays_hidden_from_a_company(client, world, small):
    commission = _gaps(client, world["commission"])["gaps"][0]["items"]
    assert {i["hospital"] for i in commission} == {"普陀区中心医院", "苏州示例医院"}
    company = _gaps(client, world["company_b"])
    items = company["gaps"][0]["items"]
    hidden = next(i for i in items if i["need_id"] == small["N3"])
    assert hidden["hospital"] is None and hidden["hospital_id"] is None and hidden["hospital_hidden"] is True
    # a company does not read a need's matches: no candidates named to it
    assert all(g["candidates_outside"] == [] for g in company["gaps"])
    csv = client.get("/api/v1/industry/gaps.csv", headers=world["company_b"].headers)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "苏州示例医院" not in csv.text and "N3 匿名影像" in csv.text
    full = client.get("/api/v1/industry/gaps?format=csv", headers=world["commission"].headers).text
    assert "苏州示例医院" in full and full.splitlines()[0].startswith("track,specialty,needs")
    assert len(full.strip().splitlines()) == 1 + 3


def test_bad_gap_queries_are_422(client, world, small):
    for q in ({"scope": "pudong"}, {"track": "space"}, {"format": "xml"}):
        r = client.get("/api/v1/industry/gaps", params=q, headers=world["commission"].headers)
        assert r.status_code == 422, q
    assert client.get("/api/v1/industry/gaps").status_code == 401


def test_a_csv_cell_never_starts_a_formula(client, world, make_need):
    make_need("hospital", status="open", title="=HYPERLINK(\"http://x\")", department="@急诊")
    text = client.get("/api/v1/industry/gaps.csv", headers=world["commission"].headers).text
    assert "'=HYPERLINK" in text and ",'@急诊," in text


def test_the_gaps_page_shows_the_same_table(client, world, small):
    for lang, word in (("zh", "放射科"), ("en", "Imaging")):
        r = client.get(f"/dashboard/industry/gaps?lang={lang}", headers=world["commission"].headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.text.count('<tr data-track="') == 3 and word in r.text
        assert "苏州示例医院" in r.text  # the commission sees every hospital
    r = client.get("/dashboard/industry/gaps?scope=corridor&track=imaging", headers=world["commission"].headers)
    assert r.text.count('<tr data-track="imaging"') == 2
    csv = client.get("/dashboard/industry/gaps.csv?scope=shanghai", headers=world["commission"].headers)
    assert csv.status_code == 200 and len(csv.text.strip().splitlines()) == 2
    # the pages are the commission's: a company's token gets the 403 page
    assert client.get("/dashboard/industry/gaps", headers=world["company"].headers).status_code == 403
