"""Score fusion: a convex combination of signals that are each already on a 0..1 scale, plus reciprocal-rank fusion
for signals that are not comparable (kept for experiments / callers)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["DEFAULT_WEIGHTS", "contributions", "linear_fusion", "max_normalize", "rrf"]

# Few weights (see matching/README.md). Lexical evidence (BM25 incl. glossary concept tokens) is the most reliable
# single signal across held-out sets, so it gets the largest weight; the multilingual embedding (strong on zh/en
# paraphrase, weak on technical English) is split between whole text and sentence max-sim; concepts and structure
# (a compatibility check, not topical evidence) last. Positive weights sum to 1.
DEFAULT_WEIGHTS: dict[str, float] = {
    "dense": 0.20,      # whole need vs whole capability (multilingual sentence embedding cosine)
    "passage": 0.15,    # mean over need sentences of the best-matching capability sentence (max-sim)
    "lexical": 0.35,    # BM25 over jieba / stemmed tokens + glossary concept ids, sqrt(score / upper bound)
    "concept": 0.10,    # IDF-weighted Dice overlap of glossary concepts (need's rejected concepts left out)
    "structured": 0.20, # mean of applicable structured conditions
    "status_quo": 0.0,  # (penalty if < 0) matches the need's complaint better than its wish; 0: did not help
}


def max_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    m = float(x.max()) if x.size else 0.0
    return x / m if m > 0 else np.zeros_like(x)


def linear_fusion(signals: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """sum_k w_k * s_k over the signals present in both mappings."""
    out = None
    for k, w in weights.items():
        if k not in signals or w == 0:
            continue
        s = np.asarray(signals[k], dtype=np.float32) * np.float32(w)
        out = s if out is None else out + s
    if out is None:
        n = len(next(iter(signals.values()))) if signals else 0
        return np.zeros(n, dtype=np.float32)
    return out


def contributions(signals: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    return {k: float(weights[k]) * float(signals[k]) for k in weights if k in signals}


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: sum over rankings of 1 / (k + rank), rank starting at 1."""
    out: dict[str, float] = {}
    for r in rankings:
        for i, doc in enumerate(r, start=1):
            out[doc] = out.get(doc, 0.0) + 1.0 / (k + i)
    return out
