"""The industry pages in a real headless Chromium (the helpers of tests/web/conftest.py): the map draws the vendored
boundaries and one marker per organisation of the API's FeatureCollection (clustered, re-grouped on zoom, a click
opens the organisation), the chain graph one node per API node, in Chinese and in English, signed in through the
people's sign-in form, under the app's CSP with no console error, no serious accessibility violation and no request
leaving the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, browser, check_page, open_page, people, signin_page  # noqa: F401 - fixtures


@pytest.fixture
def settings(sqlite_url):
    from app.config import Settings

    return Settings(database_url=sqlite_url, embedder="hashing", model_dir=Path("var/models"),
                    secret_key="browser-test-key", worker_in_process=False, gc_freeze=False)


@pytest.fixture
def demo(app):
    """The demo world; its commission officer signs in with ``PASSWORD``. Returns (report, e-mail, API token)."""
    from sqlmodel import select

    from app.db import session_scope
    from app.models import User
    from app.services.accounts import PASSWORDS
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        rep = load_demo_world(s)
        email, _role, token = next(x for x in rep.tokens if x[1] == "commission")
        user = s.exec(select(User).where(User.email == email)).one()
        user.password_hash = PASSWORDS.hash(PASSWORD)
        s.add(user)
    return rep, email, token


def _markers(page) -> dict[str, int]:
    return {k: int(page.get_attribute("#map", f"data-{k}")) for k in ("markers", "points", "clusters", "clustered")}


def test_map_and_chain_pages_in_both_languages(browser, live_server, client, demo):  # noqa: F811
    rep, email, token = demo
    h = {"Authorization": f"Bearer {token}"}
    api = client.get("/api/v1/industry/map", headers=h).json()
    orgs = [f for f in api["features"] if f["properties"]["kind"] != "commission"]
    chain = client.get("/api/v1/industry/chain?track=interventional_implant", headers=h).json()
    page = open_page(browser, "desktop", "zh")
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live_server, "data:", "blob:")) else outside.append(r.url))
    signin_page(page, live_server, email)
    assert page.url == f"{live_server}/dashboard"
    for lang, heading in (("zh", "机构"), ("en", "Organisations")):
        page.goto(f"{live_server}/dashboard/industry/map?lang={lang}")
        page.wait_for_selector("body[data-map=ready]", timeout=15_000)
        m = _markers(page)
        assert m["markers"] == len(orgs) == 19  # the demo's 21 less its two commission organisations
        assert m["points"] + m["clustered"] == m["markers"] and m["clusters"] >= 1  # Putuo's dozen overlap at first
        assert len(page.query_selector_all("#orgs tbody tr")) == len(orgs)
        assert page.inner_text("section.card h2").startswith(f"{heading} ({len(orgs)})")
        assert page.evaluate("echarts.getMap('clinmatch-cluster').geoJSON.features.length") == 23
        assert page.get_attribute("nav a[href='/dashboard/industry/map']", "aria-current") == "page"
        page.lang = lang  # the screenshot's name
        check_page(page, "industry-map")

        page.goto(f"{live_server}/dashboard/industry/chain?track=interventional_implant&lang={lang}")
        page.wait_for_selector("body[data-chain=ready]", timeout=15_000)
        assert int(page.get_attribute("#chain", "data-nodes")) == len(chain["nodes"])
        assert int(page.get_attribute("#chain", "data-links")) == len(chain["links"])
        assert len(page.query_selector_all("#chain-links tbody tr")) == len(chain["links"])
        assert "★" in page.inner_text("#leaders")
        check_page(page, "industry-chain")

    # zooming in on Putuo splits its cluster; a click on a marker opens the organisation
    page.goto(f"{live_server}/dashboard/industry/map?lang=zh")
    page.wait_for_selector("body[data-map=ready]", timeout=15_000)
    before = _markers(page)
    box = page.query_selector("#map").bounding_box()
    centre = page.evaluate("""() => { const c = echarts.getInstanceByDom(document.getElementById('map'));
                                      return c.convertToPixel({geoIndex: 0}, [121.395, 31.255]); }""")
    page.mouse.move(box["x"] + centre[0], box["y"] + centre[1])
    for _ in range(40):  # about x1.1 a notch: Putuo fills the screen
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(30)
    page.wait_for_function("(n) => +document.getElementById('map').dataset.points > n", arg=before["points"],
                           timeout=10_000)
    after = _markers(page)
    assert after["points"] + after["clustered"] == after["markers"] == before["markers"]
    target = next(f for f in orgs if f["id"] == rep.ids["org:tongji-medical-platform"])
    px = page.evaluate("""(c) => echarts.getInstanceByDom(document.getElementById('map'))
                                 .convertToPixel({geoIndex: 0}, c)""", target["geometry"]["coordinates"])
    page.mouse.click(box["x"] + px[0], box["y"] + px[1])
    page.wait_for_url(f"{live_server}/dashboard/industry/org/*", timeout=10_000)
    assert page.url.endswith(f"/dashboard/industry/org/{target['id']}") or page.url.rsplit("/", 1)[1].isdigit()
    assert len(page.query_selector_all("#resources tbody tr")) >= 1

    # a region filter opens the map on that region: Putuo's organisations, fewer of them clustered
    page.goto(f"{live_server}/dashboard/industry/map?lang=zh&region=putuo")
    page.wait_for_selector("body[data-map=ready]", timeout=15_000)
    putuo = _markers(page)
    assert putuo["markers"] == sum(1 for f in orgs if f["properties"]["region"] == "putuo")
    assert putuo["points"] + putuo["clustered"] == putuo["markers"] and putuo["clustered"] < putuo["markers"] / 2

    page.goto(f"{live_server}/dashboard/industry/gaps?lang=en")
    assert page.is_visible("#gaps-summary")
    assert not outside, outside
    assert not page.errors, page.errors
    page.context.close()


def test_industry_pages_need_the_commission(browser, live_server, people):  # noqa: F811
    page = open_page(browser, "desktop", "zh")
    page.goto(f"{live_server}/dashboard/industry/map")
    assert page.url.endswith("/signin?next=%2Fdashboard%2Findustry%2Fmap")
    r = page.request.get(f"{live_server}/dashboard/industry/regions.geojson", max_redirects=0)
    assert r.status == 303 and r.headers["location"].startswith("/signin?next=")
    signin_page(page, live_server, "company@example.org")
    for path in ("/dashboard/industry/chain", "/dashboard/industry/map", "/dashboard/industry/gaps"):
        r = page.goto(f"{live_server}{path}")
        assert r.status == 403 and page.is_visible("#forbidden"), path
    assert page.request.get(f"{live_server}/dashboard/industry/regions.geojson").status == 403
    page.context.close()
