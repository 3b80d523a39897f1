"""Every endpoint with every role, another organisation's user, no token and a revoked token — from one table."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import PERSONAS, RF_CAPABILITY, TODAY, TSP_NEED

ALL = set(PERSONAS)
HOSPITALS = {"hospital", "hospital_b"}
COMPANIES = {"company", "company_b", "lab"}
READERS = {"commission", "admin"}
_seq = itertools.count()


def expect(ok: int, who: set[str], otherwise: int = 403, **special: int) -> dict[str, int]:
    """Expected status per persona: ``ok`` for ``who``, ``otherwise`` for the rest, ``special`` overrides."""
    table = {p: (ok if p in who else otherwise) for p in PERSONAS}
    table.update(special)
    return table


@pytest.fixture
def settings(settings):
    """The table sends hundreds of bad and revoked tokens from one address: a limit that the throttle never reaches
    here (tests/api/test_hardening.py tests the throttle)."""
    return settings.model_copy(update={"auth_failure_limit": 100_000})


@pytest.fixture
def fixtures(app, client, world, tmp_path):
    """Records the table's endpoints act on: an open need and a draft need of 'hospital', a capability of 'company';
    an engagement of the two at intent_signed with 'lab' as participant, a milestone of the hospital's with a
    document."""
    app.state.settings.attachments_dir = tmp_path / "attachments"
    h, c = world["hospital"].headers, world["company"].headers
    open_need = client.post("/api/v1/needs", json={**TSP_NEED, "status": "open"}, headers=h).json()
    draft_need = client.post("/api/v1/needs", json={**TSP_NEED, "title": "草稿"}, headers=h).json()
    cap = client.post("/api/v1/capabilities", json=RF_CAPABILITY, headers=c).json()
    eng_need = client.post("/api/v1/needs", json={**TSP_NEED, "status": "open"}, headers=h).json()
    eng = client.post("/api/v1/engagements", json={"need_id": eng_need["id"], "capability_id": cap["id"],
                                                   "participants": [{"organisation_id": world.orgs["lab"],
                                                                     "role": "rnd"}]}, headers=h).json()
    client.post(f"/api/v1/engagements/{eng['id']}/accept", json={"version": 1}, headers=c)
    (invitation,) = client.get("/api/v1/invitations", headers=world["lab"].headers).json()["items"]
    client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=world["lab"].headers)
    client.post(f"/api/v1/engagements/{eng['id']}/transitions", json={"target": "intent_signed", "version": 2},
                headers=h)
    ms = client.post(f"/api/v1/engagements/{eng['id']}/milestones", headers=h,
                     json={"kind": "training_session", "title": "培训", "occurred_on": TODAY}).json()
    doc = client.post(f"/api/v1/engagements/{eng['id']}/milestones/{ms['id']}/documents", headers=h,
                      files={"file": ("a.txt", b"minutes", "text/plain")}).json()
    spare = client.post("/api/v1/users", json={"email": "spare@example.org", "role": "company_staff",
                                               "organisation_id": world.orgs["company_b"]},
                        headers=world["admin"].headers).json()
    return {"open_need": open_need["id"], "draft_need": draft_need["id"], "cap": cap["id"], "eng": eng["id"],
            "milestone": ms["id"], "doc": doc["id"], "spare_user": spare["id"]}


def _current_version(client, world, path: str) -> str:
    return f'"{client.get(path, headers=world["admin"].headers).json()["version"]}"'


def cases(client, world, fx):
    """(name, method, path, kwargs-factory, expected-per-persona)."""
    hosp_user = world["hospital"].user_id
    org = world.orgs["company_b"]

    def new_token(_persona):
        return client.post(f"/api/v1/users/{hosp_user}/tokens", json={"name": "x"},
                           headers=world["admin"].headers).json()["id"]

    def need_patch(path):
        return lambda _p: {"json": {"department": f"d{next(_seq)}"},
                           "headers": {"If-Match": _current_version(client, world, path)}}

    def cap_patch(path):
        return lambda _p: {"json": {"title": f"t{next(_seq)}"},
                           "headers": {"If-Match": _current_version(client, world, path)}}

    on, dn, cap = (f"/api/v1/needs/{fx['open_need']}", f"/api/v1/needs/{fx['draft_need']}",
                   f"/api/v1/capabilities/{fx['cap']}")
    eng = f"/api/v1/engagements/{fx['eng']}"
    admin = world["admin"].headers

    def fresh_open_need() -> int:
        return client.post("/api/v1/needs", json={**TSP_NEED, "status": "open"},
                           headers=world["hospital"].headers).json()["id"]

    def proposal(p):
        return {"json": {"need_id": fresh_open_need(), "capability_id": fx["cap"]}}

    def accept_other_side(p):
        """A fresh proposal by the side that is not ``p`` (so that ``p``'s acceptance is the missing one)."""
        by = "company" if p == "hospital" else "hospital"
        e = client.post("/api/v1/engagements", json={"need_id": fresh_open_need(), "capability_id": fx["cap"]},
                        headers=world[by].headers).json()
        return {"url": f"/api/v1/engagements/{e['id']}/accept", "json": {"version": e["version"]}}

    def hold_or_resume(_p):
        e = client.get(eng, headers=admin).json()
        target = e["held_from"] if e["state"] == "on_hold" else "on_hold"
        return {"json": {"target": target, "version": e["version"]}}

    def new_participant(_p):
        org = client.post("/api/v1/organisations", json={"kind": "platform", "name_en": f"Platform {next(_seq)}",
                                                         "region": "putuo"}, headers=admin).json()["id"]
        return {"json": {"organisation_id": org, "role": "animal_facility"},
                "headers": {"If-Match": _current_version(client, world, eng)}}

    milestone = {"json": {"kind": "meeting", "title": "例会", "occurred_on": TODAY}}
    parties = {"hospital", "company", "lab"}
    no_outsiders = {"hospital_b": 404, "company_b": 404}
    return [
        ("me", "GET", "/api/v1/me", None, expect(200, ALL)),
        ("list orgs", "GET", "/api/v1/organisations", None, expect(200, ALL)),
        ("create org", "POST", "/api/v1/organisations",
         lambda p: {"json": {"kind": "lab", "name_en": f"Lab {next(_seq)}", "region": "nanjing"}}, expect(201, {"admin"})),
        ("read org", "GET", f"/api/v1/organisations/{org}", None, expect(200, ALL)),
        ("update org", "PATCH", f"/api/v1/organisations/{org}", lambda p: {"json": {"description": "x"}},
         expect(200, {"admin"})),
        ("list users", "GET", "/api/v1/users", None, expect(200, {"admin"})),
        ("create user", "POST", "/api/v1/users",
         lambda p: {"json": {"email": f"u{next(_seq)}@example.org", "role": "company_staff", "organisation_id": org}},
         expect(201, {"admin"})),
        ("read user", "GET", f"/api/v1/users/{hosp_user}", None, expect(200, {"admin", "hospital"})),
        ("update user", "PATCH", f"/api/v1/users/{hosp_user}", lambda p: {"json": {"full_name": "Dr Chen"}},
         expect(200, {"admin"})),
        ("list tokens", "GET", f"/api/v1/users/{hosp_user}/tokens", None, expect(200, {"admin", "hospital"})),
        ("issue token", "POST", f"/api/v1/users/{hosp_user}/tokens", lambda p: {"json": {"name": "t"}},
         expect(201, {"admin"})),
        ("revoke token", "DELETE", "/api/v1/tokens/{tok}", new_token, expect(204, {"admin", "hospital"}, 404)),
        ("revoke all access", "POST", f"/api/v1/users/{fx['spare_user']}/revoke-sessions", None,
         expect(200, {"admin"})),
        ("list needs", "GET", "/api/v1/needs", None, expect(200, ALL)),
        ("file need", "POST", "/api/v1/needs", lambda p: {"json": TSP_NEED}, expect(201, HOSPITALS)),
        ("read open need", "GET", on, None, expect(200, ALL, hospital_b=404)),
        ("read draft need", "GET", dn, None, expect(200, {"hospital"} | READERS, 404)),
        ("edit open need", "PATCH", on, need_patch(on), expect(200, {"hospital"}, 403, hospital_b=404)),
        ("edit draft need", "PATCH", dn, need_patch(dn),
         expect(200, {"hospital"}, 404, commission=403, admin=403)),
        ("list capabilities", "GET", "/api/v1/capabilities", None, expect(200, ALL)),
        ("register capability", "POST", "/api/v1/capabilities", lambda p: {"json": RF_CAPABILITY},
         expect(201, COMPANIES)),
        ("read capability", "GET", cap, None, expect(200, ALL, company_b=404, lab=404)),
        ("edit capability", "PATCH", cap, cap_patch(cap), expect(200, {"company"}, 403, company_b=404, lab=404)),
        ("list engagements", "GET", "/api/v1/engagements", None, expect(200, ALL)),
        ("propose engagement", "POST", "/api/v1/engagements", proposal,
         expect(201, {"hospital", "company"}, 404, commission=403, admin=403)),
        ("read engagement", "GET", eng, None, expect(200, parties | READERS, 404)),
        ("engagement history", "GET", f"{eng}/transitions", None, expect(200, parties | READERS, 404)),
        ("accept engagement", "POST", "/api/v1/engagements/{x}/accept", accept_other_side,
         expect(200, {"hospital", "company"}, 404, commission=403, admin=403)),
        ("engagement transition", "POST", f"{eng}/transitions", hold_or_resume,
         expect(200, {"hospital", "company"}, 403, **no_outsiders)),
        ("add participant", "POST", f"{eng}/participants", new_participant,
         expect(200, {"hospital", "company"}, 403, **no_outsiders)),
        ("list milestones", "GET", f"{eng}/milestones", None, expect(200, parties | READERS, 404)),
        ("record milestone", "POST", f"{eng}/milestones", lambda p: dict(milestone), expect(201, parties, 403, **no_outsiders)),
        ("attach document", "POST", f"{eng}/milestones/{fx['milestone']}/documents",
         lambda p: {"files": {"file": ("m.txt", b"minutes", "text/plain")}},
         expect(201, {"hospital", "company"}, 403, **no_outsiders)),
        ("download document", "GET", f"{eng}/documents/{fx['doc']}", None,
         expect(200, parties | {"commission"}, 403, **no_outsiders)),
        ("list notes", "GET", "/api/v1/notes", None, expect(200, READERS)),
        ("add note", "POST", "/api/v1/notes",
         lambda p: {"json": {"entity": "need", "entity_id": fx["open_need"], "body": "brokered a call"}},
         expect(201, READERS)),
        ("read audit", "GET", "/api/v1/audit", None, expect(200, READERS)),
        ("analytics summary", "GET", "/api/v1/analytics", None, expect(200, READERS)),
        ("analytics funnel", "GET", "/api/v1/analytics/funnel", None, expect(200, READERS)),
        ("analytics funnel csv", "GET", "/api/v1/analytics/funnel.csv", None, expect(200, READERS)),
        ("analytics stage durations", "GET", "/api/v1/analytics/stage-durations?format=csv", None,
         expect(200, READERS)),
        ("analytics stalled", "GET", "/api/v1/analytics/stalled", None, expect(200, READERS)),
        ("analytics waiting needs", "GET", "/api/v1/analytics/waiting-needs.csv", None, expect(200, READERS)),
        ("analytics matching", "GET", "/api/v1/analytics/matching", None, expect(200, READERS)),
        ("analytics partnerships", "GET", "/api/v1/analytics/partnerships", None, expect(200, READERS)),
        ("analytics breakdown", "GET", "/api/v1/analytics/breakdowns/region", None, expect(200, READERS)),
        ("analytics breakdown csv", "GET", "/api/v1/analytics/breakdowns/partner.csv", None, expect(200, READERS)),
        ("edit audit", "PUT", "/api/v1/audit", None, expect(405, set(), 405)),
        ("delete audit", "DELETE", "/api/v1/audit", None, expect(405, set(), 405)),
    ]


def test_every_endpoint_with_every_role(client, world, fixtures):
    mismatches = []
    table = cases(client, world, fixtures)
    for name, method, path, make, expected in table:
        for persona in PERSONAS:
            kwargs = make(persona) if make else {}
            url = kwargs.pop("url", path) if isinstance(kwargs, dict) else path
            if "{tok}" in path:
                url, kwargs = path.format(tok=kwargs), {}
            headers = {**kwargs.pop("headers", {}), **world[persona].headers}
            r = client.request(method, url, headers=headers, **kwargs)
            if r.status_code != expected[persona]:
                mismatches.append(f"{name} as {persona}: {r.status_code} != {expected[persona]} {r.text[:120]}")
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (name, persona)
    assert not mismatches, "\n".join(mismatches)


def test_no_token_bad_token_and_revoked_token_are_refused(client, world, fixtures):
    table = cases(client, world, fixtures)
    revoked = client.post(f"/api/v1/users/{world['company'].user_id}/tokens", json={"name": "old"},
                          headers=world["admin"].headers).json()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {revoked['token']}"}).status_code == 200
    assert client.delete(f"/api/v1/tokens/{revoked['id']}", headers=world["admin"].headers).status_code == 204
    for auth in (None, "Bearer", "Bearer nope", "Basic abc", f"Bearer {revoked['token']}"):
        for name, method, path, _make, expected in table:
            if set(expected.values()) == {405}:
                continue
            headers = {"Authorization": auth} if auth else {}
            r = client.request(method, path.replace("{tok}", "1").replace("{x}", "1"), headers=headers, json={})
            assert r.status_code == 401, (name, auth, r.status_code)
            assert r.json()["type"].endswith("unauthorized") and r.headers["www-authenticate"] == "Bearer"


def test_deactivated_user_is_refused(client, world):
    r = client.patch(f"/api/v1/users/{world['lab'].user_id}", json={"is_active": False}, headers=world["admin"].headers)
    assert r.status_code == 200
    assert client.get("/api/v1/me", headers=world["lab"].headers).status_code == 401


def test_lists_show_exactly_what_details_show(client, world, make_need, make_capability):
    """No list endpoint leaks a row its detail endpoint hides, and none hides a row the detail shows."""
    make_need(status="open")
    make_need(title="草稿需求")
    make_need("hospital_b", status="open", confidentiality="anonymous", title="匿名需求")
    make_need("hospital_b", title="另一家医院的草稿")
    make_capability()
    archived = make_capability("company_b", title="Archived line")
    client.patch(f"/api/v1/capabilities/{archived['id']}", json={"status": "archived", "version": 1},
                 headers=world["company_b"].headers)
    make_capability("lab", title="Ultrafast laser micromachining")
    all_needs = [n["id"] for n in client.get("/api/v1/needs", params={"limit": 100},
                                             headers=world["admin"].headers).json()["items"]]
    all_caps = [c["id"] for c in client.get("/api/v1/capabilities", params={"limit": 100},
                                            headers=world["admin"].headers).json()["items"]]
    assert len(all_needs) == 4 and len(all_caps) == 3
    for persona in PERSONAS:
        h = world[persona].headers
        for kind, ids in (("needs", all_needs), ("capabilities", all_caps)):
            listed = {x["id"] for x in client.get(f"/api/v1/{kind}", params={"limit": 100}, headers=h).json()["items"]}
            visible = {i for i in ids if client.get(f"/api/v1/{kind}/{i}", headers=h).status_code == 200}
            assert listed == visible, (persona, kind)
            if kind == "needs":
                for i in visible:
                    one = client.get(f"/api/v1/needs/{i}", headers=h).json()
                    in_list = next(x for x in client.get("/api/v1/needs", params={"limit": 100}, headers=h)
                                   .json()["items"] if x["id"] == i)
                    assert one["hospital"] == in_list["hospital"], (persona, i)


def test_engagement_lists_show_exactly_what_details_show(client, world, make_need, make_capability):
    """Engagements too: each persona's list is exactly the set its detail endpoint shows, with the same hospital."""
    h, hb = world["hospital"].headers, world["hospital_b"].headers
    cap = make_capability()
    cap_b = make_capability("company_b", title="Imaging AI")
    anon = make_need("hospital_b", status="open", confidentiality="anonymous", title="匿名需求")
    specs = [(make_need(status="open")["id"], cap["id"], h, True),
             (anon["id"], cap["id"], world["company"].headers, False),  # anonymous, not accepted yet
             (make_need("hospital_b", status="open", confidentiality="anonymous")["id"], cap_b["id"], hb, True)]
    ids = []
    for need_id, cap_id, headers, with_lab in specs:
        body = {"need_id": need_id, "capability_id": cap_id}
        if with_lab:
            body["participants"] = [{"organisation_id": world.orgs["lab"], "role": "rnd"}]
        r = client.post("/api/v1/engagements", json=body, headers=headers)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for persona in PERSONAS:
        hp = world[persona].headers
        listed = {e["id"]: e for e in client.get("/api/v1/engagements", params={"limit": 100}, headers=hp)
                  .json()["items"]}
        visible = {i: client.get(f"/api/v1/engagements/{i}", headers=hp) for i in ids}
        visible = {i: r.json() for i, r in visible.items() if r.status_code == 200}
        assert set(listed) == set(visible), persona
        for i, one in visible.items():
            assert one["hospital"] == listed[i]["hospital"], (persona, i)
    company_view = client.get(f"/api/v1/engagements/{ids[1]}", headers=world["company"].headers).json()
    assert company_view["hospital"] is None and company_view["hospital_hidden"] is True
