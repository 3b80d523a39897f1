"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser download).

Locally the test skips when Chromium or Playwright is missing; in CI (``CI`` set) it fails instead. It saves a
screenshot to test-artifacts/dashboard.png. Every page runs under the app's Content-Security-Policy: Chromium reports
each violation as a console error, and any console error fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def settings(sqlite_url):
    """One backend is enough for the browser: the figures are checked on both by test_api.py."""
    from app.config import Settings

    return Settings(database_url=sqlite_url, embedder="hashing", model_dir=Path("var/models"),
                    secret_key="browser-test-key")


@pytest.fixture
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _watch(page) -> list[str]:
    """Collects the page's script errors, failed requests and console errors (CSP violations among them)."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a navigation superseded by the next one (net::ERR_ABORTED, seen on a loaded machine around the sign-in
    # redirect) is no failure of the page; any other failed request is
    page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "")
            else errors.append(f"request failed: {r.url} {r.failure}"))
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    return errors


def _signin(page, base: str, token: str) -> None:
    page.goto(f"{base}/dashboard")
    assert "/signin?next=" in page.url  # the people's sign-in; the access-token form is beside it
    page.goto(f"{base}/dashboard/signin")
    page.fill("#token", token)
    page.click("#signin-submit")


def test_commission_signs_in_and_sees_the_api_figures(browser, live_server, client, world, pipeline):
    api = client.get("/api/v1/analytics/funnel", headers=world["commission"].headers).json()["funnel"]
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")  # a laptop, in Chinese
    errors = _watch(page)
    _signin(page, live_server, world["commission"].token)
    page.wait_for_selector("body[data-charts=ready]", timeout=10_000)  # Chart.js loaded from the app and drew
    assert page.url.endswith("/dashboard")
    assert page.inner_text("h1") == "普陀区医企协同 · 管线看板"
    shown = {row.get_attribute("data-step"): int(row.query_selector("td.count").inner_text())
             for row in page.query_selector_all("#funnel tbody tr")}
    assert shown == {r["step"]: r["count"] for r in api}
    assert page.evaluate("typeof Chart") == "function"
    assert page.evaluate("Chart.getChart('funnel-chart').data.datasets[0].data") == [r["count"] for r in api]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # the language toggle, remembered across pages
    page.click("#lang-toggle")
    page.wait_for_selector("body[data-charts=ready]")
    assert page.inner_text("h1") == "Putuo clinical-needs pipeline"
    assert "Needs filed" in page.inner_text("#funnel")
    page.goto(f"{live_server}/dashboard")
    assert "Funnel" in page.inner_text("#funnel-card h2")
    page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

    # a stalled partnership links to its read-only history
    page.click(f"#stalled a[href='/dashboard/engagements/{pipeline.engagements['E2']}']")
    assert page.inner_text("#engagement-state").startswith("On hold")
    assert len(page.query_selector_all("#history tbody tr")) == 3
    assert not errors, errors
    # the session cookie is out of JavaScript's reach
    assert page.evaluate("document.cookie").find("clinmatch_session") == -1
    # signing out (a POST form with the session's CSRF token) ends the session
    page.goto(f"{live_server}/dashboard")
    page.click("nav form button")
    assert page.url.endswith("/signin")
    page.goto(f"{live_server}/dashboard")
    assert "/signin?next=" in page.url
    assert not errors, errors


def test_csp_blocks_an_injected_inline_script(browser, live_server):
    """The policy is enforced, not just sent: an inline script without the nonce does not run, and Chromium says so
    on the console (which is how the other tests see any violation)."""
    page = browser.new_page()
    errors = _watch(page)
    page.goto(f"{live_server}/dashboard/signin")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                             document.body.appendChild(s); }""")
    assert page.evaluate("window.pwned") is None
    assert any("Content Security Policy" in e for e in errors), errors


def test_api_docs_render_offline_under_the_csp(browser, live_server):
    page = browser.new_page()
    errors = _watch(page)
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live_server, "data:")) else outside.append(r.url))
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "clinmatch" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag-section", timeout=15_000)  # the operations, from /openapi.json
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"))
    assert not outside, outside
    assert not errors, errors


def test_a_non_commission_token_is_refused(browser, live_server, world):
    page = browser.new_page()
    for persona in ("hospital", "company"):
        _signin(page, live_server, world[persona].token)
        assert "403" in page.inner_text("#forbidden")
        page.goto(f"{live_server}/dashboard")
        assert "/signin?next=" in page.url  # no session was kept
    _signin(page, live_server, "cm_wrong")
    assert page.is_visible("#signin-error")
