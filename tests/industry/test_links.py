"""Chain links: proposed by one side, confirmed or declined by the other only; no self-link, no duplicate; pending
links stay between their two sides; chain leaders are the commission's."""

from __future__ import annotations

from app.jobs.outbox import dispatch_events
from tests.industry.conftest import notifications_of


def _propose(client, world, who="company", frm="hospital", to="company", kind="clinical_partner", **extra):
    body = {"from_org_id": world.orgs[frm], "to_org_id": world.orgs[to], "kind": kind, **extra}
    return client.post("/api/v1/industry/links", json=body, headers=world[who].headers)


def test_the_other_side_confirms_and_only_it(client, world, app, settings):
    r = _propose(client, world, track="interventional_implant", note="TSP")
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["status"] == "pending" and link["source"]["id"] == world.orgs["hospital"]
    assert r.headers["Location"] == f"/api/v1/industry/links/{link['id']}"
    url = f"/api/v1/industry/links/{link['id']}/answer"
    # the proposer, the commission, an admin and a third company may not answer
    for who in ("company", "commission", "admin", "company_b"):
        r = client.post(url, json={"confirm": True}, headers=world[who].headers)
        assert r.status_code in (403, 404), (who, r.text)
    # a third party does not even see a pending link
    assert client.get(f"/api/v1/industry/links/{link['id']}", headers=world["company_b"].headers).status_code == 404
    # the other side (the hospital) hears of it, and confirms
    dispatch_events(app.state.engine, settings)
    told = [n for n in notifications_of(client, world["hospital"]) if n["kind"] == "industry"]
    assert len(told) == 1 and "普实医疗" in told[0]["title"]
    r = client.post(url, json={"confirm": True}, headers=world["hospital"].headers)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert client.post(url, json={"confirm": False}, headers=world["hospital"].headers).status_code == 409
    # confirmed: part of the public chain
    assert client.get(f"/api/v1/industry/links/{link['id']}", headers=world["company_b"].headers).status_code == 200
    dispatch_events(app.state.engine, settings)
    told = [n for n in notifications_of(client, world["company"]) if n["kind"] == "industry"]
    assert len(told) == 1 and "已确认" in told[0]["title"]  # in the organisation's language (zh)


def test_no_self_link_no_third_party_no_duplicate(client, world):
    r = _propose(client, world, frm="company", to="company", kind="supplies")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to_org_id"
    assert _propose(client, world, who="company_b").status_code == 403  # neither side
    assert _propose(client, world, who="commission").status_code == 403
    assert _propose(client, world, to="commission", who="hospital").status_code == 422
    assert _propose(client, world).status_code == 201
    dup = _propose(client, world, who="hospital")  # the same link from the other side
    assert dup.status_code == 409
    assert _propose(client, world, kind="distributor").status_code == 201  # another kind is another link
    r = _propose(client, world, kind="friend_of")
    assert r.status_code == 422
    r = client.post("/api/v1/industry/links", json={"from_org_id": world.orgs["company"], "to_org_id": 10**12,
                                                    "kind": "supplies"}, headers=world["company"].headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to_org_id"  # beyond the id column's range
    r = client.post("/api/v1/industry/links", json={"from_org_id": world.orgs["company"], "to_org_id": 99999,
                                                    "kind": "supplies"}, headers=world["company"].headers)
    assert r.status_code == 422 and "99999" in r.json()["detail"]  # an unknown organisation at the other end
    r = client.post("/api/v1/industry/links", json={"from_org_id": world.orgs["company"], "to_org_id": -1.5,
                                                    "kind": "supplies"}, headers=world["company"].headers)
    assert r.status_code == 422


def test_a_declined_link_can_be_proposed_again(client, world):
    link = _propose(client, world).json()
    r = client.post(f"/api/v1/industry/links/{link['id']}/answer", json={"confirm": False},
                    headers=world["hospital"].headers)
    assert r.json()["status"] == "declined"
    again = _propose(client, world, who="hospital")
    assert again.status_code == 201 and again.json()["id"] == link["id"] and again.json()["status"] == "pending"
    # now the company is the other side
    assert client.post(f"/api/v1/industry/links/{link['id']}/answer", json={"confirm": True},
                       headers=world["hospital"].headers).status_code == 403
    assert client.post(f"/api/v1/industry/links/{link['id']}/answer", json={"confirm": True},
                       headers=world["company"].headers).json()["status"] == "confirmed"
    # either side removes it; a third party cannot
    assert client.delete(f"/api/v1/industry/links/{link['id']}", headers=world["company_b"].headers).status_code == 403
    assert client.delete(f"/api/v1/industry/links/{link['id']}", headers=world["hospital"].headers).status_code == 204
    assert client.get(f"/api/v1/industry/links/{link['id']}", headers=world["hospital"].headers).status_code == 404


def test_listing_shows_pending_links_to_their_sides_only(client, world):
    _propose(client, world)
    assert len(client.get("/api/v1/industry/links", headers=world["hospital"].headers).json()) == 1
    assert len(client.get("/api/v1/industry/links", headers=world["commission"].headers).json()) == 1
    assert client.get("/api/v1/industry/links", headers=world["company_b"].headers).json() == []
    assert client.get("/api/v1/industry/links?status=maybe", headers=world["hospital"].headers).status_code == 422


def test_chain_leaders_are_set_by_the_commission(client, world):
    body = {"track": "interventional_implant", "organisation_id": world.orgs["company"]}
    assert client.post("/api/v1/industry/leaders", json=body, headers=world["company"].headers).status_code == 403
    assert client.post("/api/v1/industry/leaders", json=body, headers=world["commission"].headers).status_code == 201
    assert client.post("/api/v1/industry/leaders", json=body, headers=world["commission"].headers).status_code == 409
    bad = {"track": "interventional_implant", "organisation_id": world.orgs["commission"]}
    assert client.post("/api/v1/industry/leaders", json=bad, headers=world["commission"].headers).status_code == 422
    assert client.post("/api/v1/industry/leaders", json={**body, "track": "space"},
                       headers=world["commission"].headers).status_code == 422
    chain = client.get("/api/v1/industry/chain?track=interventional_implant", headers=world["hospital"].headers).json()
    assert chain["leaders"] == [{"organisation_id": world.orgs["company"], "name": "普实医疗", "name_en": None,
                                 "track": "interventional_implant"}]
    assert [n["leader"] for n in chain["nodes"] if n["id"] == world.orgs["company"]] == [True]
    url = f"/api/v1/industry/leaders/interventional_implant/{world.orgs['company']}"
    assert client.delete(url, headers=world["company"].headers).status_code == 403
    assert client.delete(url, headers=world["commission"].headers).status_code == 204
    assert client.delete(url, headers=world["commission"].headers).status_code == 404
