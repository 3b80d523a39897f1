"""List totals count exactly the rows the filters and visibility select (the capabilities' count skips the
organisation join unless a filter reads the organisation)."""

from __future__ import annotations


def test_capability_totals_follow_filters_and_visibility(client, world, make_capability):
    make_capability("company")
    make_capability("company", title="Second device", region="wuxi")
    make_capability("lab", title="Ultrafast laser platform")

    def total(persona, **params):
        r = client.get("/api/v1/capabilities", params=params, headers=world[persona].headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) == min(body["total"], body["limit"])
        return body["total"]

    assert total("commission") == 3
    assert total("commission", org_kind="lab") == 1
    assert total("commission", org_kind="enterprise") == 2
    assert total("commission", region="wuxi") == 1
    assert total("commission", limit=1) == 3
    assert total("company") == 2 and total("company_b") == 0 and total("lab") == 1
    assert total("hospital", org_kind="lab") == 1
