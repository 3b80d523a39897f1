"""Lexical scorer: BM25 (bm25s, Lucene variant) over jieba / stemmed tokens, with field weights.

Field weighting is done the simple BM25F-like way: a field with weight w contributes its tokens w times to the
document's bag of words (title 2, description 1, organisation name 1). Glossary concept ids are appended as
``@concept`` pseudo-tokens so that a Chinese need and an English capability that name the same concept share a term.
The index is rebuilt lazily after changes (bm25s indexes are immutable).
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

__all__ = ["BM25Index", "reference_bm25", "field_tokens", "FIELD_WEIGHTS"]

FIELD_WEIGHTS = {"title": 2, "description": 1, "extra": 1, "org": 1}


def field_tokens(fields: dict[str, list[str]], weights: dict[str, int] | None = None) -> list[str]:
    w = weights or FIELD_WEIGHTS
    out: list[str] = []
    for name, toks in fields.items():
        out.extend(toks * int(w.get(name, 1)))
    return out


class BM25Index:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self._docs: list[list[str]] = []
        self._bm25 = None
        self._n = 0

    def fit(self, docs: Sequence[list[str]]) -> "BM25Index":
        import bm25s

        self._docs = [list(d) for d in docs]
        self._n = len(self._docs)
        if self._n:
            r = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
            r.index(self._docs, show_progress=False)
            self._bm25 = r
        else:
            self._bm25 = None
        return self

    def __len__(self) -> int:
        return self._n

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the (deduplicated) query tokens; shape (n_docs,)."""
        if self._bm25 is None:
            return np.zeros(self._n, dtype=np.float32)
        q = list(dict.fromkeys(t for t in query if t in self._bm25.vocab_dict))
        if not q:
            return np.zeros(self._n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(q), dtype=np.float32)

    def idf_mass(self, query: Sequence[str]) -> float:
        """Sum of the Lucene idf of the distinct in-vocabulary query tokens: an upper bound of any BM25 score
        (each term's tf part is < 1 in the Lucene variant), so ``score / idf_mass`` is a 0..1 coverage."""
        if self._bm25 is None:
            return 0.0
        if not hasattr(self, "_df"):
            self._df = {}
            for d in self._docs:
                for t in set(d):
                    self._df[t] = self._df.get(t, 0) + 1
        n = self._n
        return float(sum(math.log(1 + (n - self._df[t] + 0.5) / (self._df[t] + 0.5))
                         for t in dict.fromkeys(query) if t in self._df))


def reference_bm25(docs: Sequence[list[str]], query: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Independent plain-Python Lucene BM25 (as in rank_bm25 / Lucene): used by the tests to check BM25Index."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n if n else 0.0
    df = Counter()
    for d in docs:
        df.update(set(d))
    out = []
    q = list(dict.fromkeys(query))
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for t in q:
            if df[t] == 0:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            f = tf[t]
            s += idf * f / (f + k1 * (1 - b + b * len(d) / avgdl)) if f else 0.0
        out.append(s)
    return out
