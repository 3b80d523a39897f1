"""The hospital's and the company's main journeys in real headless Chromium, in both languages, one of them on a
phone-sized screen; then every hospital, company and partnership page checked (no console or CSP error, no serious
accessibility violation, nothing wider than a phone) with a screenshot in each language."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import RF_CAPABILITY, TSP_NEED
from tests.web.conftest import check_page, open_page, signin_page

CSV = (b"title,description,tracks,stages,external_ref\n"
       b"Large-animal cardiac studies,Pig and sheep models for interventional devices,interventional_implant,"
       b"animal_trial,LA-1\n"
       b",missing title,imaging,,LA-2\n")


def _api(base, persona, method, path, **kw):
    r = httpx.request(method, f"{base}/api/v1{path}", headers=persona.headers, timeout=30, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def _tell(app) -> None:
    from app.jobs.worker import Worker

    w = Worker(app.state.engine, app.state.settings)
    try:
        w.run_once(clock=False)
    finally:
        w._client.close()


@pytest.mark.parametrize("lang,viewport", [("zh", "phone"), ("en", "desktop")])
def test_hospital_journey(app, live_server, people, browser, lang, viewport):
    base = live_server
    cap = _api(base, people["company"], "POST", "/capabilities", json=RF_CAPABILITY)
    page = open_page(browser, viewport, lang)
    signin_page(page, base, "hospital@example.org")
    assert page.url.endswith("/needs")
    check_page(page, "hospital-needs-empty")
    page.click("#empty a.button")
    assert page.url.endswith("/needs/new")
    page.fill("#f-title", TSP_NEED["title"])
    page.fill("#f-department", TSP_NEED["department"])
    for name in ("clinical_problem", "current_practice", "shortcomings", "affected_population"):
        page.fill(f"#f-{name}", TSP_NEED[name])
    # the solution warning appears as one types, and goes once the outcome describes a result
    page.fill("#f-desired_outcome", "研制一款可调弯射频穿刺系统")
    page.wait_for_selector("#statement-notes .warning")
    check_page(page, "hospital-need-form")
    page.fill("#f-desired_outcome", TSP_NEED["desired_outcome"])
    page.wait_for_selector("#statement-notes .warning", state="detached")
    page.check("input[name=tracks][value=interventional_implant]")
    page.check("input[name=stages][value=animal_trial]")
    page.click("#publish")
    page.wait_for_selector("#need-title")
    need_id = int(page.url.rsplit("/", 1)[1])
    assert page.inner_text("#need-title") == TSP_NEED["title"]
    assert RF_CAPABILITY["title"] in page.inner_text("#match-list")
    check_page(page, "hospital-need")
    # a company says it is interested, with words for the hospital
    _api(base, people["company"], "POST", "/matches/feedback",
         json={"need_id": need_id, "capability_id": cap["id"], "verdict": "interested",
               "comment": "我们可以提供可调弯射频穿刺样机。"})
    page.reload()
    assert "我们可以提供可调弯射频穿刺样机。" in page.inner_text("#interest")
    page.click("#interest a.button")
    page.fill("#f-body", "欢迎来院交流。" if lang == "zh" else "Welcome; please visit us next week.")
    page.click("#send")
    page.wait_for_selector("#latest")
    check_page(page, "thread")
    page.goto(f"{base}/needs/{need_id}")
    page.click(f"#accept-{cap['id']}")
    page.wait_for_selector("#state")
    assert "/partnerships/" in page.url
    check_page(page, "partnership")
    page.click("#signout")
    page.wait_for_url("**/signin**")
    page.context.close()


@pytest.mark.parametrize("lang,viewport", [("en", "phone"), ("zh", "desktop")])
def test_company_journey(app, live_server, people, browser, lang, viewport, tmp_path):
    base = live_server
    _api(base, people["company"], "POST", "/capabilities", json=RF_CAPABILITY)
    need = _api(base, people["hospital"], "POST", "/needs", json={**TSP_NEED, "status": "open"})
    _tell(app)
    page = open_page(browser, viewport, lang)
    signin_page(page, base, "company@example.org")
    assert page.url.endswith("/inbox")
    assert need["title"] in page.inner_text("#notifications")
    check_page(page, "company-inbox")
    page.goto(f"{base}/browse?track=interventional_implant")
    check_page(page, "company-browse")
    page.click(f"#needs a[href='/needs/{need['id']}']")
    page.wait_for_selector("#answer")
    check_page(page, "company-need")
    page.fill("#answer textarea[name=comment]", "We make a steerable RF transseptal system.")
    page.click("#answer button.primary")
    page.wait_for_selector("#flash")
    # a capability of its own, then a catalogue from a spreadsheet: the preview first
    page.goto(f"{base}/capabilities/new")
    page.select_option("#f-kind", "service")
    page.fill("#f-title", "Type testing of catheters")
    page.fill("#f-description", "Registration type testing for Class II/III catheters.")
    page.check("input[name=tracks][value=interventional_implant]")
    check_page(page, "capability-form")
    page.click("#save")
    page.wait_for_selector("#cap-title")
    check_page(page, "capability")
    page.goto(f"{base}/capabilities/import")
    page.set_input_files("#f-file", files=[{"name": "catalogue.csv", "mimeType": "text/csv", "buffer": CSV}])
    page.click("#preview")
    page.wait_for_selector("#preview-table")
    assert page.inner_text("#valid-count") == "1" and page.inner_text("#invalid-count") == "1"
    check_page(page, "import-preview")
    page.click("#confirm")
    page.wait_for_selector("#capabilities")
    assert "Large-animal cardiac studies" in page.inner_text("#capabilities")
    check_page(page, "capabilities")
    page.click("#signout")
    page.wait_for_url("**/signin**")
    page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_role_page_on_a_phone(app, live_server, people, browser, lang):
    """Each page of the hospital, the company and the partnership in a state with content: axe-core, no sideways
    scrolling at 390 px, no console error, a screenshot."""
    base = live_server
    cap = _api(base, people["company"], "POST", "/capabilities", json=RF_CAPABILITY)
    need = _api(base, people["hospital"], "POST", "/needs", json={**TSP_NEED, "status": "open"})
    _api(base, people["company"], "POST", "/matches/feedback",
         json={"need_id": need["id"], "capability_id": cap["id"], "verdict": "interested", "comment": "样机已就绪"})
    eng = _api(base, people["company"], "POST", "/engagements", json={"need_id": need["id"],
                                                                        "capability_id": cap["id"]})
    other = _api(base, people["company"], "POST", "/capabilities",
                 json={**RF_CAPABILITY, "title": "Steerable sheath", "external_ref": "SH-2"})
    _api(base, people["commission"], "POST", "/introductions",
         json={"need_id": need["id"], "capability_ids": [other["id"]], "note": "推荐对接"})
    _tell(app)
    hospital = open_page(browser, "phone", lang)
    signin_page(hospital, base, "hospital@example.org")
    for name, path in (("hospital-needs", "/needs"), ("hospital-need-page", f"/needs/{need['id']}"),
                       ("hospital-need-edit", f"/needs/{need['id']}/edit"), ("hospital-inbox", "/inbox"),
                       ("partnership-hospital", f"/partnerships/{eng['id']}"), ("threads", "/threads"),
                       ("invitations", "/invitations"), ("notification-settings", "/settings/notifications")):
        hospital.goto(base + path)
        check_page(hospital, name)
    hospital.context.close()
    company = open_page(browser, "phone", lang)
    signin_page(company, base, "company@example.org")
    for name, path in (("company-inbox-full", "/inbox"), ("company-browse-all", "/browse"),
                       ("company-need-page", f"/needs/{need['id']}"), ("company-capabilities", "/capabilities"),
                       ("company-capability", f"/capabilities/{cap['id']}"), ("company-import", "/capabilities/import"),
                       ("company-thread", f"/threads/needs/{need['id']}/{people.orgs['company']}"),
                       ("partnership-company", f"/partnerships/{eng['id']}")):
        company.goto(base + path)
        check_page(company, name)
    company.context.close()
