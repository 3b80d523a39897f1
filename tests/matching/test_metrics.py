import json
import math

import pytest

from matching import HashingEmbedder, Matcher
from matching.evaluate import (
    evaluate_run,
    format_report,
    load_dataset,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    run_eval,
)


def test_ndcg_hand_computed():
    grades = {"a": 3, "b": 2, "c": 0, "d": 1}
    ranked = ["c", "a", "d", "x", "b"]
    dcg = 0 / math.log2(2) + 3 / math.log2(3) + 1 / math.log2(4) + 0 + 2 / math.log2(6)
    idcg = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, grades, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["a", "b", "d"], grades, 10) == pytest.approx(1.0)
    # cut-off: only the first k count
    assert ndcg_at_k(["c", "a"], grades, 1) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}, 10) is None


def test_recall_and_mrr_hand_computed():
    grades = {"a": 3, "b": 2, "c": 1, "d": 0}
    assert recall_at_k(["c", "a", "x"], grades, 10) == 0.5
    assert recall_at_k(["c", "a", "x", "b"], grades, 3) == 0.5
    assert recall_at_k(["a"], {"a": 1}, 10) is None
    assert reciprocal_rank(["c", "d", "b", "a"], grades) == pytest.approx(1 / 3)
    assert reciprocal_rank(["c", "d"], grades) == 0.0
    assert reciprocal_rank(["x"] * 100 + ["a"], grades) == 0.0  # beyond depth 100


def test_evaluate_run_macro_and_slices():
    qrels = {"n1": {"a": 3}, "n2": {"b": 2, "c": 2}}
    run = {"n1": ["a"], "n2": ["x", "b"]}
    r = evaluate_run(run, qrels, k=10, slices={"s": ["n2"]})
    assert r["all"]["recall@10"] == pytest.approx((1 + 0.5) / 2)
    assert r["all"]["mrr"] == pytest.approx((1 + 0.5) / 2)
    assert r["s"]["n"] == 1 and r["s"]["mrr"] == pytest.approx(0.5)


def _write_dataset(d):
    needs = [
        {"id": "N1", "title": "房间隔穿刺针", "description": "需要可调弯的房间隔穿刺系统", "tracks": [], "partner_types": ["enterprise"],
         "stages": [], "region": None, "language": "zh"},
        {"id": "N2", "title": "fall detection", "description": "residents fall at night", "tracks": [], "partner_types": [],
         "stages": [], "region": "shanghai", "language": "en"},
    ]
    caps = [
        {"id": "C1", "org": "A", "org_type": "enterprise", "title": "steerable transseptal puncture", "description": "RF needle",
         "tracks": [], "stages": [], "region": "putuo", "certifications": [], "language": "en"},
        {"id": "C2", "org": "B", "org_type": "enterprise", "title": "跌倒检测雷达", "description": "夜间跌倒告警",
         "tracks": [], "stages": [], "region": "suzhou", "certifications": [], "language": "zh"},
        {"id": "C3", "org": "C", "org_type": "lab", "title": "房间隔穿刺针", "description": "固定弯穿刺针",
         "tracks": [], "stages": [], "region": "wuxi", "certifications": [], "language": "zh"},
    ]
    (d / "needs.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in needs), encoding="utf-8")
    (d / "capabilities.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in caps), encoding="utf-8")
    (d / "qrels.tsv").write_text("need_id\tcapability_id\tgrade\nN1\tC1\t3\nN1\tC3\t1\nN2\tC2\t2\n", encoding="utf-8")


def test_loader_and_run_eval_writes_run_file(tmp_path):
    _write_dataset(tmp_path)
    ds = load_dataset(tmp_path)
    assert [n.id for n in ds.needs] == ["N1", "N2"] and ds.needs[1].regions == ["shanghai"]
    assert ds.capabilities[0].org_name == "A" and ds.qrels["N1"]["C1"] == 3
    out = tmp_path / "run.tsv"
    rep = run_eval(tmp_path, Matcher(HashingEmbedder(32)), k=10, run_out=out)
    lines = out.read_text().splitlines()
    assert len(lines) == 6  # 3 capabilities for each of 2 needs
    nid, _cid, rank, score, conf, band = lines[0].split("\t")
    assert nid == "N1" and rank == "1" and float(score) == float(score)
    assert conf == band == ""  # the hashing embedder has no calibration: no confidence rather than a wrong one
    assert set(rep["metrics"]) >= {"all", "zh", "en", "cross_lingual"}
    assert rep["metrics"]["all"]["n"] == 2
    assert "nDCG@10" in format_report(rep)
