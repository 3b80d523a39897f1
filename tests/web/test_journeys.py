"""Each role's main journey in real Chromium, end to end: invited by e-mail -> sets a password -> signs in -> does
the role's core task -> signs out; each in Chinese on a laptop and in English on a 390 px phone. Every page on the
way is checked (no console error, no serious axe violation, fits the screen) and photographed."""

from __future__ import annotations

import pytest

from tests.analytics.conftest import build_pipeline
from tests.web.conftest import PASSWORD, check_page, deliver, link_in, open_page, signin_page


def _invite(page, base: str, email: str, org_name: str, role: str, language: str) -> None:
    page.goto(f"{base}/admin/invitations")
    page.fill("#f-email", email)
    page.fill("#f-full_name", "Test Person")
    page.select_option("#f-organisation_id", label=next(o for o in page.eval_on_selector_all(
        "#f-organisation_id option", "os => os.map(o => o.textContent)") if o.startswith(org_name)))
    page.select_option("#f-role", role)
    page.select_option("#f-language", language)
    page.click("#invite-submit")
    assert page.is_visible("#flash"), page.content()


def _accept(browser, base: str, app, mailbox, email: str, viewport: str, lang: str, name: str):
    """The invitee opens the e-mailed link in their own browser, sets a password and signs in."""
    deliver(app)
    path = link_in(mailbox, email, "/invite/")
    page = open_page(browser, viewport, lang)
    page.goto(base + path)
    assert page.inner_text("#invite-email") == email
    check_page(page, f"{name}-set-password")
    page.fill("#f-password", "short")
    page.fill("#f-password2", "short")
    page.click("#password-submit")
    assert page.is_visible("#e-password")  # the rule, beside the field, in the page's language
    check_page(page, f"{name}-set-password-error", screenshot=False)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("#password-submit")
    assert page.url.endswith("/signin") and page.is_visible("#flash")
    signin_page(page, base, email)
    return page


def _sign_out(page, base: str) -> None:
    page.click("#signout")  # in the header on a phone too, outside the folded menu
    assert page.url.endswith("/signin")
    page.goto(f"{base}/dashboard")
    assert "/signin?next=" in page.url


WORDS = {
    "zh": {"people": "人员", "name_needed": "须填写中文名或英文名", "org_created": "机构已创建",
           "dashboard": "普陀区医企协同 · 管线看板", "queue": "撮合队列", "introduce": "推荐", "introduced": "推荐已发出"},
    "en": {"people": "People", "name_needed": "name_zh or name_en is required", "org_created": "The organisation is created",
           "dashboard": "Putuo clinical-needs pipeline", "queue": "Brokering queue", "introduce": "Introduce",
           "introduced": "The introduction is sent"},
}


def _menu(page, href: str) -> None:
    """Through the menu, as a person would: folded on a phone, a row of links on a laptop."""
    if page.is_visible(".menu-narrow summary"):
        page.click(".menu-narrow summary")
        page.click(f".menu-narrow a[href='{href}']")
    else:
        page.click(f".menu-wide a[href='{href}']")


@pytest.mark.parametrize(("lang", "viewport"), [("zh", "desktop"), ("en", "phone")])
def test_admin_journey(browser, live_server, app, people, mailbox, lang, viewport):
    words = WORDS[lang]
    boss = open_page(browser, "desktop", "zh")
    signin_page(boss, live_server, "admin@example.org")
    _invite(boss, live_server, "ops2@example.org", "clinmatch operations", "admin", lang)
    boss.context.close()

    page = _accept(browser, live_server, app, mailbox, "ops2@example.org", viewport, lang, "admin-journey")
    assert page.url.endswith("/admin/users")
    assert page.inner_text("h1") == words["people"]
    check_page(page, "admin-users")
    # core task: a new organisation, then its first person
    _menu(page, "/admin/organisations")
    page.fill("#f-name_zh", "")
    page.click("#organisation-submit")
    assert page.is_visible("#e-name_zh") and words["name_needed"] in page.inner_text("#e-name_zh")
    page.fill("#f-name_zh", "长征医院介入科")
    page.select_option("#f-kind", "hospital")
    page.select_option("#f-region", "putuo")
    page.click("#organisation-submit")
    assert words["org_created"] in page.inner_text("#flash")
    assert "长征医院介入科" in page.inner_text("h1")
    check_page(page, "admin-users-of-organisation")
    _invite(page, live_server, "dr.li@example.org", "长征医院介入科", "hospital_staff", lang)
    assert "dr.li@example.org" in page.inner_text("#invitations")
    check_page(page, "admin-invitations")
    _sign_out(page, live_server)
    page.context.close()


@pytest.mark.parametrize(("lang", "viewport"), [("en", "phone"), ("zh", "desktop")])
def test_commission_journey(browser, live_server, app, people, mailbox, lang, viewport):
    words = WORDS[lang]
    pipeline = build_pipeline(app.state.engine, people)
    boss = open_page(browser, "desktop", "zh")
    signin_page(boss, live_server, "admin@example.org")
    _invite(boss, live_server, "officer@example.org", "普陀区商务委", "commission", lang)
    boss.context.close()

    page = _accept(browser, live_server, app, mailbox, "officer@example.org", viewport, lang, "commission-journey")
    assert page.url.endswith("/dashboard")
    page.wait_for_selector("body[data-charts=ready]", timeout=10_000)
    assert page.inner_text("h1") == words["dashboard"]
    check_page(page, "commission-dashboard")
    # core task: from the brokering queue, introduce a need to a suggested capability, with a note
    _menu(page, "/queue")
    assert page.inner_text("h1") == words["queue"]
    check_page(page, "commission-queue")
    page.locator("#queue-waiting a", has_text=words["introduce"]).first.click()
    assert page.input_value("#f-need_id") and page.input_value("#f-capability_ids")
    page.fill("#f-note", "Both work on transseptal access; please talk.")
    page.click("#introduce-submit")
    assert words["introduced"] in page.inner_text("#flash")
    assert "Both work on transseptal access" in page.inner_text("#introductions")
    check_page(page, "commission-introductions")
    # a note, then the audit trail shows both
    page.goto(f"{live_server}/notes")
    page.fill("#f-entity_id", str(pipeline.needs["N5"]))
    page.fill("#f-body", "Call the department head next week.")
    page.click("#note-submit")
    assert "Call the department head" in page.inner_text("#notes")
    check_page(page, "commission-notes")
    page.goto(f"{live_server}/audit")
    trail = page.inner_text("#audit")
    assert "introduction" in trail and "note" in trail
    check_page(page, "commission-audit")
    _sign_out(page, live_server)
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_revoked_session_ends_in_the_browser(browser, live_server, app, people, lang):
    officer = open_page(browser, "desktop", lang)
    signin_page(officer, live_server, "commission@example.org")
    assert officer.url.endswith("/dashboard")
    boss = open_page(browser, "desktop", lang)
    signin_page(boss, live_server, "admin@example.org")
    boss.click(f"tr[data-user='{people['commission'].user_id}'] form[action$='/revoke'] button")
    assert boss.is_visible("#flash")
    officer.goto(f"{live_server}/notes")
    assert "/signin?next=" in officer.url
    boss.context.close()
    officer.context.close()


def test_a_forgotten_password_on_a_phone(browser, live_server, app, people, mailbox):
    page = open_page(browser, "phone", "zh")
    page.goto(f"{live_server}/signin")
    page.click("a[href='/reset']")
    page.fill("#f-email", "hospital@example.org")
    page.click("#reset-submit")
    assert page.is_visible("#reset-sent")
    deliver(app)
    page.goto(live_server + link_in(mailbox, "hospital@example.org", "/reset/"))
    assert page.inner_text("h1") == "设置新密码"
    check_page(page, "reset-set-password")
    page.fill("#f-password", "another long passphrase")
    page.fill("#f-password2", "another long passphrase")
    page.click("#password-submit")
    assert "密码已设置" in page.inner_text("#flash")
    signin_page(page, live_server, "hospital@example.org", PASSWORD)
    assert page.is_visible("#form-error")  # the old password no longer works
    signin_page(page, live_server, "hospital@example.org", "another long passphrase")
    assert page.url.endswith("/needs")  # the hospital's home (its pages come with the hospital's module)
    page.context.close()
