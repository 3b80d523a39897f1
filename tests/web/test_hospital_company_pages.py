"""Hospital and company pages over HTTP (no browser): signed in through the form, every change a POST with the
form's CSRF token; field errors beside the field in the page's language; the same services as the API."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from tests.conftest import RF_CAPABILITY, TSP_NEED
from tests.web.conftest import form_csrf, signin_client

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def signed_in(app, client, people):
    """A signed-in TestClient per person (``client`` keeps the app started: its lifespan loaded the match index)."""
    from fastapi.testclient import TestClient

    def make(email: str):
        c = TestClient(app, raise_server_exceptions=False)
        r = signin_client(c, email)
        assert r.status_code == 303, r.text
        return c

    return make


def _post(c, page_url: str, url: str, data: dict, **kw):
    page = c.get(page_url)
    assert page.status_code == 200, page.text[:2000]
    return c.post(url, data={**data, "csrf_token": form_csrf(page.text)}, follow_redirects=False, **kw)


def _need_form(**overrides) -> dict:
    data = {k: v for k, v in TSP_NEED.items() if not isinstance(v, list)}
    data.update(tracks=TSP_NEED["tracks"], partner_types=TSP_NEED["partner_types"], stages=TSP_NEED["stages"],
                regions=TSP_NEED["regions"], confidentiality="public")
    data.update(overrides)
    return data


def _file_need(c, **overrides) -> int:
    r = _post(c, "/needs/new", "/needs/new", {**_need_form(**overrides), "publish": "1"})
    assert r.status_code == 303, r.text[:3000]
    return int(r.headers["location"].rsplit("/", 1)[1])


def _add_capability(c, **overrides) -> int:
    data = {"kind": "product", "title": RF_CAPABILITY["title"], "description": RF_CAPABILITY["description"],
            "tracks": RF_CAPABILITY["tracks"], "stages": RF_CAPABILITY["stages"], "certifications": "ISO13485"}
    data.update(overrides)
    r = _post(c, "/capabilities/new", "/capabilities/new", data)
    assert r.status_code == 303, r.text[:3000]
    return int(r.headers["location"].rsplit("/", 1)[1])


def test_empty_states_say_what_to_do_next(signed_in, people):
    h = signed_in("hospital@example.org")
    page = h.get("/needs")
    assert page.status_code == 200 and 'id="empty"' in page.text and 'href="/needs/new"' in page.text
    c = signed_in("company@example.org")
    for url, hint in (("/inbox", 'href="/capabilities/new"'), ("/capabilities", 'href="/capabilities/import"'),
                      ("/threads", 'id="empty"'), ("/invitations", 'id="empty"')):
        page = c.get(url)
        assert page.status_code == 200 and hint in page.text, url
        assert HAN.search(page.text)
    assert h.get("/browse").status_code == 403  # the needs browser is the companies'


def test_filing_a_need_field_errors_beside_the_field_in_the_pages_language(signed_in, people):
    h = signed_in("hospital@example.org")
    r = _post(h, "/needs/new", "/needs/new", {"title": "", "tracks": [], "desired_outcome": ""})
    assert r.status_code == 422
    assert 'id="e-title"' in r.text and 'id="e-tracks"' in r.text
    assert re.search(r'id="e-title">[^<]*[\u4e00-\u9fff]', r.text)
    r = _post(h, "/needs/new?lang=en", "/needs/new?lang=en", {"title": "", "tracks": []})
    assert r.status_code == 422 and 'id="e-title"' in r.text
    assert not re.search(r'id="e-title">[^<]*[\u4e00-\u9fff]', r.text)  # in English, all of it


def test_the_solution_warning_as_one_types(signed_in, people):
    h = signed_in("hospital@example.org")
    r = h.get("/needs/statement-check", params={"desired_outcome": "开发一种可调弯的射频穿刺系统"})
    assert r.status_code == 200 and "具体解决方案" in r.text and "开发一种可调弯的射频" in r.text
    r = h.get("/needs/statement-check", params={"desired_outcome": "一次在预定位置完成穿刺，并发症明显减少"})
    assert r.status_code == 200 and "warning" not in r.text
    r = h.get("/needs/statement-check", params={"desired_outcome": "develop a steerable RF needle system", "lang": "en"})
    assert "specific solution" in r.text
    page = h.get("/needs/new")
    assert 'hx-get="/needs/statement-check"' in page.text


def test_hospital_and_company_meet_on_a_need(signed_in, people):
    h = signed_in("hospital@example.org")
    c = signed_in("company@example.org")
    cap_id = _add_capability(c)
    need_id = _file_need(h)
    # the hospital reads its matches with their reasons, in Chinese
    page = h.get(f"/needs/{need_id}")
    assert page.status_code == 200 and 'id="match-list"' in page.text and RF_CAPABILITY["title"] in page.text
    assert "共同概念" in page.text or "语义相似" in page.text
    # the company finds it, says it is interested: the hospital reads it and answers in the conversation
    assert f'href="/needs/{need_id}"' in c.get("/browse", params={"track": "interventional_implant"}).text
    r = _post(c, f"/needs/{need_id}", f"/needs/{need_id}/feedback",
              {"capability_id": cap_id, "verdict": "not_interested", "reason": "other", "comment": ""})
    assert r.status_code == 422 and HAN.search(r.text)  # 'other' needs its words: refused, in Chinese
    r = _post(c, f"/needs/{need_id}", f"/needs/{need_id}/feedback",
              {"capability_id": cap_id, "verdict": "interested", "comment": "我们有可调弯射频穿刺系统，可提供样机。"})
    assert r.status_code == 303
    page = h.get(f"/needs/{need_id}")
    assert "我们有可调弯射频穿刺系统" in page.text and f'id="accept-{cap_id}"' in page.text
    thread = f"/threads/needs/{need_id}/{people.orgs['company']}"
    assert thread in page.text
    r = _post(h, thread, thread, {"body": "欢迎，请下周来院交流。"})
    assert r.status_code == 303
    assert "欢迎，请下周来院交流。" in c.get(thread).text
    # the hospital accepts the company as its partner; the company accepts the partnership
    r = _post(h, f"/needs/{need_id}", f"/needs/{need_id}/propose", {"capability_id": cap_id})
    assert r.status_code == 303 and r.headers["location"].startswith("/partnerships/")
    eng = r.headers["location"]
    page = c.get(eng)
    assert page.status_code == 200 and 'id="accept"' in page.text
    r = _post(c, eng, eng + "/accept", {"version": re.search(r'name="version" value="(\d+)"', page.text).group(1)})
    assert r.status_code == 303
    page = h.get(eng)
    assert 'id="step-intent_signed"' in page.text
    # a step the guards refuse is said in the page's language, beside what is still needed
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    r = _post(h, eng, eng + "/step", {"version": version, "target": "withdrawn", "comment": ""})
    assert r.status_code == 422 and HAN.search(r.text)
    r = _post(h, eng, eng + "/step", {"version": version, "target": "intent_signed", "pathway": "device"})
    assert r.status_code == 303
    assert 'id="state">达成合作意向' in h.get(eng).text
    # the hospital invites the lab as the animal facility; the lab takes part once it accepts
    page = h.get(eng)
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    r = _post(h, eng, eng + "/participants", {"version": version, "organisation_id": people.orgs["lab"],
                                              "role": "animal_facility"})
    assert r.status_code == 303, r.text[:2000]
    lab = signed_in("lab@example.org")
    page = lab.get("/invitations")
    inv = re.search(r'action="/invitations/(\d+)"', page.text).group(1)
    r = _post(lab, "/invitations", f"/invitations/{inv}", {"answer": "accept"})
    assert r.status_code == 303 and r.headers["location"] == eng
    assert "华东师大超快激光实验室" in h.get(eng).text


def test_capability_catalogue_create_edit_archive(signed_in, people):
    c = signed_in("company@example.org")
    r = _post(c, "/capabilities/new", "/capabilities/new", {"kind": "product", "title": "", "description": "x"})
    assert r.status_code == 422 and 'id="e-title"' in r.text and 'id="e-tracks"' in r.text
    cap_id = _add_capability(c)
    page = c.get(f"/capabilities/{cap_id}/edit")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    r = _post(c, f"/capabilities/{cap_id}/edit", f"/capabilities/{cap_id}/edit",
              {"version": version, "kind": "product", "title": "RF 穿刺系统（第二代）", "description": "可调弯",
               "tracks": ["interventional_implant"]})
    assert r.status_code == 303
    assert "RF 穿刺系统（第二代）" in c.get(f"/capabilities/{cap_id}").text
    # a stale version is refused and changes nothing
    r = _post(c, f"/capabilities/{cap_id}/edit", f"/capabilities/{cap_id}/edit",
              {"version": version, "kind": "product", "title": "stale", "description": "x",
               "tracks": ["imaging"]})
    assert r.status_code == 422 and "stale" not in c.get(f"/capabilities/{cap_id}").text.split("<main")[1][:2000]
    page = c.get(f"/capabilities/{cap_id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    r = _post(c, f"/capabilities/{cap_id}", f"/capabilities/{cap_id}/status", {"version": version,
                                                                                "status": "archived"})
    assert r.status_code == 303
    assert f'href="/capabilities/{cap_id}"' in c.get("/capabilities", params={"status": "archived"}).text
    # another company's capability is not found
    other = signed_in("company_b@example.org")
    assert other.get(f"/capabilities/{cap_id}").status_code == 404


def _xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_import_preview_shows_each_rows_errors_before_anything_is_stored(signed_in, people):
    c = signed_in("company@example.org")
    data = _xlsx([["标题", "描述", "赛道", "编号"],
                  ["大动物介入实验", "猪、羊模型的心脏介入动物实验。", "微创介入与植入", "A-1"],
                  ["", "没有标题", "医学影像", "A-2"],
                  ["超声", "床旁超声", "登月", "A-3"]])
    page = c.get("/capabilities/import")
    r = c.post("/capabilities/import", data={"csrf_token": form_csrf(page.text)},
               files={"file": ("目录.xlsx", data, "application/octet-stream")})
    assert r.status_code == 200, r.text[:2000]
    assert 'id="valid-count">1<' in r.text and 'id="invalid-count">2<' in r.text
    assert 'id="row-3"' in r.text and "须为以下之一" in r.text
    assert c.get("/capabilities").text.count('class="card"') == 0  # nothing stored yet
    carried = re.search(r'name="carried" value="([^"]+)"', r.text).group(1)
    r = c.post("/capabilities/import/confirm", data={"csrf_token": form_csrf(r.text), "carried": carried},
               follow_redirects=False)
    assert r.status_code == 303
    assert "大动物介入实验" in c.get("/capabilities").text
    # a file that cannot be read: the error beside the file field
    page = c.get("/capabilities/import")
    r = c.post("/capabilities/import", data={"csrf_token": form_csrf(page.text)},
               files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 422 and 'id="e-file"' in r.text and "CSV" in r.text
    # a confirmation whose rows were tampered with is refused, nothing stored
    r = c.post("/capabilities/import/confirm", data={"csrf_token": form_csrf(page.text), "carried": "x"})
    assert r.status_code == 422


def test_notification_settings_and_webhooks(signed_in, people):
    c = signed_in("company@example.org")
    r = _post(c, "/settings/notifications", "/settings/notifications",
              {"version": "0", "channels": ["inbox"], "rhythm": "daily", "min_score": "2", "language": "zh"})
    assert r.status_code == 422 and 'id="e-min_score"' in r.text
    r = _post(c, "/settings/notifications", "/settings/notifications",
              {"version": "0", "channels": ["inbox"], "rhythm": "daily", "min_score": "0.5", "language": "en",
               "tracks": ["imaging"]})
    assert r.status_code == 303
    page = c.get("/settings/notifications")
    assert 'value="daily" selected' in page.text
    # one person's own e-mail switch
    page = c.get("/settings/notifications")
    assert 'id="f-my-email" checked' in page.text
    r = _post(c, "/settings/notifications", "/settings/notifications/me", {"version": "0"})
    assert r.status_code == 303 and 'id="f-my-email" checked' not in c.get("/settings/notifications").text
    r = _post(c, "/settings/notifications", "/settings/webhooks", {"url": "http://127.0.0.1/hook"})
    assert r.status_code == 422 and 'id="e-url"' in r.text


def test_pages_refuse_a_post_without_the_csrf_token(signed_in, people):
    h = signed_in("hospital@example.org")
    r = h.post("/needs/new", data=_need_form(), follow_redirects=False)
    assert r.status_code == 403
    assert 'id="empty"' in h.get("/needs").text  # nothing filed


def test_an_introduction_answered_by_the_company_and_accepted_by_the_hospital(client, signed_in, people):
    h = signed_in("hospital@example.org")
    c = signed_in("company@example.org")
    cap_id = _add_capability(c)
    need_id = _file_need(h)
    r = client.post("/api/v1/introductions", headers=people["commission"].headers,
                    json={"need_id": need_id, "capability_ids": [cap_id], "note": "区商务委推荐：双方可就穿刺系统交流。"})
    assert r.status_code == 201, r.text
    intro = r.json()[0]["id"]
    page = c.get("/inbox")
    assert 'id="introductions"' in page.text and "区商务委推荐" in page.text
    # 'other' without words is refused beside the comment, in Chinese; then interested
    r = _post(c, "/inbox", f"/inbox/introductions/{intro}", {"verdict": "not_interested", "reason": "other"})
    assert r.status_code == 422 and HAN.search(r.text)
    r = _post(c, "/inbox", f"/inbox/introductions/{intro}", {"verdict": "interested", "comment": "可提供样机"})
    assert r.status_code == 303
    page = h.get(f"/needs/{need_id}")
    assert f'id="intro-accept-{intro}"' in page.text and "可提供样机" in page.text
    r = _post(h, f"/needs/{need_id}", f"/needs/{need_id}/introductions/{intro}", {"decision": "accept"})
    assert r.status_code == 303 and r.headers["location"].startswith("/partnerships/")
    # brokered: both sides' acceptances are recorded, the next step is intent
    assert 'id="step-intent_signed"' in h.get(r.headers["location"]).text


def test_every_hospital_company_and_partnership_form_refuses_a_post_without_its_token(app, client, signed_in,
                                                                                       people):
    """Each POST route of the three page modules, as the hospital and as the company, without a token and with a
    forged one: 403, and nothing is written."""
    from sqlmodel import Session, func, select

    from app.models import AuditEvent
    from app.web import company, hospital, partnerships

    h = signed_in("hospital@example.org")
    c = signed_in("company@example.org")
    cap_id = _add_capability(c)
    need_id = _file_need(h)
    r = _post(h, f"/needs/{need_id}", f"/needs/{need_id}/propose", {"capability_id": cap_id})
    eng_id = int(r.headers["location"].rsplit("/", 1)[1])
    ids = {"need_id": need_id, "cap_id": cap_id, "engagement_id": eng_id, "company_org_id": people.orgs["company"],
           "milestone_id": 1, "intro_id": 1, "invitation_id": 1, "endpoint_id": 1, "document_id": 1}
    with Session(app.state.engine) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    paths = [route.path for module in (hospital, company, partnerships) for route in module.router.routes
             if "POST" in getattr(route, "methods", ())]
    assert len(paths) >= 20
    for path in paths:
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        refused = []
        for who in (h, c):
            for data in ({}, {"csrf_token": "forged"}):
                r = who.post(url, data={**data, "title": "x", "body": "x", "verdict": "interested",
                                        "capability_id": str(cap_id), "status": "closed", "version": "1",
                                        "target": "withdrawn", "comment": "x", "decision": "accept",
                                        "answer": "accept", "url": "https://example.org/x"},
                             follow_redirects=False)
                assert r.status_code == 403, (url, r.status_code)
                refused.append('id="csrf-failed"' in r.text)
        assert any(refused), url  # at least the side the form is for was refused for its token
    with Session(app.state.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_a_message_with_a_file_and_its_download(signed_in, people):
    h = signed_in("hospital@example.org")
    c = signed_in("company@example.org")
    need_id = _file_need(h)
    thread = f"/threads/needs/{need_id}/{people.orgs['company']}"
    page = c.get(thread)
    pdf = b"%PDF-1.4 brochure"
    r = c.post(thread, data={"csrf_token": form_csrf(page.text), "body": ""},
               files={"file": ("产品手册.pdf", pdf, "application/pdf")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    link = re.search(r'href="(/threads/needs/[^"]+/attachment)"', h.get(thread).text).group(1)
    r = h.get(link)
    assert r.status_code == 200 and r.content == pdf
    # a file that is not what it says is refused beside the file field, in the page's language
    r = c.post(thread, data={"csrf_token": form_csrf(page.text), "body": "x"},
               files={"file": ("a.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})
    assert r.status_code == 422 and 'id="e-file"' in r.text and HAN.search(r.text)
    assert signed_in("company_b@example.org").get(link).status_code == 404


def test_specialties_on_the_need_and_capability_forms(app, signed_in, people):
    """Unticked, a need takes its department's specialties; ticked ones are kept; a capability names those it serves."""
    from sqlmodel import Session

    from app.models import Capability, Need

    h = signed_in("hospital@example.org")
    page = h.get("/needs/new")
    assert 'name="specialties" value="gi_endoscopy"' in page.text and "消化内镜" in page.text
    derived = _file_need(h)  # 心血管内科
    chosen = _file_need(h, title="内镜下大创面闭合困难", specialties=["gi_endoscopy"])
    c = signed_in("company@example.org")
    cap = _add_capability(c, specialties=["interventional_cardiology", "radiology"])
    with Session(app.state.engine) as s:
        assert s.get(Need, derived).specialties == ["cardiology"]
        assert s.get(Need, chosen).specialties == ["gi_endoscopy"]
        assert s.get(Capability, cap).specialties == ["interventional_cardiology", "radiology"]
    edit = h.get(f"/needs/{chosen}/edit?lang=en")
    assert re.search(r'name="specialties" value="gi_endoscopy"[^>]*checked', edit.text) and "GI endoscopy" in edit.text
