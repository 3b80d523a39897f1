"""The index at scale: the two-stage ranking returns exactly what scoring every capability fully returns, and an
index changed row by row (replacements, removals, compaction) ranks like one built from scratch."""
import random

import numpy as np
import pytest

from matching import CapabilityDoc, Filters, HashingEmbedder, Matcher, NeedDoc

WORDS = ["房间隔", "穿刺", "射频", "可调弯", "导管", "支架", "球囊", "超声", "影像", "病理", "切片", "动物", "实验", "灭菌", "涂层", "传感器", "雷达", "跌倒", "康复", "外骨骼", "transseptal", "puncture", "steerable", "catheter", "stent", "balloon", "ultrasound", "imaging", "pathology", "slide", "animal", "trial", "sterilisation", "coating", "sensor", "radar", "fall", "rehabilitation", "exoskeleton", "GMP", "GLP", "pilot", "line"]
TRACKS = ["interventional_implant", "imaging", "rehab_eldercare", "biotech_rnd"]
STAGES = ["rnd", "animal_trial", "clinical_evaluation", "manufacturing", "registration"]
REGIONS = ["putuo", "shanghai", "suzhou", "wuxi", "nanjing", "other"]


def sentence(rng, n=6):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def make_caps(n, seed=0, prefix="C"):
    rng = random.Random(seed)
    return [CapabilityDoc(f"{prefix}{i}", sentence(rng, 4), " ".join(sentence(rng) for _ in range(rng.randint(1, 4))),
                          rng.choice(["enterprise", "lab", "platform"]), rng.sample(TRACKS, rng.randint(0, 2)),
                          rng.sample(STAGES, rng.randint(1, 3)), rng.choice(REGIONS),
                          rng.sample(["ISO13485", "GLP", "CNAS"], rng.randint(0, 2)), "en")
            for i in range(n)]


def make_needs(n, seed=1):
    rng = random.Random(seed)
    return [NeedDoc(f"N{i}", sentence(rng, 5), " ".join(sentence(rng) for _ in range(rng.randint(1, 5))),
                    rng.sample(TRACKS, 1), rng.sample(["enterprise", "lab", "platform"], rng.randint(0, 2)),
                    rng.sample(STAGES, rng.randint(0, 2)), rng.sample(REGIONS, rng.randint(0, 1)), "en")
            for i in range(n)]


def ranked(m, need, **kw):
    return [(r.capability_id, round(r.score, 5)) for r in m.rank(need, explain=False, **kw)]


@pytest.fixture(scope="module")
def pool():
    caps = make_caps(1500)
    emb = HashingEmbedder(64)
    vecs = Matcher(emb).embed_capabilities(caps)
    shallow, full = Matcher(emb, rerank_depth=8), Matcher(emb, rerank_depth=None)
    shallow.upsert_capabilities(caps, vectors=vecs)
    full.upsert_capabilities(caps, vectors=vecs)
    return caps, shallow, full


def test_two_stage_ranking_equals_full_scoring(pool):
    _, shallow, full = pool
    pruned = 0
    for need in make_needs(25):
        for kw in ({"k": 10}, {"k": 3, "filters": Filters(regions=["shanghai"])},
                   {"k": 10, "filters": Filters(min_score=0.45)}):
            assert ranked(shallow, need, **kw) == ranked(full, need, **kw)
            pruned += shallow.last_stats["reranked"] < shallow.last_stats["rows"]
        assert full.last_stats["reranked"] == full.last_stats["rows"]
    assert pruned > 0  # the sentence-level signals were computed for fewer rows than the whole pool


def test_candidates_restrict_scoring_to_those_ids(pool):
    caps, shallow, full = pool
    need = make_needs(1)[0]
    only = {c.id for c in caps[:50]}
    got = shallow.rank(need, k=100, candidates=only, explain=False)
    assert {r.capability_id for r in got} == only
    whole = {r.capability_id: r.score for r in full.rank(need, k=1500, explain=False)}
    assert all(abs(whole[r.capability_id] - r.score) < 1e-5 for r in got)  # same corpus statistics


def test_changed_row_by_row_ranks_like_built_from_scratch():
    emb = HashingEmbedder(64)
    caps = make_caps(1200)
    live = Matcher(emb, rerank_depth=8)
    live.upsert_capabilities(caps)
    rng = random.Random(5)
    final = {c.id: c for c in caps}
    replaced = make_caps(700, seed=9)  # new texts for 700 existing ids, one upsert each
    for old, new in zip(rng.sample(caps, 700), replaced):
        new.id = old.id
        live.upsert_capabilities([new])
        final[old.id] = new
    for c in rng.sample(caps, 500):
        if live.remove_capability(c.id):
            del final[c.id]
    assert live.index.caps.n < 1200 + 700  # retired rows were compacted away
    assert sorted(live.capability_ids()) == sorted(final)
    fresh = Matcher(emb, rerank_depth=None)
    fresh.upsert_capabilities(list(final.values()))
    live.index.caps = live.index.caps.compacted()  # BM25's tf parts rebuilt with the current mean length, as in `fresh`
    for need in make_needs(10, seed=3):
        assert ranked(live, need, k=10) == ranked(fresh, need, k=10)


def test_removed_and_replaced_rows_are_never_returned():
    m = Matcher(HashingEmbedder(64))
    caps = make_caps(50)
    m.upsert_capabilities(caps)
    m.remove_capability("C3")
    changed = CapabilityDoc("C4", "radar fall", "radar fall detection.", "enterprise", [], ["rnd"], "putuo", [], "en")
    m.upsert_capabilities([changed])
    need = NeedDoc("N", "radar fall", "radar fall detection.", [], [], [], [], "en")
    res = m.rank(need, k=50)
    ids = [r.capability_id for r in res]
    assert "C3" not in ids and ids.count("C4") == 1 and len(ids) == 49
    assert res[0].capability_id == "C4"
    assert res[0].explanation["best_passages"]["capability"].startswith("radar fall")


def test_memory_is_arrays_not_objects(pool):
    _, shallow, _ = pool
    mem = shallow.memory_bytes()["capabilities"]
    vec_rows = shallow.index.caps.n + shallow.index.caps.n_pas
    assert mem < vec_rows * 64 * 4 * 2 + 2_000_000  # vectors (float32 whole text, float16 passages) dominate
    assert shallow.index.caps.pas_vec.dtype == np.float16


def test_stored_analysis_indexes_like_fresh_analysis():
    emb = HashingEmbedder(64)
    caps = make_caps(200, seed=4)
    a = Matcher(emb)
    payload = a.embed_capabilities(caps)
    assert set(payload["analysis"]) == {c.id for c in caps}
    b = Matcher(emb)
    b.analyser.analyse = None  # would fail if called: every document's analysis comes from the payload
    b.upsert_capabilities(caps, vectors=payload)
    del b.analyser.analyse  # queries are analysed as usual
    a.upsert_capabilities(caps, vectors={"model": payload["model"], "version": payload["version"],
                                         "vectors": payload["vectors"]})
    for need in make_needs(5):
        ra, rb = a.rank(need, k=5), b.rank(need, k=5)
        assert [(r.capability_id, r.score, r.explanation) for r in ra] == \
               [(r.capability_id, r.score, r.explanation) for r in rb]
    stale = dict(payload, analysis={c.id: b"\x00garbage" for c in caps})
    c = Matcher(emb)
    c.upsert_capabilities(caps[:3], vectors=stale)  # unreadable blobs are recomputed, not trusted
    assert c.rank(make_needs(1)[0], k=3)


def test_trim_releases_capacity_and_keeps_the_index_usable():
    emb = HashingEmbedder(64)
    caps = make_caps(300, seed=7)
    m, ref = Matcher(emb), Matcher(emb)
    m.upsert_capabilities(caps[:200])
    spare = len(m.index.caps.doc_vec) - m.index.caps.n
    m.trim()
    assert spare > 0 and len(m.index.caps.doc_vec) == m.index.caps.n == 200
    m.upsert_capabilities(caps[200:])  # grows again after a trim
    ref.upsert_capabilities(caps)
    m.index.caps = m.index.caps.compacted()
    for need in make_needs(5, seed=8):
        assert ranked(m, need, k=10) == ranked(ref, need, k=10)


def test_rankings_are_cached_until_the_index_changes():
    emb = HashingEmbedder(64)
    m = Matcher(emb)
    m.upsert_capabilities(make_caps(100, seed=11))
    need = make_needs(1, seed=12)[0]
    first = m.rank(need, k=5)
    assert m.last_stats.get("cached") is None
    again = m.rank(need, k=5)
    assert m.last_stats == {"cached": True}
    assert [(r.capability_id, r.score, r.explanation) for r in again] == \
           [(r.capability_id, r.score, r.explanation) for r in first]
    again[0].score = -1.0  # callers get their own Match objects
    assert m.rank(need, k=5)[0].score == first[0].score
    assert m.rank(need, k=6) and m.last_stats.get("cached") is None  # other arguments, another entry
    best = CapabilityDoc("NEW", need.title, need.description, "enterprise", need.tracks, need.stages, "putuo", [], "en")
    m.upsert_capabilities([best])
    after = m.rank(need, k=5)
    assert m.last_stats.get("cached") is None and after[0].capability_id == "NEW"
    m.remove_capability("NEW")
    assert "NEW" not in {r.capability_id for r in m.rank(need, k=5)}
    changed = NeedDoc(need.id, need.title, need.description, need.tracks, need.partner_types, need.stages,
                      ["nanjing"], "en")  # same texts, other structured fields: not the cached ranking
    m.rank(changed, k=5)
    assert m.last_stats.get("cached") is None


def test_a_capabilitys_needs_are_cached_until_the_needs_change_and_filters_key_by_their_sets():
    m = Matcher(HashingEmbedder(64))
    needs = make_needs(30, seed=13)
    m.upsert_needs(needs)
    cap = make_caps(1, seed=14)[0]
    first = m.rank_needs(cap, k=5)
    assert m.last_stats.get("cached") is None
    assert [r.need_id for r in m.rank_needs(cap, k=5)] == [r.need_id for r in first]
    assert m.last_stats == {"cached": True}
    m.rank_needs(cap, k=5, filters=Filters(stages=["rnd", "animal_trial"]))
    m.rank_needs(cap, k=5, filters=Filters(stages=frozenset({"animal_trial", "rnd"})))
    assert m.last_stats == {"cached": True}  # the same filters, given as a list and as a set
    m.rank(needs[0], k=5)  # the other direction's cache is its own
    m.remove_need(first[0].need_id)
    after = m.rank_needs(cap, k=5)
    assert m.last_stats.get("cached") is None and first[0].need_id not in {r.need_id for r in after}


def test_the_cache_helper_keeps_the_most_recently_used_and_size_zero_keeps_nothing():
    from matching.cache import LRU

    c = LRU(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # "a" is now the most recent: "b" goes first
    c.put("c", 3)
    assert (c.get("a"), c.get("b"), c.get("c"), len(c)) == (1, None, 3, 2)
    assert c.get_or_compute("d", lambda: 4) == 4 and c.get_or_compute("d", lambda: 5) == 4
    off = LRU(0)
    assert off.put("a", 1) == 1 and off.get("a") is None and len(off) == 0
