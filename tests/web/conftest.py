"""The people's web app under test: a live server on loopback, a real SMTP server for the invitation and reset
e-mails, real headless Chromium (Debian's, driven by Playwright), accounts with passwords for every persona.

Reusable by every page test (hospital, company, partnerships):
- ``people``: the conftest's personas (``world``) with a password each (``PASSWORD``; ``email_of("hospital")``);
  ``signin_client`` signs a TestClient in through the form, ``signin_page`` a browser page.
- ``open_page(browser, viewport, lang)``: a page in its own context (``VIEWPORTS``: desktop 1280x800, phone
  390x844; ``lang`` sets Accept-Language) whose script errors, failed requests and console errors (CSP violations
  among them) are collected in ``page.errors``.
- ``check_page(page, name)``: no console error, no serious or critical axe-core violation, nothing wider than the
  viewport, and a screenshot saved to test-artifacts/web/<name>-<lang>[-phone].png.
- ``mailbox`` + ``deliver(app)``: the outbox's e-mails sent to the SMTP server; ``link_in(mailbox, to, path)``
  is the link of the latest e-mail to ``to``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, Mailbox, require_browser, smtp_mailbox

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
PASSWORD = "a long enough passphrase"


# --- the server and its peers ------------------------------------------------------------------------------------

@pytest.fixture
def mailbox():
    with smtp_mailbox() as box:
        yield box


@pytest.fixture
def settings(sqlite_url, mailbox):
    """SQLite (the pages call the same services the API tests check on both backends), a fixed key for the forms
    shown before sign-in, the SMTP server above."""
    from app.config import Settings

    return Settings(database_url=sqlite_url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False,
                    gc_freeze=False, secret_key="web-test-key", smtp_host="127.0.0.1", smtp_port=mailbox.port,
                    delivery_backoff_base_seconds=0.05, delivery_max_attempts=3)


@pytest.fixture
def client(app):
    """A TestClient that names no language: the pages answer in Chinese, as they do for a person who says nothing."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def deliver(app) -> None:
    """What the notification worker does: send the e-mails waiting in the outbox."""
    from app.jobs import outbox

    outbox.deliver_due(app.state.engine, app.state.settings)


def link_in(mailbox: Mailbox, to: str, path: str) -> str:
    """The path of the ``path`` link (e.g. /invite/) in the latest e-mail to ``to``."""
    for m in reversed(mailbox.messages):
        if m["To"] == to:
            text = m.get_body(("plain",)).get_content()
            found = re.search(re.escape(path) + r"[A-Za-z0-9_\-]+", text)
            assert found, text
            return found.group(0)
    raise AssertionError(f"no e-mail to {to} among {[m['To'] for m in mailbox.messages]}")


@pytest.fixture
def people(app, world):
    """Every persona of ``world`` with the password ``PASSWORD`` (as if each had accepted an invitation)."""
    from sqlmodel import Session

    from app.models import User
    from app.services.accounts import PASSWORDS

    hashed = PASSWORDS.hash(PASSWORD)
    with Session(app.state.engine) as s:
        for p in world.personas.values():
            u = s.get(User, p.user_id)
            u.password_hash = hashed
            s.add(u)
        s.commit()
    return world


def email_of(persona: str) -> str:
    """The e-mail address a persona of ``world`` signs in with (hospital, hospital_b, company, company_b, lab,
    commission, admin)."""
    return f"{persona}@example.org"


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def signin_client(client, email: str, password: str = PASSWORD, follow: bool = False):
    page = client.get("/signin")
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": form_csrf(page.text)},
                       follow_redirects=follow)


# --- the browser -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (starting it costs more than most page checks)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, viewport: str = "desktop", lang: str = "zh"):
    """A page in a fresh context (its own cookies), asking for ``lang``; ``page.errors`` collects what went wrong."""
    ctx = browser.new_context(viewport=VIEWPORTS[viewport], locale=LOCALES[lang],
                              extra_http_headers={"Accept-Language": LOCALES[lang]},
                              is_mobile=viewport == "phone", has_touch=viewport == "phone")
    page = ctx.new_page()
    page.errors = []
    page.viewport_name = viewport
    page.lang = lang
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # a navigation superseded by the next one (net::ERR_ABORTED around a redirect) is no failure of the page
    page.on("requestfailed", lambda r: None if "ERR_ABORTED" in (r.failure or "")
            else page.errors.append(f"request failed: {r.url} {r.failure}"))
    # Chromium logs every 4xx as a console error, the page itself included (a form answered 422 with its field
    # errors is the page working); a sub-resource (script, style, image) that fails is an error of the page
    page.on("console", lambda m: page.errors.append(f"console {m.type}: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document" else None)
    return page


def signin_page(page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("#signin-submit")
    page.wait_for_load_state()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of these impacts. The script is evaluated through the DevTools protocol, which the
    page's CSP does not govern: the page is checked as it is served."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in impacts]


def check_page(page, name: str, screenshot: bool = True) -> None:
    """The page as a person meets it: no console error (a CSP violation is one), no serious or critical
    accessibility violation, no sideways scrolling of the whole page on a phone; a screenshot kept."""
    page.wait_for_load_state("load")
    assert not page.errors, page.errors
    violations = axe_violations(page)
    assert not violations, json.dumps(violations, ensure_ascii=False, indent=1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{name}: the page is {width}px wide on a " \
                                                     f"{page.viewport_size['width']}px screen"
    if screenshot:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        suffix = "-phone" if page.viewport_name == "phone" else ""
        page.screenshot(path=str(ARTIFACTS / f"{name}-{page.lang}{suffix}.png"), full_page=True)
