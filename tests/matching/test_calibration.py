"""Calibrated confidence and bands (matching.calibration, python -m matching.calibrate) and generic evidence kept out
of explanations (matching.generic)."""
import json

import numpy as np
import pytest

from matching import CapabilityDoc, Matcher, NeedDoc
from matching.calibrate import ece, fit_logistic
from matching.calibration import DEFAULT_CALIBRATION_PATH, FEATURES, Calibrator, band_of, load_calibrator
from matching.embedding import HashingEmbedder
from tests.matching.test_real_model import DISTRACTORS, TARGET_EN, TSP_NEED

# The case, in new words: a GI-endoscopy need nothing in the pool fits, and a PFO occluder described in the
# generic way that made it the top match ("医疗器械", "开展").
ESD_NEED = NeedDoc(
    id="N-ESD", title="内镜下大面积黏膜缺损难以可靠闭合",
    description=("胃和结肠的早期病变做内镜黏膜下剥离后，创面常超过三厘米，普通金属夹夹不拢，术后迟发出血和穿孔让我们很头疼。"
                 "希望找到能在内镜下完成全层或荷包缝合的器械，开展动物实验和临床评价。"),
    tracks=["interventional_implant"], partner_types=["enterprise"], stages=["animal_trial", "clinical_evaluation"],
    language="zh")
PFO = CapabilityDoc("C-PFO", "卵圆孔未闭封堵器", "公司开展医疗器械研发与生产，卵圆孔未闭封堵器可用于预防反常栓塞，"
                    "支持动物实验和临床评价。", "enterprise", ["interventional_implant"],
                    ["animal_trial", "clinical_evaluation", "manufacturing"], "putuo", ["ISO13485"], "zh")


@pytest.fixture(scope="module")
def matcher(real_embedder):
    m = Matcher(real_embedder)
    m.upsert_capabilities([TARGET_EN, PFO, *DISTRACTORS])
    return m


def test_the_shipped_calibration_is_for_the_real_model_and_known_features(real_embedder):
    cal = load_calibrator()
    data = json.loads(DEFAULT_CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert cal is not None and cal.meta["model"] == real_embedder.name
    assert set(cal.features) <= set(FEATURES) and len(cal.coef) == len(cal.features)
    assert set(data["fitted_on"]) == {"dev", "nfcorpus", "kuake-qtr", "medquad-liveqa"}  # never the own set
    assert Matcher(real_embedder).calibrator is not None
    # another model's similarities mean other things: no confidence rather than a wrong one
    assert Matcher(HashingEmbedder()).calibrator is None


def test_a_real_fit_is_strong_and_a_best_of_nothing_is_not(matcher):
    fit = matcher.rank(TSP_NEED, k=8)
    # (eight capabilities are a small pool: the real fit stands out of it less than of a real one, see the demo test)
    assert fit[0].capability_id == "C-TSP-EN" and fit[0].band in ("strong", "possible"), \
        [(m.capability_id, m.confidence) for m in fit]
    assert all(m.band == "weak" for m in fit if m.capability_id == "C-PFO")
    nothing = matcher.rank(ESD_NEED, k=8)
    # the best is the ESD knife (same procedure, not a closure device): at most possible; the occluder is weak
    assert nothing[0].capability_id != "C-PFO" and nothing[0].band != "strong"
    assert [m.band for m in nothing if m.capability_id == "C-PFO"] == ["weak"]
    assert all(0 <= m.confidence <= 1 for m in nothing)


def test_explanations_never_quote_generic_evidence(matcher):
    for need in (ESD_NEED, TSP_NEED):
        for m in matcher.rank(need, k=8):
            e = m.explanation
            concepts = {c["concept"] for c in e["shared_concepts"]}
            assert not concepts & {"medical_device", "clinical_trial", "manufacturing", "registration"}, concepts
            terms = {t["term"] for t in e["shared_terms"]}
            assert not terms & {"开展", "医疗器械", "器械", "临床评价", "支持"}, terms
            assert "医疗器械" not in e["summary"] and "medical device" not in e["summary"].lower()


def test_generic_only_overlap_says_so_even_with_the_fake_embedder():
    m = Matcher(HashingEmbedder(), calibrator=None)
    m.upsert_capabilities([CapabilityDoc("C", "医疗器械研发", "公司开展医疗器械研发和生产。", language="zh")])
    e = m.rank(NeedDoc("N", "医疗器械需求", "希望开展医疗器械合作。", language="zh"), k=1)[0].explanation
    assert e["shared_concepts"] == [] and e["shared_terms"] == []
    assert e["summary"].startswith("no specific shared concept")


def test_confidence_is_monotone_in_the_model_and_bands_follow_thresholds():
    cal = Calibrator(["score", "margin"], [0.5, 0.0], [0.1, 0.1], [2.0, 1.0], -1.0)
    lo, hi = cal.predict({"score": 0.4, "margin": 0.0}), cal.predict({"score": 0.7, "margin": 0.1})
    assert 0 < lo < hi < 1
    assert cal.predict({"score": float("nan"), "margin": 0.0}) == cal.predict({"score": 0.5, "margin": 0.0})
    assert Calibrator.from_json(json.loads(json.dumps(cal.to_json()))).predict({"score": 0.7, "margin": 0.1}) \
        == pytest.approx(hi)
    assert [band_of(p, 0.6, 0.3) for p in (0.6, 0.59, 0.3, 0.29)] == ["strong", "possible", "possible", "weak"]
    assert band_of(None) is None
    m = Matcher(HashingEmbedder(), calibrator=Calibrator(["score"], [0.0], [1.0], [60.0], -6.0),
                band_strong=0.9, band_possible=0.5)
    m.upsert_capabilities([CapabilityDoc("C", "房间隔穿刺针", "可调弯房间隔穿刺针。", language="zh")])
    r = m.rank(NeedDoc("N", "房间隔穿刺针", "需要可调弯房间隔穿刺针。", language="zh"), k=1)[0]
    assert r.confidence == pytest.approx(1 / (1 + np.exp(-(60 * r.score - 6))), abs=1e-4)
    assert r.band == band_of(r.confidence, 0.9, 0.5)
    assert set(r.features) >= {"score", "margin", "top_gap", "concept_specific", "dense"}


def test_fit_and_calibration_error():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.5 * x[:, 1] - 1.0)))
    y = (rng.random(4000) < p).astype(float)
    coef, b = fit_logistic(x, y, np.ones(4000), l2=0.0)
    assert coef == pytest.approx([1.5, -0.5], abs=0.15) and b == pytest.approx(-1.0, abs=0.15)
    assert ece(p, y) < 0.03  # the true probabilities are calibrated
    assert ece(np.full(4000, 0.9), y) > 0.5  # a constant 0.9 is not


def test_language_standardisation_removes_a_same_language_offset_and_spread_and_leaves_monolingual_pools_alone():
    from matching.signals import standardise_by_language

    rng = np.random.default_rng(1)
    zh, en = 0, 1
    # the need's language: higher and more spread out (shared everyday words); the other: low and flat
    lex = np.concatenate([0.10 + 0.10 * rng.random(45), 0.04 + 0.02 * rng.random(45)]).astype(np.float32)
    lex[0], lex[45] = 0.35, 0.15  # one real fit in each language
    codes = np.array([zh] * 45 + [en] * 45)
    assert np.array_equal(standardise_by_language(lex, np.zeros(90, np.int32)), lex)  # monolingual: unchanged
    out = standardise_by_language(lex, codes)
    # order within a language kept; the offset between the languages mostly gone (what is left: the shrinkage towards
    # the pool, and the clipping at 0)
    assert (np.argsort(out[:45]) == np.argsort(lex[:45])).all()
    assert (np.argsort(out[45:]) == np.argsort(lex[45:])).all()
    gap_before = lex[codes == zh].mean() - lex[codes == en].mean()
    gap_after = out[codes == zh].mean() - out[codes == en].mean()
    assert abs(gap_after) < gap_before / 4
    assert out[codes == zh].std() == pytest.approx(out[codes == en].std(), rel=0.25)
    # the other language's real fit, below the need's language's everyday noise before, now stands above all of it
    assert lex[45] < np.sort(lex[1:45])[-3] and out[45] > out[1:45].max()
    assert (out >= 0).all() and (out <= 1).all()
    # a group of one (a relevant document alone in its language) is barely moved
    codes = np.array([zh] * 89 + [en])
    assert abs(standardise_by_language(lex, codes)[89] - lex[89]) < 0.03


def test_generic_words_do_not_count_as_lexical_evidence():
    m = Matcher(HashingEmbedder(), calibrator=None, weights={"lexical": 1.0})
    generic = CapabilityDoc("G", "卵圆孔未闭封堵器", "公司开展医疗器械研发，支持临床评价。", language="zh")
    m.upsert_capabilities([generic, CapabilityDoc("S", "内镜全层缝合器", "内镜下全层缝合，闭合大面积黏膜缺损。",
                                                  language="zh")])
    need = NeedDoc("N", "黏膜缺损闭合", "希望开展医疗器械合作，完成临床评价，闭合内镜下黏膜缺损。", language="zh")
    scores = {r.capability_id: r.signals["lexical"] for r in m.rank(need, k=2, explain=False)}
    assert scores["G"] == 0 and scores["S"] > 0
    with_generic = Matcher(HashingEmbedder(), calibrator=None, weights={"lexical": 1.0}, generic_lexical=True)
    with_generic.upsert_capabilities([generic])
    assert with_generic.rank(need, k=1, explain=False)[0].signals["lexical"] > 0
