"""Matcher behaviour with the deterministic HashingEmbedder (fast, no model)."""
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from matching import CapabilityDoc, Filters, HashingEmbedder, Matcher, NeedDoc


def caps():
    return [
        CapabilityDoc("C1", "房间隔可调弯射频穿刺系统", "用于房间隔穿刺的可调弯射频穿刺针，减少误入主动脉风险。", "enterprise",
                      ["interventional_implant"], ["rnd", "animal_trial", "clinical_evaluation"], "putuo", ["ISO13485"], "zh", "普实"),
        CapabilityDoc("C2", "Fall detection radar", "Contactless radar that alerts night staff when residents fall.",
                      "enterprise", ["rehab_eldercare"], ["clinical_evaluation"], "nanjing", [], "en"),
        CapabilityDoc("C3", "大动物实验中心", "提供猪、羊等大动物模型与GLP动物实验服务。", "platform",
                      ["biotech_rnd"], ["animal_trial"], "suzhou", ["GLP"], "zh"),
        CapabilityDoc("C4", "Steerable transseptal puncture needle", "Bidirectional steerable RF transseptal puncture (TSP) system.",
                      "lab", ["interventional_implant"], ["rnd"], "wuxi", [], "en"),
    ]


NEED = NeedDoc("N1", "房间隔穿刺针不可调弯", "现有房间隔穿刺针不可调弯，穿刺点偏移，可能误入主动脉。希望合作开发可调弯穿刺系统并开展动物实验。",
               ["interventional_implant"], ["enterprise"], ["rnd", "animal_trial"], [], "zh")


@pytest.fixture()
def matcher():
    m = Matcher(HashingEmbedder(64))
    m.upsert_capabilities(caps())
    return m


def test_rank_returns_matches_with_signals(matcher):
    res = matcher.rank(NEED, k=3)
    assert len(res) == 3 and [r.rank for r in res] == [1, 2, 3]
    assert res[0].capability_id in {"C1", "C4"} and res[0].need_id is None
    assert res[0].score >= res[1].score >= res[2].score
    assert set(res[0].signals) >= {"dense", "passage", "lexical", "concept", "structured"}
    json.dumps([r.explanation for r in res])  # JSON-serialisable


def test_score_is_sum_of_contributions(matcher):
    for r in matcher.rank(NEED, k=4):
        assert sum(r.explanation["contributions"].values()) == pytest.approx(r.score, abs=1e-3)


def test_explanation_quotes_are_truthful(matcher):
    fields_of = lambda d: {"title": d.title, "description": d.description, "extra": getattr(d, "extra_text", ""),
                           "org": getattr(d, "org_name", "")}
    by_id = {c.id: c for c in caps()}
    for r in matcher.rank(NEED, k=4):
        cap = by_id[r.capability_id]
        e = r.explanation
        for c in e["shared_concepts"]:
            assert c["need_terms"] and c["capability_terms"] and c["zh"] and c["en"]
            for q in c["need_terms"]:
                assert q["text"] in fields_of(NEED)[q["field"]]
            for q in c["capability_terms"]:
                assert q["text"] in fields_of(cap)[q["field"]]
        for t in e["shared_terms"]:
            assert t["need"]["text"] in fields_of(NEED)[t["need"]["field"]]
            assert t["capability"]["text"] in fields_of(cap)[t["capability"]["field"]]
        assert e["best_passages"]["need"] in NEED.title + NEED.description
        assert e["best_passages"]["capability"] in cap.title + cap.description
        for s in e["structured"]:
            assert s["holds"] in {"yes", "partly", "no"}
            if s["condition"] == "partner_type":
                assert (s["holds"] == "yes") == (cap.org_type in NEED.partner_types)


def test_cross_language_concept_is_explained(matcher):
    r = {m.capability_id: m for m in matcher.rank(NEED, k=4)}["C4"]
    tsp = [c for c in r.explanation["shared_concepts"] if c["concept"] == "transseptal_puncture"]
    assert tsp and tsp[0]["zh"] == "房间隔穿刺" and tsp[0]["en"] == "transseptal puncture"
    assert {q["text"] for q in tsp[0]["capability_terms"]} >= {"transseptal puncture"}


def test_filters(matcher):
    assert {r.capability_id for r in matcher.rank(NEED, k=10, filters=Filters(partner_types=["lab"]))} == {"C4"}
    assert {r.capability_id for r in matcher.rank(NEED, k=10, filters=Filters(regions=["shanghai"]))} == {"C1"}
    assert {r.capability_id for r in matcher.rank(NEED, k=10, filters=Filters(stages=["animal_trial"]))} == {"C1", "C3"}
    assert "C1" not in {r.capability_id for r in matcher.rank(NEED, k=10, filters=Filters(exclude_ids=frozenset({"C1"})))}
    hard = {r.capability_id for r in matcher.rank(NEED, k=10, filters=Filters(hard_structured=True))}
    assert hard == {"C1", "C2"}  # need asks for enterprises only
    assert matcher.rank(NEED, k=10, filters=Filters(min_score=10.0)) == []


def test_upsert_replace_and_remove(matcher):
    assert len(matcher) == 4
    matcher.upsert_capabilities([CapabilityDoc("C2", "新标题", "新描述", "lab")])
    assert len(matcher) == 4
    assert matcher.remove_capability("C2") and not matcher.remove_capability("C2")
    assert "C2" not in {r.capability_id for r in matcher.rank(NEED, k=10)}


def test_precomputed_vectors_roundtrip():
    m = Matcher(HashingEmbedder(64))
    payload = m.embed_capabilities(caps())
    assert payload["model"] == "hashing-64" and payload["version"] == m.vector_version and payload["dim"] == 64
    assert m.vector_version.startswith("1+gloss-")
    for c in caps():
        v = payload["vectors"][c.id]
        assert v.dtype == np.float32 and v.shape == (1 + len(m.passages_of(c)), 64)
    m.upsert_capabilities(caps(), vectors=payload)
    fresh = Matcher(HashingEmbedder(64))
    fresh.upsert_capabilities(caps())
    a = [(r.capability_id, round(r.score, 5)) for r in m.rank(NEED, k=4)]
    b = [(r.capability_id, round(r.score, 5)) for r in fresh.rank(NEED, k=4)]
    assert a == b
    # vectors from another model are ignored (recomputed)
    m.upsert_capabilities(caps(), vectors={**payload, "model": "other"})
    assert [(r.capability_id, round(r.score, 5)) for r in m.rank(NEED, k=4)] == a


def test_rank_needs_reverse_direction():
    m = Matcher(HashingEmbedder(64))
    other = NeedDoc("N2", "老人夜间跌倒", "养老院老人夜里跌倒，早上才被发现。", ["rehab_eldercare"], ["enterprise"], [], [], "zh")
    m.upsert_needs([NEED, other])
    res = m.rank_needs(caps()[0], k=2)
    assert res[0].need_id == "N1" and res[0].capability_id is None
    assert m.rank_needs(caps()[0], k=5, filters=Filters(exclude_ids=frozenset({"N1"})))[0].need_id == "N2"
    assert m.remove_need("N1") and m.need_ids() == ["N2"]


def test_concurrent_upserts_and_ranks():
    m = Matcher(HashingEmbedder(32))
    m.upsert_capabilities(caps())

    def writer(i):
        for j in range(20):
            m.upsert_capabilities([CapabilityDoc(f"X{i}-{j}", "穿刺针", "可调弯", "enterprise")])

    def reader():
        for _ in range(20):
            assert m.rank(NEED, k=3)

    with ThreadPoolExecutor(4) as pool:
        done = [pool.submit(writer, i) for i in range(2)] + [pool.submit(reader) for _ in range(2)]
    for f in done:
        f.result()  # re-raises whatever failed inside the thread
    assert len(m) == 4 + 40


def test_empty_index():
    assert Matcher(HashingEmbedder(8)).rank(NEED) == []


def test_stance_of_one_pair_equals_the_vectorised_form():
    """Ranking needs for a capability scores each need's sentences in plain Python (stance_one); ranking
    capabilities for a need does it vectorised (stance_scores): both give the same passage and status-quo scores."""
    import numpy as np

    from matching.signals import stance_one, stance_scores

    rng = np.random.default_rng(7)
    for _ in range(2000):
        m = int(rng.integers(1, 7))
        best = rng.random(m).astype(np.float32)
        stance = None if rng.random() < 0.1 else rng.integers(0, 3, m).astype(np.int8)
        titled = bool(rng.random() < 0.7)
        p, s = stance_scores(best[:, None], stance, titled)
        p1, s1 = stance_one(best.tolist(), stance, titled)
        assert abs(float(p[0]) - p1) < 1e-6 and abs(float(s[0]) - s1) < 1e-6
