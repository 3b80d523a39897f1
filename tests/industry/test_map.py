"""Places and the map: an area that agrees with the organisation's region, coordinates inside its boundary, a
valid GeoJSON FeatureCollection whose every point lies inside its area and the map's bounds, filters, and counts
that respect an anonymous need's hospital. The chain graph; the demo seed (idempotent)."""

from __future__ import annotations

from app.services.industry import geo
from app.services.industry.areas import AREAS

PLACES = {"hospital": {"area": "putuo", "address": "示例路 1 号"}, "company": {"area": "putuo", "park": "同济科技园"},
          "company_b": {"area": "wuxi"}, "lab": {"area": "minhang", "lon": 121.42, "lat": 31.09},
          "hospital_b": {"area": "suzhou"}}


def _place_all(client, world):
    for who, body in PLACES.items():
        r = client.put(f"/api/v1/industry/places/{world.orgs[who]}", json=body, headers=world[who].headers)
        assert r.status_code == 200, r.text


def test_setting_a_place(client, world):
    url = f"/api/v1/industry/places/{world.orgs['company']}"
    assert client.get(url, headers=world["company"].headers).json() is None
    r = client.put(url, json={"area": "putuo", "park": "同济科技园"}, headers=world["company"].headers)
    assert r.status_code == 200
    p = r.json()
    assert (p["area"], p["area_name"], p["region"], p["exact"]) == ("putuo", "普陀区", "putuo", False)
    assert geo.contains("putuo", p["lon"], p["lat"])
    bad = [({"area": "minhang"}, "area"),  # a Putuo organisation is in Putuo
           ({"area": "atlantis"}, "area"),
           ({"area": "putuo", "lon": 121.47, "lat": 31.23}, "lon"),  # Huangpu, not Putuo
           ({"area": "putuo", "lon": 121.39}, None), ({"area": "putuo", "lat": 95, "lon": 0}, None),
           ({"area": "putuo", "colour": "red"}, None)]
    for body, field in bad:
        r = client.put(url, json=body, headers=world["company"].headers)
        assert r.status_code == 422, body
        if field:
            assert r.json()["errors"][0]["field"] == field
    r = client.put(url, json={"area": "putuo", "lon": 121.39, "lat": 31.25}, headers=world["company"].headers)
    assert r.json()["exact"] is True and r.json()["park"] is None  # a PUT replaces the place
    # another organisation's place: its own staff or the commission only
    other = f"/api/v1/industry/places/{world.orgs['hospital_b']}"
    assert client.put(other, json={"area": "suzhou"}, headers=world["company"].headers).status_code == 403
    assert client.put(other, json={"area": "suzhou"}, headers=world["commission"].headers).status_code == 200
    assert client.put("/api/v1/industry/places/999999", json={"area": "putuo"},
                      headers=world["commission"].headers).status_code == 404
    assert client.get("/api/v1/industry/places/999999", headers=world["commission"].headers).status_code == 404


def test_the_map_is_valid_geojson_inside_the_bounds(client, world, make_need):
    _place_all(client, world)
    make_need("hospital_b", status="open", confidentiality="anonymous", tracks=["imaging"], title="匿名需求")
    make_need("hospital", status="open")
    r = client.get("/api/v1/industry/map", headers=world["commission"].headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["unplaced"] == 2  # the commission's two organisations
    x0, y0, x1, y1 = fc["bbox"]
    assert 118 < x0 < x1 < 123 and 30 < y0 < y1 < 34
    assert len(fc["features"]) == len(PLACES)
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert isinstance(lon, float) and isinstance(lat, float)
        assert x0 <= lon <= x1 and y0 <= lat <= y1
        p = f["properties"]
        assert geo.contains(p["area"], lon, lat), p
        assert geo.area_of(lon, lat) == p["area"]
        assert AREAS[p["area"]].region == p["region"]
    by_id = {f["id"]: f["properties"] for f in fc["features"]}
    assert by_id[world.orgs["lab"]]["exact"] is True
    assert geo.area_of(*next(f["geometry"]["coordinates"] for f in fc["features"]
                             if f["id"] == world.orgs["lab"])) == "minhang"
    # the commission counts the anonymous need; a company does not (nor gets the hospital's track from it)
    assert by_id[world.orgs["hospital_b"]]["counts"]["open_needs"] == 1
    assert by_id[world.orgs["hospital_b"]]["tracks"] == ["imaging"]
    company = {f["id"]: f["properties"] for f in client.get("/api/v1/industry/map",
                                                             headers=world["company"].headers).json()["features"]}
    assert company[world.orgs["hospital_b"]]["counts"]["open_needs"] == 0
    assert company[world.orgs["hospital_b"]]["tracks"] == []
    assert company[world.orgs["hospital"]]["counts"]["open_needs"] == 1
    # filters
    q = lambda **p: client.get("/api/v1/industry/map", params=p, headers=world["commission"].headers)
    assert {f["id"] for f in q(kind="hospital").json()["features"]} == {world.orgs["hospital"], world.orgs["hospital_b"]}
    jiangsu = q(region="jiangsu").json()
    assert {f["id"] for f in jiangsu["features"]} == {world.orgs["company_b"], world.orgs["hospital_b"]}
    assert jiangsu["bbox"] == list(geo.extent(["nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang",
                                               "taizhou"]))
    assert {f["id"] for f in q(track="imaging").json()["features"]} == {world.orgs["hospital_b"]}
    for bad in ({"kind": "castle"}, {"region": "mars"}, {"track": "space"}):
        assert q(**bad).status_code == 422, bad


def test_areas_and_boundaries(client, world):
    areas = client.get("/api/v1/industry/areas").json()
    assert len(areas) == 23 and sum(a["level"] == "district" for a in areas) == 16
    for a in areas:
        assert geo.contains(a["code"], *a["anchor"])
    assert client.get("/api/v1/industry/regions").status_code == 401
    fc = client.get("/api/v1/industry/regions", headers=world["company"].headers).json()
    assert {f["id"] for f in fc["features"]} == set(AREAS)
    for f in fc["features"]:
        for poly in f["geometry"]["coordinates"]:
            for ring in poly:
                assert ring[0] == ring[-1] and len(ring) >= 4


def test_the_demo_seed_places_links_and_resources(app, client):
    from app.db import session_scope
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        rep = load_demo_world(s)
    with session_scope(app.state.engine) as s:
        again = load_demo_world(s)  # idempotent
    assert again.created == dict.fromkeys(again.created, 0)
    token = next(t for e, r, t in rep.tokens if r == "commission")
    h = {"Authorization": f"Bearer {token}"}
    fc = client.get("/api/v1/industry/map", headers=h).json()
    tongji = next(f for f in fc["features"] if f["id"] == rep.ids["org:tongji-medical-platform"])
    assert tongji["properties"]["park"] == "同济科技园" and tongji["properties"]["counts"]["resources"] == 6
    assert len(client.get("/api/v1/industry/links", headers=h).json()) == 5
    assert client.get("/api/v1/industry/resources", headers=h).json()["total"] == 8
    chain = client.get("/api/v1/industry/chain?track=interventional_implant", headers=h).json()
    hospital, pushi = rep.ids["org:putuo-central-hospital"], rep.ids["org:pushi-medical"]
    tongji_id = rep.ids["org:tongji-medical-platform"]
    edges = {(e["source"], e["target"], e["kind"], e["origin"]) for e in chain["links"]}
    # the TSP chain: hospital ↔ device maker ↔ animal centre, from the partnership
    assert (hospital, pushi, "clinical_partner", "partnership") in edges
    assert (tongji_id, pushi, "animal_trials", "partnership") in edges
    assert (rep.ids["org:ecnu-ultrafast-laser-lab"], pushi, "supplies", "declared") in edges
    assert [ld["organisation_id"] for ld in chain["leaders"]] == [pushi]
    assert {e["source"] for e in chain["links"]} | {e["target"] for e in chain["links"]} <= {n["id"] for n in
                                                                                          chain["nodes"]}
    assert client.get("/api/v1/industry/chain?track=space", headers=h).status_code == 422
