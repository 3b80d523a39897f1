"""The dashboard pages over HTTP (no browser): sign-in, server-side sessions, CSRF, who gets in, the same figures as
the API, exports."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.models import WebSession

A = "/api/v1/analytics"


@pytest.fixture
def client(app):
    """A browser that names no language: the pages answer in Chinese."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]*)"', html)[1]


def signin(client, token: str):
    csrf = form_csrf(client.get("/dashboard/signin").text)
    return client.post("/dashboard/signin", data={"token": token, "csrf_token": csrf}, follow_redirects=False)


def session_cookie(response) -> str:
    """The session cookie's value from the response's Set-Cookie headers."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("clinmatch_session="):
            return header.split(";")[0].split("=", 1)[1]
    raise AssertionError("no session cookie set")


def sessions_of(app, user_id: int) -> list[WebSession]:
    with Session(app.state.engine) as s:
        return list(s.exec(select(WebSession).where(WebSession.user_id == user_id).order_by(WebSession.id)).all())


def funnel_cells(html: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r'<tr data-step="(\w+)"><td>[^<]*</td><td class="num count">(\d+)</td>',
                                                html)}


def test_anonymous_is_sent_to_signin(client):
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fdashboard"
    page = client.get("/dashboard/signin")  # the access-token sign-in, beside the people's e-mail and password
    assert page.status_code == 200 and "访问令牌" in page.text  # Chinese by default


def test_signin_sets_an_httponly_session(app, client, world, pipeline):
    r = signin(client, world["commission"].token)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("clinmatch_session="))
    # Lax: a link from WeChat or an e-mail opens the page signed in; every change is a POST with a CSRF token
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/;" in cookie
    page = client.get("/dashboard")
    assert page.status_code == 200
    api = client.get(A + "/funnel", headers=world["commission"].headers).json()["funnel"]
    assert funnel_cells(page.text) == {r["step"]: r["count"] for r in api}
    csrf = form_csrf(page.text)
    assert client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_cookie_is_an_opaque_session_id_not_the_token(app, client, world):
    commission = world["commission"]
    value = session_cookie(signin(client, commission.token))
    decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    for part in [value, decoded.decode("latin-1")] + [p + "=" * (-len(p) % 4) for p in value.split(".")]:
        assert commission.token not in part and commission.token[3:] not in part
    [row] = sessions_of(app, commission.user_id)
    assert row.id_hash == hashlib.sha256(value.encode()).hexdigest() and value not in row.id_hash
    assert row.method == "token" and row.token_id is not None and row.revoked_at is None
    assert row.last_seen_at is not None and row.expires_at > row.created_at


def test_forms_refuse_a_post_without_their_csrf_token(app, client, world):
    token = world["commission"].token
    # sign-in: no token, a wrong one, or the right form value without its cookie (another site's form)
    csrf = form_csrf(client.get("/dashboard/signin").text)
    for data in ({"token": token}, {"token": token, "csrf_token": "x" * 64}):
        r = client.post("/dashboard/signin", data=data, follow_redirects=False)
        assert r.status_code == 403 and 'id="csrf-failed"' in r.text and "clinmatch_session" not in str(r.headers)
    client.cookies.delete("clinmatch_csrf", path="/")
    r = client.post("/dashboard/signin", data={"token": token, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 403
    assert sessions_of(app, world["commission"].user_id) == []
    # with the form's token: accepted
    assert signin(client, token).status_code == 303
    page = client.get("/dashboard")
    # sign-out without the session's token, or with the sign-in form's: refused, the session goes on
    for data in ({}, {"csrf_token": csrf}):
        assert client.post("/signout", data=data, follow_redirects=False).status_code == 403
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
    r = client.post("/signout", data={"csrf_token": form_csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    [row] = sessions_of(app, world["commission"].user_id)
    assert row.revoked_at is not None


def test_revoking_all_access_ends_the_dashboard_session_at_once(app, client, world):
    commission, admin = world["commission"], world["admin"].headers
    cookie = session_cookie(signin(client, commission.token))
    assert client.get("/dashboard").status_code == 200
    r = client.post(f"/api/v1/users/{commission.user_id}/revoke-sessions", headers=admin)
    assert r.json() == {"tokens_revoked": 1, "sessions_revoked": 1}
    client.cookies.set("clinmatch_session", cookie, path="/dashboard")
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/signin?next=%2Fdashboard"
    assert client.get("/api/v1/me", headers=commission.headers).status_code == 401


def test_deactivating_the_user_ends_its_sessions(app, client, world):
    commission = world["commission"]
    cookie = session_cookie(signin(client, commission.token))
    assert client.get("/dashboard").status_code == 200
    r = client.patch(f"/api/v1/users/{commission.user_id}", json={"is_active": False}, headers=world["admin"].headers)
    assert r.status_code == 200
    client.cookies.set("clinmatch_session", cookie, path="/dashboard")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert sessions_of(app, commission.user_id)[0].revoked_at is not None


def test_idle_and_absolute_expiry_end_a_session(app, client, world):
    settings = app.state.settings
    cookie = session_cookie(signin(client, world["commission"].token))
    assert client.get("/dashboard").status_code == 200
    [row] = sessions_of(app, world["commission"].user_id)
    lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(hours=settings.session_lifetime_hours)) < timedelta(seconds=5)

    def age(**changes):
        with Session(app.state.engine) as s:
            r = s.get(WebSession, row.id)
            for k, v in changes.items():
                setattr(r, k, v)
            s.add(r)
            s.commit()

    now = datetime.now(UTC)
    age(last_seen_at=now - timedelta(minutes=settings.session_idle_minutes - 1))
    assert client.get("/dashboard").status_code == 200  # still within the idle limit
    age(last_seen_at=now - timedelta(minutes=settings.session_idle_minutes + 1))
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    age(last_seen_at=now, expires_at=now - timedelta(seconds=1))
    client.cookies.set("clinmatch_session", cookie, path="/dashboard")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    age(expires_at=now + timedelta(hours=1))
    client.cookies.set("clinmatch_session", cookie, path="/dashboard")
    assert client.get("/dashboard").status_code == 200


def test_admin_gets_in_and_others_are_refused(client, world):
    assert signin(client, world["admin"].token).status_code == 303
    client.cookies.clear()
    for persona in ("hospital", "company", "lab"):
        r = signin(client, world[persona].token)
        assert r.status_code == 403 and "403" in r.text and "set-cookie" not in r.headers
        assert client.get("/dashboard", headers=world[persona].headers).status_code == 403
        assert client.get("/dashboard/export/funnel.csv", headers=world[persona].headers).status_code == 403
    bad = signin(client, "cm_not-a-token")
    assert bad.status_code == 401 and "令牌无效" in bad.text


def test_tampered_or_revoked_session_is_refused(client, world):
    client.cookies.set("clinmatch_session", "forged-session-id", path="/dashboard")
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    client.cookies.clear()
    tok = client.post(f"/api/v1/users/{world['commission'].user_id}/tokens", json={"name": "dash"},
                      headers=world["admin"].headers).json()
    assert signin(client, tok["token"]).status_code == 303
    assert client.get("/dashboard").status_code == 200
    assert client.delete(f"/api/v1/tokens/{tok['id']}", headers=world["admin"].headers).status_code == 204
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_language_toggle_is_remembered(client, world, pipeline):
    h = world["commission"].headers
    zh = client.get("/dashboard", headers=h)
    assert "转化漏斗" in zh.text and 'lang="zh-CN"' in zh.text
    en = client.get("/dashboard?lang=en", headers=h)
    assert "Funnel" in en.text and 'lang="en"' in en.text and "clinmatch_lang=en" in en.headers["set-cookie"]
    assert "Funnel" in client.get("/dashboard", headers=h).text  # the cookie keeps it
    assert "转化漏斗" in client.get("/dashboard?lang=zh", headers=h).text


def test_filters_and_exports_match_the_api(client, world, pipeline):
    h = world["commission"].headers
    page = client.get("/dashboard?region=jiangsu&track=", headers=h)
    api = client.get(A + "/funnel", params={"region": "jiangsu"}, headers=h).json()["funnel"]
    assert funnel_cells(page.text) == {r["step"]: r["count"] for r in api}
    for name, api_path in (("funnel", "/funnel.csv"), ("breakdowns-partner", "/breakdowns/partner.csv"),
                           ("stalled", "/stalled.csv"), ("matching", "/matching.csv")):
        mine = client.get(f"/dashboard/export/{name}.csv?region=jiangsu", headers=h)
        theirs = client.get(A + api_path, params={"region": "jiangsu"}, headers=h)
        assert mine.status_code == 200 and mine.text == theirs.text, name
    assert client.get("/dashboard/export/nothing.csv", headers=h).status_code == 404


def test_stalled_rows_link_to_a_read_only_history(client, world, pipeline):
    h = world["commission"].headers
    page = client.get("/dashboard", headers=h).text
    e2 = pipeline.engagements["E2"]
    assert f'href="/dashboard/engagements/{e2}"' in page.split('id="stalled"')[1].split("</table>")[0]
    listed = page.split('id="partnerships"')[1].split("</table>")[0]
    assert re.findall(r'href="/dashboard/engagements/(\d+)"', listed) == [str(pipeline.engagements[k])
                                                                         for k in ("E4", "E1", "E2", "E3")]
    view = client.get(f"/dashboard/engagements/{e2}", headers=h)
    assert view.status_code == 200 and "暂停" in view.text  # on hold
    history = view.text.split('id="history"')[1].split("</table>")[0]
    assert history.count("<tr>") == 4  # header + proposed, intent_signed, on_hold
    assert 'method="post"' not in view.text.split('<main id="main">')[1]  # read-only: nothing to submit (but sign-out)
    assert client.get("/dashboard/engagements/999999", headers=h).status_code == 404
    assert client.get(f"/dashboard/engagements/{e2}", headers=world["company_b"].headers).status_code == 403


def test_chart_library_is_served_by_the_app(client):
    r = client.get("/static/vendor/chartjs-4.6.1/chart.umd.min.js")
    assert r.status_code == 200 and "Chart.js v4.6.1" in r.text[:300]
    assert client.get("/static/vendor/chartjs-4.6.1/LICENSE.md").status_code == 200


def test_the_dashboard_opens_with_the_headline_figures_in_shanghai_time(client, world, pipeline):
    page = client.get("/dashboard", headers=world["commission"].headers).text
    head = page.split('id="headline"')[1].split("</section>")[0]
    figures = dict(re.findall(r'data-kpi="(\w+)"><span class="v">([^<]+)</span>', head))
    assert figures == {"open_needs": "3", "open_needs_without_fit": "1", "active_partnerships": "2",
                       "median_days_need_to_intent": "5.0", "brokered": "0 / 4"}
    assert "尚无合适伙伴的需求" in head and "北京时间" in page and 'lang="zh-CN" name="date_from"' in page
    en = client.get("/dashboard?lang=en", headers=world["commission"].headers).text
    assert "Open needs without a fitting partner" in en and "Shanghai time" in en
