"""Dense candidates from PostgreSQL + pgvector (embeddings.vec, migration b7e3c1a9d2f4): exact and HNSW search, the
write path that fills the column, the migration's back-fill, and GET /needs/{id}/matches in the pgvector modes.

On the embedded PostgreSQL of tests/conftest.py. The column is vector(512): vectors here are 512-dimensional (random
ones for the SQL-level checks, ``HashingEmbedder(dim=512)`` through the API).
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from sqlalchemy import insert, text
from sqlmodel import Session

from app.models.embedding import DENSE_VEC_DIM
from tests.conftest import BACKENDS, TSP_NEED, build_world, fresh_database_url

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL not among CLINMATCH_TEST_BACKENDS")]

MODEL, VERSION = "fake-512", "v1"


@pytest.fixture
def pg_url(request) -> str:
    return fresh_database_url(request, "postgres")


class _FakeMatcher:  # what dense_top reads of a Matcher
    model_name, vector_version = MODEL, VERSION


def _clustered(rng, n: int, k: int = 12) -> np.ndarray:
    """Unit vectors around k centres (like text embeddings: neighbourhoods, not uniform noise)."""
    centres = rng.standard_normal((k, DENSE_VEC_DIM))
    x = centres[rng.integers(0, k, n)] + 0.8 * rng.standard_normal((n, DENSE_VEC_DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _load(engine, vecs: np.ndarray) -> list[int]:
    """Active capabilities with these whole-text vectors (through store_dense), plus decoys that must never be found:
    an archived capability and a vector of another model version. Returns the active capabilities' ids in order."""
    from app.models import Capability, Embedding
    from app.models.common import utcnow
    from app.models.organisation import OrganisationCreate
    from app.services import organisations
    from app.services.matching.vectors import store_dense

    now = utcnow()
    with Session(engine) as s:
        org = organisations.create(s, None, OrganisationCreate(kind="enterprise", name_en="Vectors", region="putuo"))
        caps = [{"organisation_id": org.id, "kind": "product", "title": f"cap {i}", "description": "d",
                     "tracks": ["digital_health"], "stages": [], "certifications": [], "region": "putuo", "language": "en",
                     "status": "active", "version": 1, "created_at": now, "updated_at": now} for i in range(len(vecs) + 2)]
        caps[-1]["status"] = "archived"
        ids = list(s.execute(insert(Capability).returning(Capability.id, sort_by_parameter_order=True), caps).scalars())
        rows = [{"entity": "capability", "entity_id": cid, "model_name": MODEL, "model_version": VERSION, "text_hash": "h",
                     "dim": DENSE_VEC_DIM, "rows": 2, "data": np.stack([v, -v]).tobytes(), "created_at": now}
                for cid, v in zip(ids, list(vecs) + [vecs[0], vecs[0]])]
        rows[-2]["model_version"] = "stale"
        emb_ids = list(s.execute(insert(Embedding).returning(Embedding.id, sort_by_parameter_order=True),
                                 rows).scalars())
        store_dense(s, [(e, r) for e, r in zip(emb_ids, list(vecs) + [vecs[0], vecs[0]])])
        s.commit()
    return ids[:len(vecs)]


def _brute(vecs: np.ndarray, ids: list[int], q: np.ndarray, c: int) -> list[str]:
    sims = vecs @ q
    return [str(ids[i]) for i in np.argsort(-sims, kind="stable")[:c]]


def test_exact_candidates_are_the_numpy_cosine_top_c(pg_url):
    from app.db import make_engine
    from app.services.matching.vectors import dense_top

    engine = make_engine(pg_url)
    rng = np.random.default_rng(1)
    vecs = _clustered(rng, 300)
    ids = _load(engine, vecs)
    for q in _clustered(rng, 5):
        with Session(engine) as s:
            got = dense_top(s, _FakeMatcher(), q, 40, "pgvector")
            # the index was off for the query only: the rest of the transaction plans with indexes again
            assert s.execute(text("SHOW enable_indexscan")).scalar() == "on"
        with Session(engine) as s:
            dense_top(s, _FakeMatcher(), q, 40, "pgvector_hnsw")
            assert s.execute(text("SHOW enable_sort")).scalar() == "on"
        assert got == _brute(vecs, ids, q, 40)
    with Session(engine) as s:  # C larger than the pool: every active capability of the current version, none else
        assert sorted(dense_top(s, _FakeMatcher(), vecs[0], 1000, "pgvector"), key=int) == [str(i) for i in ids]
    engine.dispose()


def test_hnsw_candidates_recall_the_exact_ones(pg_url):
    from app.db import make_engine
    from app.services.matching.vectors import _TOP_DENSE, dense_top

    engine = make_engine(pg_url)
    rng = np.random.default_rng(2)
    vecs = _clustered(rng, 400)
    _load(engine, vecs)
    with Session(engine) as s:
        s.execute(text("ANALYZE embeddings; ANALYZE capabilities"))
        s.commit()
    recalls_10, recalls_c = [], []
    for q in _clustered(rng, 10):
        with Session(engine) as s:
            exact = dense_top(s, _FakeMatcher(), q, 50, "pgvector")
        with Session(engine) as s:  # ef_search below C: the iterative scan still returns C rows
            approx = dense_top(s, _FakeMatcher(), q, 50, "pgvector_hnsw", ef_search=40)
        assert len(approx) == 50 and len(set(approx)) == 50
        recalls_10.append(len(set(approx[:10]) & set(exact[:10])) / 10)
        recalls_c.append(len(set(approx) & set(exact)) / 50)
    assert np.mean(recalls_10) >= 0.9 and np.mean(recalls_c) >= 0.9, (recalls_10, recalls_c)
    # the plans: HNSW through the index, exact without it
    params = {"m": MODEL, "v": VERSION, "q": "[" + ",".join(["0.1"] * DENSE_VEC_DIM) + "]", "c": 50}
    explain = text("EXPLAIN " + str(_TOP_DENSE).replace(":q", "CAST(:q AS vector)"))
    with Session(engine) as s:
        s.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))
        s.execute(text("SET LOCAL enable_sort = off"))
        plan = "\n".join(s.execute(explain, params).scalars())
        print(plan)
        assert "ix_embeddings_vec_hnsw" in plan
        s.execute(text("RESET enable_sort"))
        s.execute(text("SET LOCAL enable_indexscan = off"))
        assert "ix_embeddings_vec_hnsw" not in "\n".join(s.execute(explain, params).scalars())
    engine.dispose()


def test_migration_back_fills_the_column_from_stored_vectors(pg_url):
    from alembic import command

    from app.db import make_engine
    from app.migrate import alembic_config

    engine = make_engine(pg_url)
    vecs = _clustered(np.random.default_rng(3), 20)
    _load(engine, vecs)
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "676ae412931a")  # the column goes
    command.upgrade(cfg, "head")  # and comes back, filled from data
    with engine.connect() as c:
        n_null = c.execute(text("SELECT count(*) FROM embeddings WHERE vec IS NULL")).scalar()
        rows = c.execute(text("SELECT data, vec::text FROM embeddings")).all()
        storage = c.execute(text("SELECT attstorage FROM pg_attribute WHERE attrelid = 'embeddings'::regclass "
                                 "AND attname = 'vec'")).scalar()
        options = c.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'embeddings'")).scalar()
    assert storage == "p" and "toast_tuple_target=4096" in options  # kept in the row (exact scans read no TOAST)
    assert n_null == 0 and len(rows) == 22
    for data, vec in rows:
        row0 = np.frombuffer(data, np.float32)[:DENSE_VEC_DIM]
        np.testing.assert_allclose(np.array(vec.strip("[]").split(","), np.float32), row0, rtol=1e-6, atol=1e-7)
    engine.dispose()


# --- through the API -----------------------------------------------------------------------------------------------

@pytest.fixture
def ranker_candidates(monkeypatch):
    """``Matcher.rank(..., candidates=...)`` (score only these capability ids, statistics from the whole index): the
    lead's ranker adds it; until it is there, a stand-in with the same results (the others excluded by filter)."""
    from matching import Matcher

    if "candidates" in inspect.signature(Matcher.rank).parameters:
        return
    orig = Matcher.rank

    def rank(self, need, k=20, filters=None, explain=True, candidates=None):
        from matching import Filters

        filters = filters or Filters()
        if candidates is not None:
            others = set(self.capability_ids()) - set(candidates)
            filters = dataclasses.replace(filters, exclude_ids=frozenset(filters.exclude_ids) | others)
        return orig(self, need, k, filters, explain)

    monkeypatch.setattr(Matcher, "rank", rank)


@pytest.fixture
def embedder_512(monkeypatch):
    import app.main
    from matching import HashingEmbedder

    monkeypatch.setattr(app.main, "load_embedder", lambda settings: HashingEmbedder(dim=DENSE_VEC_DIM))


def _settings(url: str, **kw):
    from pathlib import Path

    from app.config import Settings

    return Settings(database_url=url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False, **kw)


CAPS = [
    ("company", "Steerable RF transseptal puncture system", "Deflectable needle tip, RF energy crosses thick septa."),
    ("company", "可调弯射频房间隔穿刺系统", "针尖可调弯，射频能量穿过厚房间隔，无需推送力。"),
    ("company_b", "Irreversible electroporation for liver tumours", "Non-thermal ablation sparing bile ducts."),
    ("company_b", "Cardiac ablation catheter with contact force", "Force sensing catheter for atrial fibrillation."),
    ("lab", "超快激光微加工穿刺针针尖", "飞秒激光加工房间隔穿刺针的可调弯针尖微结构。"),
    ("lab", "Fluoroscopy image guidance software", "Real-time overlay of the septum for puncture planning."),
    ("company", "Vascular closure device", "Closes femoral access sites after catheter procedures."),
    ("company_b", "Remote ECG monitoring patch", "Wearable patch detecting atrial fibrillation at home."),
]


def test_matches_in_pgvector_modes_equal_memory_when_c_covers_the_pool(pg_url, embedder_512, ranker_candidates):
    from fastapi.testclient import TestClient

    from app.main import create_app

    results = {}
    world = need_id = None
    for mode in ("memory", "pgvector", "pgvector_hnsw"):
        app = create_app(_settings(pg_url, dense_search=mode, dense_candidates=1000, hnsw_ef_search=10))
        with TestClient(app, raise_server_exceptions=True) as client:
            if world is None:
                world = build_world(app.state.engine)
                for persona, title, desc in CAPS:
                    r = client.post("/api/v1/capabilities", headers=world[persona].headers, json={
                        "kind": "product", "title": title, "description": desc, "tracks": ["interventional_implant"],
                        "stages": ["rnd"]})
                    assert r.status_code == 201, r.text
                r = client.post("/api/v1/needs", json=TSP_NEED, headers=world["hospital"].headers)
                assert r.status_code == 201, r.text
                need_id = r.json()["id"]
                with app.state.engine.connect() as c:  # the write path filled the column (512-dim model)
                    assert c.execute(text("SELECT count(*) FROM embeddings WHERE vec IS NULL")).scalar() == 0
            r = client.get(f"/api/v1/needs/{need_id}/matches", params={"limit": 20},
                           headers=world["commission"].headers)
            assert r.status_code == 200, r.text
            results[mode] = [(m["capability"]["id"], m["score"]) for m in r.json()["items"]]
        app.state.engine.dispose()
    assert len(results["memory"]) == len(CAPS)
    assert results["pgvector"] == results["memory"]
    assert results["pgvector_hnsw"] == results["memory"]


def test_small_c_scores_only_the_dense_top_c(pg_url, embedder_512, ranker_candidates):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(_settings(pg_url, dense_search="pgvector", dense_candidates=3))
    with TestClient(app) as client:
        world = build_world(app.state.engine)
        for persona, title, desc in CAPS:
            assert client.post("/api/v1/capabilities", headers=world[persona].headers, json={
                "kind": "product", "title": title, "description": desc, "tracks": ["interventional_implant"],
                "stages": ["rnd"]}).status_code == 201
        need_id = client.post("/api/v1/needs", json=TSP_NEED, headers=world["hospital"].headers).json()["id"]
        r = client.get(f"/api/v1/needs/{need_id}/matches", headers=world["commission"].headers)
        assert r.status_code == 200
        assert len(r.json()["items"]) == 3
    app.state.engine.dispose()


def test_pgvector_modes_are_refused_on_sqlite(sqlite_url):
    from app.main import create_app

    for mode in ("pgvector", "pgvector_hnsw"):
        with pytest.raises(RuntimeError, match="needs PostgreSQL"):
            create_app(_settings(sqlite_url, dense_search=mode))


def test_pgvector_mode_is_refused_when_the_model_does_not_fit_the_column(pg_url):
    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(_settings(pg_url, dense_search="pgvector"))  # the hashing embedder's default dim is 64
    with pytest.raises(ValueError, match="512"), TestClient(app):
        pass
    app.state.engine.dispose()
