"""Every page this part of the web app adds, in both languages, on a laptop and on a 390 px phone: no console
error (the CSP), no serious or critical axe-core violation, nothing wider than the screen; a screenshot of each."""

from __future__ import annotations

import pytest

from tests.analytics.conftest import build_pipeline
from tests.web.conftest import check_page, open_page, signin_page

ANONYMOUS = ["/signin", "/reset", "/dashboard/signin", "/invite/not-a-valid-token"]
ADMIN = ["/admin/users", "/admin/organisations", "/admin/invitations"]
COMMISSION = ["/dashboard", "/queue", "/introductions", "/notes", "/audit", "/no-such-page", "/dashboard/industry/map",
              "/dashboard/industry/chain", "/dashboard/industry/gaps"]
# pages whose charts draw after load: checked once drawn
READY = {"/dashboard": "charts", "/dashboard/industry/map": "map", "/dashboard/industry/chain": "chain"}


def _name(path: str) -> str:
    return path.strip("/").replace("/", "-").split("?")[0] or "home"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page(browser, live_server, app, people, lang, viewport):
    pipeline = build_pipeline(app.state.engine, people)
    page = open_page(browser, viewport, lang)
    for path in ANONYMOUS:
        page.goto(live_server + path)
        check_page(page, _name(path).replace("invite-not-a-valid-token", "link-invalid"))
    page.goto(f"{live_server}/reset")
    page.fill("#f-email", "nobody@example.org")
    page.click("#reset-submit")
    check_page(page, "reset-sent")
    signin_page(page, live_server, "admin@example.org")
    for path in ADMIN + [f"/admin/users/{people['company'].user_id}"]:
        page.goto(live_server + path)
        check_page(page, "admin-user" if path[-1].isdigit() else _name(path))
    page.click("#signout")
    signin_page(page, live_server, "commission@example.org")
    for path in COMMISSION + [f"/dashboard/engagements/{pipeline.engagements['E1']}",
                              f"/dashboard/industry/org/{people.orgs['company']}"]:
        page.goto(live_server + path)
        if path in READY:
            page.wait_for_selector(f"body[data-{READY[path]}=ready]", timeout=10_000)
        check_page(page, "dashboard-engagement" if "engagements" in path else "dashboard-industry-org"
                   if "/org/" in path else _name(path))
    page.context.close()


def test_empty_states_say_what_to_do_next(browser, live_server, people):
    page = open_page(browser, "desktop", "en")
    signin_page(page, live_server, "commission@example.org")
    for path, hint in (("/introductions", "Open the brokering queue"), ("/notes", "Write one above"),
                       ("/audit?entity=nothing", "Clear them")):
        page.goto(live_server + path)
        assert hint in page.inner_text(".empty"), path
    page.goto(f"{live_server}/queue")
    assert page.locator(".empty").count() == 3
    check_page(page, "queue-empty")
    page.context.close()
