"""An anonymous need leaks nothing on any page a company can open: every page's HTML is searched for the hospital's
names and its id (a distinctive number, so that finding it means something) until the hospital accepts the company
as its partner; after that the partnership page names it (the check can fail)."""

from __future__ import annotations

import re

from sqlmodel import Session

from tests.conftest import RF_CAPABILITY, TSP_NEED
from tests.web.conftest import PASSWORD, form_csrf, signin_client

HOSPITAL_ID = 987654
NAME_ZH, NAME_EN = "保密示范医院", "Confidential Demo Hospital"


def _hidden_hospital(app) -> str:
    from app.models import Organisation, User
    from app.models.user import UserCreate
    from app.services import users
    from app.services.accounts import PASSWORDS

    with Session(app.state.engine) as s:
        s.add(Organisation(id=HOSPITAL_ID, kind="hospital", name_zh=NAME_ZH, name_en=NAME_EN, region="putuo"))
        s.flush()
        u = users.create_user(s, None, UserCreate(email="secret@example.org", full_name="匿名医生", role="hospital_staff",
                                                  organisation_id=HOSPITAL_ID))
        row = s.get(User, u.id)
        row.password_hash = PASSWORDS.hash(PASSWORD)
        s.add(row)
        s.commit()
    return "secret@example.org"


def _client(app, email):
    from fastapi.testclient import TestClient

    c = TestClient(app, raise_server_exceptions=False)
    assert signin_client(c, email).status_code == 303
    return c


def _post(c, page_url, url, data):
    page = c.get(page_url)
    assert page.status_code == 200, page.text[:2000]
    return c.post(url, data={**data, "csrf_token": form_csrf(page.text)}, follow_redirects=False)


def _leaks(html: str) -> list[str]:
    found = [x for x in (NAME_ZH, NAME_EN) if x in html]
    found += re.findall(rf"(?<!\d){HOSPITAL_ID}(?!\d)", html)
    return found


def test_no_page_a_company_opens_names_an_anonymous_needs_hospital(app, client, people):
    from app.jobs.worker import Worker

    h = _client(app, _hidden_hospital(app))
    c = _client(app, "company@example.org")
    r = _post(c, "/capabilities/new", "/capabilities/new",
              {"kind": "product", "title": RF_CAPABILITY["title"], "description": RF_CAPABILITY["description"],
               "tracks": RF_CAPABILITY["tracks"], "stages": RF_CAPABILITY["stages"]})
    cap = r.headers["location"]
    cap_id = int(cap.rsplit("/", 1)[1])
    form = {**{k: v for k, v in TSP_NEED.items()}, "confidentiality": "anonymous", "publish": "1",
            "contact_name": "王主任", "contact_email": "wang@secret-hospital.example"}
    r = _post(h, "/needs/new", "/needs/new", form)
    assert r.status_code == 303, r.text[:2000]
    need = r.headers["location"]
    need_id = int(need.rsplit("/", 1)[1])
    w = Worker(app.state.engine, app.state.settings)
    try:
        w.run_once(clock=False)  # the match is told to the company: its inbox
    finally:
        w._client.close()
    # the company is interested; the hospital answers in the conversation; the company proposes a partnership
    assert _post(c, need, f"{need}/feedback", {"capability_id": cap_id, "verdict": "interested",
                                               "comment": "可提供样机"}).status_code == 303
    thread = f"/threads/needs/{need_id}/{people.orgs['company']}"
    assert _post(h, thread, thread, {"body": "请介绍贵司的动物实验经验。"}).status_code == 303
    r = _post(c, need, f"{need}/propose", {"capability_id": cap_id})
    assert r.status_code == 303
    eng = r.headers["location"]

    pages = ["/inbox", "/browse", "/browse?q=穿刺", need, cap, "/capabilities", thread, "/threads", eng,
             f"/threads/partnerships/{eng.rsplit('/', 1)[1]}", "/invitations", "/settings/notifications",
             "/capabilities/import"]
    for lang in ("zh", "en"):
        for url in pages:
            r = c.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
            assert r.status_code == 200, (url, r.status_code)
            assert _leaks(r.text) == [], (url, lang, _leaks(r.text))
            assert "wang@secret-hospital.example" not in r.text and "王主任" not in r.text
    assert "请介绍贵司的动物实验经验。" in c.get(thread).text  # the hospital's words, not its name

    # the hospital accepts the company: from now on the company may know it
    page = h.get(eng)
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    assert _post(h, eng, f"{eng}/accept", {"version": version}).status_code == 303
    assert _leaks(c.get(eng).text)
