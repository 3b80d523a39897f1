"""The dashboard pages over HTTP (no browser): sign-in, who gets in, the same figures as the API, exports."""

from __future__ import annotations

import re

A = "/api/v1/analytics"


def signin(client, token: str):
    return client.post("/dashboard/signin", data={"token": token}, follow_redirects=False)


def funnel_cells(html: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r'<tr data-step="(\w+)"><td>[^<]*</td><td class="num count">(\d+)</td>',
                                                html)}


def test_anonymous_is_sent_to_signin(client):
    r = client.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/signin"
    page = client.get("/dashboard/signin")
    assert page.status_code == 200 and "访问令牌" in page.text  # Chinese by default


def test_signin_sets_a_strict_httponly_session(client, world, pipeline):
    r = signin(client, world["commission"].token)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
    assert world["commission"].token not in cookie  # signed and encoded, not the bare token
    page = client.get("/dashboard")
    assert page.status_code == 200
    api = client.get(A + "/funnel", headers=world["commission"].headers).json()["funnel"]
    assert funnel_cells(page.text) == {r["step"]: r["count"] for r in api}
    assert client.post("/dashboard/signout", follow_redirects=False).status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


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
    client.cookies.set("clinmatch_session", "forged.value.sig", path="/dashboard")
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
    assert 'method="post"' not in view.text  # read-only: nothing to submit
    assert client.get("/dashboard/engagements/999999", headers=h).status_code == 404
    assert client.get(f"/dashboard/engagements/{e2}", headers=world["company_b"].headers).status_code == 403


def test_chart_library_is_served_by_the_app(client):
    r = client.get("/static/vendor/chartjs-4.6.1/chart.umd.min.js")
    assert r.status_code == 200 and "Chart.js v4.6.1" in r.text[:300]
    assert client.get("/static/vendor/chartjs-4.6.1/LICENSE.md").status_code == 200
