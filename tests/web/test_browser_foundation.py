"""The layout every page shares, in real Chromium: both languages, a laptop and a 390 px phone, no console error
(the CSP), no serious accessibility violation (axe-core), the menu folded on the phone."""

from __future__ import annotations

import pytest

from tests.web.conftest import check_page, open_page, signin_page


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_signin_pages(browser, live_server, lang, viewport):
    page = open_page(browser, viewport, lang)
    page.goto(f"{live_server}/signin")
    assert page.inner_text("h1") == {"zh": "登录", "en": "Sign in"}[lang]
    check_page(page, "signin")
    page.goto(f"{live_server}/reset")
    check_page(page, "reset")
    page.context.close()


def test_the_menu_folds_on_a_phone_and_the_language_switch_stays(browser, live_server, people):
    page = open_page(browser, "phone", "zh")
    signin_page(page, live_server, "admin@example.org")
    assert page.url.endswith("/admin/users")
    assert not page.is_visible(".menu-wide") and page.is_visible(".menu-narrow summary")
    page.click(".menu-narrow summary")
    page.click(".menu-narrow a[href='/admin/organisations']")
    assert page.inner_text("h1") == "机构"
    page.click("#lang-toggle")
    assert page.inner_text("h1") == "Organisations"
    page.goto(f"{live_server}/admin/invitations")  # remembered
    assert page.inner_text("h1") == "Invitations"
    assert not page.errors, page.errors
    page.context.close()


def test_the_accessibility_check_sees_a_violation(browser, live_server):
    """The harness is not blind: a form field without a label is a critical violation to axe-core."""
    from tests.web.conftest import axe_violations

    page = open_page(browser, "desktop", "zh")
    page.goto(f"{live_server}/signin")
    assert axe_violations(page) == []
    page.evaluate("document.querySelector('label[for=f-email]').remove()")
    assert any(v["id"] == "label" for v in axe_violations(page)), axe_violations(page, ("minor", "moderate",
                                                                                       "serious", "critical"))
    page.context.close()


def test_htmx_filters_in_place_under_the_csp(browser, live_server, people):
    """htmx (vendored, same-origin) swaps the audit list without reloading the page, and nothing breaks the CSP."""
    page = open_page(browser, "desktop", "en")
    signin_page(page, live_server, "admin@example.org")
    page.goto(f"{live_server}/audit")
    assert page.evaluate("typeof htmx") == "object"
    page.evaluate("window.stillHere = true")
    page.select_option("#audit-filters select[name=entity]", "user")
    page.click("#audit-filters button")
    page.wait_for_url("**/audit?entity=user**")
    page.wait_for_function("document.querySelectorAll('#audit tbody tr').length > 0")
    assert page.evaluate("window.stillHere") is True  # swapped in place, not reloaded
    records = page.eval_on_selector_all("#audit tbody td[data-label='Record']", "tds => tds.map(t => t.textContent)")
    assert records and all(r.startswith("user") for r in records)
    assert page.locator("#audit").count() == 1
    assert not page.errors, page.errors
    page.context.close()
