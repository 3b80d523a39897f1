"""People's sign-in over HTTP (no browser): invitations, passwords, sessions, CSRF, resets, throttling, and errors
answered as pages in the page's language."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from app.models import AuditEvent, Invitation, Notification, User, WebSession
from tests.web.conftest import PASSWORD, deliver, form_csrf, link_in, signin_client


def _session_cookie(response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("clinmatch_session="):
            return header
    raise AssertionError("no session cookie set")


def _invite(client, email: str, org_id: int, role: str, language: str = "zh"):
    page = client.get("/admin/invitations")
    assert page.status_code == 200, page.text
    return client.post("/admin/invitations", data={"email": email, "full_name": "王医生", "role": role,
                                                   "organisation_id": str(org_id), "language": language,
                                                   "csrf_token": form_csrf(page.text)}, follow_redirects=False)


def test_invitation_sets_a_password_once_and_the_person_signs_in(app, client, people, mailbox):
    r = signin_client(client, "admin@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    cookie = _session_cookie(r)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    r = _invite(client, "Dr.Wang@Example.org", people.orgs["hospital"], "hospital_staff")
    assert r.status_code == 303, r.text
    assert "dr.wang@example.org" in client.get("/admin/invitations").text
    deliver(app)
    mail = mailbox.messages[-1]
    assert mail["To"] == "dr.wang@example.org" and "邀请" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "普陀区中心医院" in text and "医院人员" in text and "订阅" not in text  # no footer about subscriptions
    path = link_in(mailbox, "dr.wang@example.org", "/invite/")
    with Session(app.state.engine) as s:  # only the token's hash is kept; the sent e-mail's link is not
        inv = s.exec(select(Invitation)).one()
        assert path.rsplit("/", 1)[1] not in inv.token_hash and inv.used_at is None
        sent = s.exec(select(Notification).where(Notification.kind == "account")).one()
        assert not sent.inbox and path not in sent.model_dump_json()
    client.cookies.clear()

    page = client.get(path)
    assert page.status_code == 200 and "dr.wang@example.org" in page.text and "普陀区中心医院" in page.text
    csrf = form_csrf(page.text)
    # the two passwords differ; then a short one: field errors beside the field, in Chinese, nothing stored
    r = client.post(path, data={"password": PASSWORD, "password2": "other", "full_name": "王医生", "csrf_token": csrf})
    assert r.status_code == 422 and 'id="e-password2"' in r.text and "两次输入的密码不一致" in r.text
    r = client.post(path, data={"password": "short", "password2": "short", "full_name": "王医生", "csrf_token": csrf})
    assert r.status_code == 422 and 'id="e-password"' in r.text and "至少 10 个字符" in r.text
    r = client.post(path, data={"password": PASSWORD, "password2": PASSWORD, "full_name": "王医生",
                                "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    # single use
    assert client.get(path).status_code == 410
    r = client.post(path, data={"password": PASSWORD, "password2": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 410
    with Session(app.state.engine) as s:
        user = s.exec(select(User).where(User.email == "dr.wang@example.org")).one()
        assert user.role == "hospital_staff" and user.organisation_id == people.orgs["hospital"]
        assert user.password_hash.startswith("$argon2id$") and user.full_name == "王医生"
    r = signin_client(client, "dr.wang@example.org")
    assert r.status_code == 303 and r.headers["location"] == "/needs"


def test_signin_answers_the_same_for_an_unknown_address_and_a_wrong_password(client, people):
    for email, password in (("nobody@example.org", PASSWORD), ("hospital@example.org", "wrong password!")):
        r = signin_client(client, email, password)
        assert r.status_code == 401 and "邮箱或密码不正确" in r.text and "clinmatch_session" not in str(r.headers)
    r = client.get("/signin", headers={"Accept-Language": "en"})
    assert "Sign in" in r.text and 'lang="en"' in r.text


def test_failed_signins_are_throttled(app, client, people):
    app.state.auth_throttle.item.amount = 3
    for _ in range(3):
        assert signin_client(client, "hospital@example.org", "wrong password!").status_code == 401
    r = signin_client(client, "hospital@example.org", "wrong password!")
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_forms_without_the_csrf_token_change_nothing(app, client, people):
    r = client.post("/signin", data={"email": "admin@example.org", "password": PASSWORD})
    assert r.status_code == 403 and 'id="csrf-failed"' in r.text and "clinmatch_session" not in str(r.headers)
    assert signin_client(client, "admin@example.org").status_code == 303
    for data in ({}, {"csrf_token": "forged"}):
        r = client.post("/admin/invitations", data={"email": "x@example.org", "role": "hospital_staff",
                                                    "organisation_id": str(people.orgs["hospital"]), **data})
        assert r.status_code == 403 and 'id="csrf-failed"' in r.text
        r = client.post("/signout", data=data, follow_redirects=False)
        assert r.status_code == 403
    with Session(app.state.engine) as s:
        assert s.exec(select(Invitation)).first() is None
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_deactivating_a_person_ends_their_session_at_once(app, client, people):
    from fastapi.testclient import TestClient

    with TestClient(app) as other:
        assert signin_client(other, "company@example.org").status_code == 303
        assert other.get("/", follow_redirects=False).headers["location"] == "/inbox"
        assert signin_client(client, "admin@example.org").status_code == 303
        page = client.get("/admin/users")
        uid = people["company"].user_id
        r = client.post(f"/admin/users/{uid}/deactivate", data={"csrf_token": form_csrf(page.text)},
                        follow_redirects=False)
        assert r.status_code == 303
        r = other.get("/admin/users", follow_redirects=False)  # any page: the session is gone
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
        assert signin_client(other, "company@example.org").status_code == 401  # and the password no longer works
    with Session(app.state.engine) as s:
        assert all(w.revoked_at is not None for w in s.exec(select(WebSession).where(WebSession.user_id == uid)))


def test_password_reset_reveals_nothing_and_works_once(app, client, people, mailbox):
    pages = []
    for email in ("nobody@example.org", "hospital@example.org"):
        page = client.get("/reset")
        r = client.post("/reset", data={"email": email, "csrf_token": form_csrf(page.text)})
        assert r.status_code == 200
        pages.append(re.sub(r'value="[^"]+"', "", r.text))
    assert pages[0] == pages[1]  # the same answer for an unknown address
    deliver(app)
    assert [m["To"] for m in mailbox.messages] == ["hospital@example.org"]
    path = link_in(mailbox, "hospital@example.org", "/reset/")
    # a session opened before the reset ends with it
    from fastapi.testclient import TestClient

    with TestClient(app) as before:
        assert signin_client(before, "hospital@example.org").status_code == 303
        page = client.get(path)
        assert page.status_code == 200
        r = client.post(path, data={"password": "a brand new passphrase", "password2": "a brand new passphrase",
                                    "csrf_token": form_csrf(page.text)}, follow_redirects=False)
        assert r.status_code == 303
        assert before.get("/", follow_redirects=False).headers["location"] == "/signin"
    assert client.get(path).status_code == 410
    assert signin_client(client, "hospital@example.org").status_code == 401
    assert signin_client(client, "hospital@example.org", "a brand new passphrase").status_code == 303


def test_the_commission_invites_working_roles_but_not_admins(app, client, people, mailbox):
    assert signin_client(client, "commission@example.org").status_code == 303
    r = _invite(client, "boss@example.org", people.orgs["commission"], "admin")
    assert r.status_code == 422 and "只有管理员可以邀请人员" in r.text
    r = _invite(client, "bd@example.org", people.orgs["company"], "company_staff", language="en")
    assert r.status_code == 303
    # a role that does not fit the organisation: said beside the role
    r = _invite(client, "bd2@example.org", people.orgs["company"], "hospital_staff")
    assert r.status_code == 422 and 'id="e-role"' in r.text
    # an address with an account already: said beside the address
    r = _invite(client, "hospital@example.org", people.orgs["hospital"], "hospital_staff")
    assert r.status_code == 422 and 'id="e-email"' in r.text
    deliver(app)
    mail = next(m for m in mailbox.messages if m["To"] == "bd@example.org")
    assert mail["Subject"] == "An invitation to clinmatch" and "company staff" in mail.get_body(("plain",)).get_content()
    with Session(app.state.engine) as s:
        actions = {e.action for e in s.exec(select(AuditEvent).where(AuditEvent.entity == "invitation"))}
        assert actions == {"create"}


def test_errors_on_pages_are_pages_in_the_pages_language(client, people):
    assert signin_client(client, "commission@example.org").status_code == 303
    r = client.get("/dashboard/engagements/999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "未找到合作 999999" in r.text
    r = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and "This page does not exist." in r.text
    r = client.get("/admin/users")  # the commission is no admin
    assert r.status_code == 403 and 'id="forbidden"' in r.text
    # the API keeps its problem JSON
    r = client.get("/api/v1/needs/999999", headers=people["commission"].headers)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_anonymous_pages_lead_to_signin_and_back(client, people):
    r = client.get("/dashboard?track=imaging", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fdashboard%3Ftrack%3Dimaging"
    page = client.get(r.headers["location"])
    r = client.post("/signin", data={"email": "commission@example.org", "password": PASSWORD,
                                     "next": "/dashboard?track=imaging", "csrf_token": form_csrf(page.text)},
                    follow_redirects=False)
    assert r.headers["location"] == "/dashboard?track=imaging"
    client.cookies.clear()
    page = client.get("/signin")
    r = client.post("/signin", data={"email": "commission@example.org", "password": PASSWORD,
                                     "next": "//evil.example/x", "csrf_token": form_csrf(page.text)},
                    follow_redirects=False)
    assert r.headers["location"] == "/dashboard"  # never off the site


def test_the_language_switch_becomes_the_persons_language(client, people):
    assert signin_client(client, "commission@example.org").status_code == 303
    assert 'lang="zh-CN"' in client.get("/notes").text
    assert 'lang="en"' in client.get("/notes?lang=en").text
    client.cookies.delete("clinmatch_lang")
    assert 'lang="en"' in client.get("/notes", headers={"Accept-Language": "zh-CN"}).text  # remembered for them
    # and the API answers them in it too
    r = client.get("/api/v1/needs/999999", headers={**people["commission"].headers, "Accept-Language": "zh"})
    assert r.json()["detail"] == "Need 999999 not found."


def test_invitations_through_the_api(app, client, people, mailbox):
    admin, commission = people["admin"].headers, people["commission"].headers
    body = {"email": "api.person@example.org", "role": "company_staff", "organisation_id": people.orgs["lab"],
            "language": "en"}
    r = client.post("/api/v1/user-invitations", json=body, headers=commission)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["status"] == "pending" and "token" not in str(inv).lower()
    r = client.post("/api/v1/user-invitations", json={**body, "role": "admin",
                                                       "organisation_id": people.orgs["commission"]},
                    headers={**commission, "Accept-Language": "zh-CN"})
    assert r.status_code == 403 and r.json()["detail"] == "只有管理员可以邀请人员；商务委可邀请非管理员角色。"
    assert client.post("/api/v1/user-invitations", json=body, headers=people["company"].headers).status_code == 403
    assert [i["email"] for i in client.get("/api/v1/user-invitations", headers=admin).json()] == [body["email"]]
    assert client.delete(f"/api/v1/user-invitations/{inv['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/user-invitations", headers=admin).json()[0]["status"] == "revoked"
    deliver(app)
    path = link_in(mailbox, "api.person@example.org", "/invite/")
    assert client.get(path).status_code == 410  # withdrawn: the link no longer works


def test_the_first_admin_gets_in_through_the_operators_link(app, client, world):
    """`clinmatch users password-link`: the person made by `clinmatch users create` has no password nor inviter."""
    from app.db import session_scope
    from app.services import accounts

    with session_scope(app.state.engine) as s:
        link = accounts.operator_link(s, app.state.settings, "admin@example.org")
    path = link.split("8000", 1)[1]
    assert path.startswith("/invite/")
    page = client.get(path)
    r = client.post(path, data={"password": PASSWORD, "password2": PASSWORD, "csrf_token": form_csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    assert signin_client(client, "admin@example.org").headers["location"] == "/admin/users"


def test_every_form_refuses_a_post_without_its_token(app, client, people):
    from fastapi.testclient import TestClient

    anonymous = ["/signin", "/reset", "/reset/some-token", "/invite/some-token", "/dashboard/signin"]
    admin = ["/admin/organisations", f"/admin/users/{people['lab'].user_id}/deactivate",
             f"/admin/users/{people['lab'].user_id}/revoke", "/admin/invitations", "/admin/invitations/1/revoke"]
    commission = ["/introductions", "/notes"]
    for path in anonymous:
        r = client.post(path, data={"email": "lab@example.org", "password": PASSWORD, "token": "x"})
        assert r.status_code == 403 and 'id="csrf-failed"' in r.text, path
    for who, paths in (("admin@example.org", admin), ("commission@example.org", commission)):
        with TestClient(app) as c:
            assert signin_client(c, who).status_code == 303
            for path in paths:
                for data in ({}, {"csrf_token": "forged"}):
                    r = c.post(path, data={**data, "kind": "hospital", "name_zh": "x", "region": "putuo",
                                           "need_id": "1", "capability_ids": "1", "entity": "need", "entity_id": "1",
                                           "body": "x"})
                    assert r.status_code == 403 and 'id="csrf-failed"' in r.text, path
    with Session(app.state.engine) as s:  # nothing changed
        assert s.get(User, people["lab"].user_id).is_active
        assert s.exec(select(AuditEvent).where(AuditEvent.entity.in_(["organisation", "note", "introduction",
                                                                       "invitation"]),
                                               AuditEvent.user_id.is_not(None))).first() is None


def test_commission_forms_show_field_errors_beside_the_field(client, people):
    assert signin_client(client, "commission@example.org").status_code == 303
    page = client.get("/introductions")
    r = client.post("/introductions", data={"need_id": "", "capability_ids": "abc", "note": "",
                                            "csrf_token": form_csrf(page.text)})
    assert r.status_code == 422 and 'id="e-need_id"' in r.text and 'id="e-capability_ids"' in r.text
    assert "必填项" in r.text and "须为整数" in r.text
    r = client.post("/introductions", data={"need_id": "999999", "capability_ids": "1",
                                            "csrf_token": form_csrf(page.text)})
    assert r.status_code == 422 and "未找到需求 999999" in r.text  # the service's rule, in the page's language
    page = client.get("/notes")
    r = client.post("/notes", data={"entity": "need", "entity_id": "5", "body": "",
                                    "csrf_token": form_csrf(page.text)})
    assert r.status_code == 422 and 'id="e-body"' in r.text
    r = client.post("/notes", data={"entity": "planet", "entity_id": "5", "body": "x",
                                    "csrf_token": form_csrf(page.text)}, headers={"Accept-Language": "en"})
    assert r.status_code == 422 and 'id="e-entity"' in r.text and "Must be one of" in r.text


def test_reset_requests_are_throttled_per_address(app, client, people, mailbox):
    app.state.auth_throttle.item.amount = 2
    codes = []
    for _ in range(3):
        page = client.get("/reset")
        codes.append(client.post("/reset", data={"email": "hospital@example.org",
                                                 "csrf_token": form_csrf(page.text)}).status_code)
    assert codes == [200, 200, 429]


def test_an_admin_revokes_one_api_token(client, people):
    assert signin_client(client, "admin@example.org").status_code == 303
    lab = people["lab"]
    page = client.get(f"/admin/users/{lab.user_id}")
    assert page.status_code == 200 and lab.token[:10] in page.text and lab.token not in page.text
    tok_id = re.search(r'data-token="(\d+)"', page.text)[1]
    r = client.post(f"/admin/tokens/{tok_id}/revoke", data={"csrf_token": form_csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{lab.user_id}"
    assert client.get("/api/v1/me", headers=lab.headers).status_code == 401
    assert "已撤销" in client.get(f"/admin/users/{lab.user_id}").text
    assert client.get("/admin/users/999999").status_code == 404


def test_over_https_the_cookies_are_secure(app, people):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as https:
        page = https.get("/signin")
        assert "Secure" in page.headers["set-cookie"]  # the form's CSRF cookie
        r = https.post("/signin", data={"email": "admin@example.org", "password": PASSWORD,
                                        "csrf_token": form_csrf(page.text)}, follow_redirects=False)
        cookie = _session_cookie(r)
        assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
