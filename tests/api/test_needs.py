"""Filing, reading, editing and the lifecycle of clinical needs."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def test_hospital_files_a_need_for_its_own_hospital(client, world, make_need):
    need = make_need()
    assert need["hospital"]["id"] == world["hospital"].org_id
    assert need["status"] == "draft" and need["version"] == 1
    assert need["language"] == "zh"  # detected
    assert need["warnings"] == []  # the outcome names no solution
    r = client.get(f"/api/v1/needs/{need['id']}", headers=world["hospital"].headers)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    assert r.json()["clinical_problem"] == "房间隔穿刺点难以稳定控制"


def test_language_detection_english_and_explicit(make_need):
    en = make_need(title="Needles slip on the septum", description="Conventional TSP needles cannot be steered.",
                   clinical_problem="", desired_outcome="")
    assert en["language"] == "en"
    forced = make_need(language="en")
    assert forced["language"] == "en"


def test_warns_when_outcome_names_a_solution(make_need):
    need = make_need(desired_outcome="研发一种可调弯射频穿刺针系统")
    codes = [w["code"] for w in need["warnings"]]
    assert codes == ["solution_in_outcome"]
    assert any("射频" in t or "穿刺针" in t or "系统" in t for t in need["warnings"][0]["terms"])
    en = make_need(desired_outcome="We want to develop a steerable needle device.")
    assert en["warnings"][0]["field"] == "desired_outcome"


def test_invalid_input_is_422_problem_naming_the_field_and_changes_nothing(client, world):
    h = world["hospital"].headers
    bad = [
        ({"title": "x", "description": "y", "tracks": ["cardiology"]}, "tracks.0"),
        ({"title": "", "description": "y", "tracks": ["imaging"]}, "title"),
        ({"title": "x", "description": "y", "tracks": []}, "tracks"),
        ({"title": "x", "description": "y", "tracks": ["imaging"], "regions": ["beijing"]}, "regions.0"),
        ({"title": "x", "description": "y", "tracks": ["imaging"], "status": "closed"}, "status"),
        ({"description": "y", "tracks": ["imaging"]}, "title"),
        ({"title": "x", "description": "   ", "tracks": ["imaging"]}, "description"),
    ]
    for body, field in bad:
        r = client.post("/api/v1/needs", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        p = r.json()
        assert p["status"] == 422 and p["type"].endswith("invalid-input")
        assert field in [e["field"] for e in p["errors"]], p
    r = client.post("/api/v1/needs", content=b"{not json", headers={**h, "content-type": "application/json"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert client.get("/api/v1/needs", headers=h).json()["total"] == 0


def test_update_needs_current_version(client, world, make_need):
    h = world["hospital"].headers
    need = make_need()
    url = f"/api/v1/needs/{need['id']}"
    r = client.patch(url, json={"title": "新标题"}, headers=h)
    assert r.status_code == 428 and r.json()["type"].endswith("version-required")
    r = client.patch(url, json={"title": "新标题", "version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.headers["etag"] == '"2"'
    r = client.patch(url, json={"title": "又一个标题", "version": 1}, headers=h)
    assert r.status_code == 409 and r.json()["current_version"] == 2
    r = client.patch(url, json={"department": "心内科"}, headers={**h, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["department"] == "心内科"
    assert client.get(url, headers=h).json()["title"] == "新标题"


def test_status_lifecycle_follows_the_table(client, world, make_need):
    h = world["hospital"].headers
    need = make_need()
    url = f"/api/v1/needs/{need['id']}"
    r = client.patch(url, json={"status": "closed", "version": 1}, headers=h)
    assert r.status_code == 409
    assert r.json()["allowed"] == ["open", "withdrawn"] and r.json()["current"] == "draft"
    r = client.patch(url, json={"status": "in_partnership", "version": 1}, headers=h)
    assert r.status_code == 409  # only the partnership workflow puts a need in partnership
    r = client.patch(url, json={"status": "open", "version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["opened_at"] is not None
    r = client.patch(url, json={"status": "withdrawn", "version": 2}, headers=h)
    assert r.status_code == 200 and r.json()["closed_at"] is not None
    r = client.patch(url, json={"status": "open", "version": 3}, headers=h)
    assert r.status_code == 409 and r.json()["allowed"] == []


def test_anonymous_need_hides_the_hospital_from_companies(client, world, make_need):
    need = make_need(status="open", confidentiality="anonymous")
    url = f"/api/v1/needs/{need['id']}"
    as_company = client.get(url, headers=world["company"].headers).json()
    assert as_company["hospital"] is None and as_company["hospital_hidden"] is True
    listed = client.get("/api/v1/needs", headers=world["company"].headers).json()["items"]
    assert [n["hospital"] for n in listed] == [None]
    # Filtering by hospital must not reveal the anonymous need's origin.
    r = client.get("/api/v1/needs", params={"hospital_id": world["hospital"].org_id},
                   headers=world["company"].headers)
    assert r.json()["total"] == 0
    for who in ("hospital", "commission", "admin"):
        assert client.get(url, headers=world[who].headers).json()["hospital"]["id"] == world["hospital"].org_id


def test_companies_see_only_open_needs(client, world, make_need):
    draft = make_need()
    opened = make_need(status="open", title="开放的需求")
    c = world["company"].headers
    assert client.get(f"/api/v1/needs/{draft['id']}", headers=c).status_code == 404
    assert client.get(f"/api/v1/needs/{opened['id']}", headers=c).status_code == 200
    assert [n["id"] for n in client.get("/api/v1/needs", headers=c).json()["items"]] == [opened["id"]]


def test_list_filters_sorting_and_pagination(client, world, make_need):
    h = world["hospital"].headers
    a = make_need(title="A 影像需求", tracks=["imaging"], regions=["suzhou"], status="open")
    b = make_need(title="B 介入需求", tracks=["interventional_implant", "imaging"], regions=[])
    c = make_need(title="C remote rehab", description="Stroke patients need home rehabilitation coaching.",
                  tracks=["rehab_eldercare"], clinical_problem="", desired_outcome="", regions=["wuxi"])

    def ids(**params):
        r = client.get("/api/v1/needs", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [n["id"] for n in r.json()["items"]]

    assert ids(track="imaging", sort="id") == [a["id"], b["id"]]
    assert ids(region="suzhou") == [a["id"]]
    assert ids(status="open") == [a["id"]]
    assert ids(language="en") == [c["id"]]
    assert ids(q="rehab") == [c["id"]]
    assert ids(q="100%_") == []  # wildcards are literal
    assert ids(sort="title") == [a["id"], b["id"], c["id"]]
    assert ids(sort="-title") == [c["id"], b["id"], a["id"]]
    page = client.get("/api/v1/needs", params={"limit": 2, "offset": 2, "sort": "id"}, headers=h).json()
    assert page["total"] == 3 and page["limit"] == 2 and [n["id"] for n in page["items"]] == [c["id"]]
    r = client.get("/api/v1/needs", params={"sort": "secret_column"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"
    r = client.get("/api/v1/needs", params={"track": "cardiology"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "track"


def test_other_hospital_cannot_see_or_edit(client, world, make_need):
    need = make_need()
    other = world["hospital_b"].headers
    assert client.get(f"/api/v1/needs/{need['id']}", headers=other).status_code == 404
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"title": "hijack", "version": 1}, headers=other)
    assert r.status_code == 404
    assert client.get(f"/api/v1/needs/{need['id']}", headers=world["hospital"].headers).json()["title"] != "hijack"


def test_partnership_status_is_the_workflows_not_the_hospitals(app, client, world, make_need):
    """A hospital cannot move its need into or out of partnership by editing it; only the workflow does."""
    from sqlalchemy import update
    from sqlmodel import Session

    from app.models import Need

    need = make_need(status="open")
    with Session(app.state.engine) as s:  # what the workflow does when a partnership passes intent
        s.execute(update(Need).where(Need.id == need["id"]).values(status="in_partnership", version=2))
        s.commit()
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"status": "open", "version": 2},
                     headers=world["hospital"].headers)
    assert r.status_code == 409 and r.json()["allowed"] == ["closed"]
    r = client.patch(f"/api/v1/needs/{need['id']}", json={"status": "closed", "version": 2},
                     headers=world["hospital"].headers)
    assert r.status_code == 200 and r.json()["status"] == "closed"
