"""A platform's resources are read with its capabilities: the matcher finds a platform by an instrument it lists."""

from __future__ import annotations

from tests.industry.conftest import Persona

NEED = {"title": "Bone ingrowth around porous titanium implants in rabbits",
        "description": "We need micro-CT imaging of the bone around porous implants in a rabbit model, with "
                       "histology, to compare two surface treatments before a clinical study.",
        "department": "Orthopaedics", "tracks": ["interventional_implant"], "partner_types": ["platform"],
        "stages": ["animal_trial"], "language": "en", "status": "open"}


def _rank_of(client, world, need_id: int, cap_id: int) -> tuple[int | None, dict | None]:
    r = client.get(f"/api/v1/needs/{need_id}/matches", params={"include_weak": True, "limit": 50},
                   headers=world["hospital"].headers)
    assert r.status_code == 200, r.text
    for item in r.json()["items"]:
        if item["capability"]["id"] == cap_id:
            return item["rank"], item
    return None, None


def test_a_listed_instrument_brings_the_platform_up_for_a_need_that_asks_for_it(client, world, platform: Persona,
                                                                               make_need, make_capability):
    general = make_capability(persona="platform", title="Shared research services",
                              description="Shared laboratory services for companies and hospitals in Putuo.",
                              tracks=["biotech_rnd"], stages=["animal_trial"])
    for i, (title, desc) in enumerate([("Cell culture services", "Primary cell isolation and culture."),
                                       ("Bioreactor scale-up", "Fermentation process development."),
                                       ("Sterilisation validation", "Ethylene oxide sterilisation studies.")]):
        make_capability(title=title, description=desc, tracks=["biotech_rnd"], stages=["animal_trial"],
                        external_ref=f"ref-{i}")
    need = make_need(**NEED)
    before, _ = _rank_of(client, world, need["id"], general["id"])
    r = client.post("/api/v1/industry/resources", headers=platform.headers, json={
        "kind": "instrument", "name": "Micro-CT scanner for small animals", "model": "SkyScan 1276",
        "location": "Building 3", "description": "In-vivo micro-CT imaging of bone and implants in rabbits and rats."})
    assert r.status_code == 201, r.text
    after, item = _rank_of(client, world, need["id"], general["id"])
    assert after is not None and (before is None or after < before), (before, after)
    assert after == 1
    assert item["signals"]["lexical"] > 0, item["signals"]
    assert "micro-CT" in str(item["explanation"]) or "Micro-CT" in str(item["explanation"]), item["explanation"]
    # retiring the resource takes it out of the documents again
    rid = r.json()["id"]
    r = client.patch(f"/api/v1/industry/resources/{rid}", headers=platform.headers, json={"active": False})
    assert r.status_code == 200, r.text
    _again, item2 = _rank_of(client, world, need["id"], general["id"])
    assert item2 is None or item2["signals"]["lexical"] < item["signals"]["lexical"]
