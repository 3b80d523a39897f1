"""Lexical scorer: BM25 (Lucene variant) over jieba / stemmed tokens, with field weights; rows can be added and
removed without rebuilding the whole index.

Field weighting is done the simple BM25F-like way: a field with weight w contributes its tokens w times to the
document's bag of words (title 2, description 1, organisation name 1). Glossary concept ids are appended as
``@concept`` pseudo-tokens so that a Chinese need and an English capability that name the same concept share a term.

Written here rather than with bm25s (which the first version used): a bm25s index is immutable and keeps every
document's token strings, so one new capability meant re-indexing all of them (seconds at 100,000), and the strings
cost ~1 GB. Here the term frequencies live in a growable CSR matrix of term ids; scoring reads a column-major copy
of the tf parts (``main``, built in one vectorised pass) plus a small one for rows added since (``tail``), and
computes idf from live document frequencies at query time. The tf part uses the average document length of when
``main`` was built; ``main`` is rebuilt once the tail exceeds a tenth of it, so the drift is small (exact after
``fit``: tests compare with an independent implementation).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["FIELD_WEIGHTS", "BM25Index", "GrowableCSR", "field_tokens", "reference_bm25"]

FIELD_WEIGHTS = {"title": 2, "description": 1, "extra": 1, "org": 1}


def field_tokens(fields: dict[str, list[str]], weights: dict[str, int] | None = None) -> list[str]:
    w = weights or FIELD_WEIGHTS
    out: list[str] = []
    for name, toks in fields.items():
        out.extend(toks * int(w.get(name, 1)))
    return out


def _grow(a: np.ndarray, need: int) -> np.ndarray:
    if need <= len(a):
        return a
    new = np.zeros((max(need, int(len(a) * 1.5) + 16),) + a.shape[1:], dtype=a.dtype)
    new[:len(a)] = a
    return new


class GrowableCSR:
    """Rows appended in amortised O(row); ``matrix()`` is a scipy CSR view of the rows so far (no copy)."""

    def __init__(self, dtype=np.float32):
        self.indptr = np.zeros(1, np.int64)
        self.indices = np.zeros(0, np.int32)
        self.data = np.zeros(0, dtype)
        self.rowid = np.zeros(0, np.int32)
        self.n = 0
        self.ncols = 0

    @property
    def nnz(self) -> int:
        return int(self.indptr[self.n])

    def append(self, cols: np.ndarray, vals: np.ndarray) -> None:
        k, z = len(cols), self.nnz
        self.indices = _grow(self.indices, z + k)
        self.data = _grow(self.data, z + k)
        self.rowid = _grow(self.rowid, z + k)
        self.rowid[z:z + k] = self.n
        self.indptr = _grow(self.indptr, self.n + 2)
        self.indices[z:z + k] = cols
        self.data[z:z + k] = vals
        self.indptr[self.n + 1] = z + k
        self.n += 1
        if k:
            self.ncols = max(self.ncols, int(cols.max()) + 1)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = self.indptr[i], self.indptr[i + 1]
        return self.indices[s:e], self.data[s:e]

    def matrix(self, ncols: int | None = None, start: int = 0, stop: int | None = None) -> sp.csr_matrix:
        stop = self.n if stop is None else stop
        s, e = int(self.indptr[start]), int(self.indptr[stop])
        ptr = self.indptr[start:stop + 1] - s
        return sp.csr_matrix((self.data[s:e], self.indices[s:e], ptr),
                             shape=(stop - start, max(ncols or 0, self.ncols, 1)), copy=False)

    def dot(self, w: np.ndarray) -> np.ndarray:
        """Per row: the sum of data x w[column] (w covers every column id in use); shape (rows,)."""
        z = self.nnz
        if not z:
            return np.zeros(self.n, np.float32)
        contrib = self.data[:z] * w[self.indices[:z]]
        return np.bincount(self.rowid[:z], weights=contrib, minlength=self.n).astype(np.float32)


class BM25Index:
    """Lucene BM25 over token lists. ``fit`` indexes a corpus; ``add`` appends one document (row), ``remove`` drops a
    row from the statistics (its score is then meaningless: callers mask dead rows)."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.terms: list[str] = []  # term id -> token
        self.tf = GrowableCSR(np.float32)  # rows x term ids: term frequency
        self.df = np.zeros(0, np.float64)  # live document frequency per term id
        self.dl = np.zeros(0, np.float32)  # document length per row
        self.live = np.zeros(0, bool)
        self.n_live = 0
        self.dl_live = 0.0
        self._main: tuple[int, float, sp.csc_matrix] | None = None  # rows covered, avgdl used, tf parts (CSC)
        self._tail: tuple[int, sp.csc_matrix] | None = None

    def fit(self, docs: Sequence[list[str]]) -> BM25Index:
        self.__init__(self.k1, self.b)
        for d in docs:
            self.add(d)
        return self

    def __len__(self) -> int:
        return self.tf.n

    def add(self, tokens: Sequence[str] | Mapping[str, int]) -> int:
        """Index one document (its tokens, or token -> count); returns its row."""
        c = tokens if isinstance(tokens, Mapping) else Counter(tokens)
        for t in c:
            if t not in self.vocab:
                self.vocab[t] = len(self.terms)
                self.terms.append(t)
        ids = np.fromiter((self.vocab[t] for t in c), np.int32, len(c))
        vals = np.fromiter(c.values(), np.float32, len(c))
        row = self.tf.n
        self.tf.append(ids, vals)
        self.df = _grow(self.df, len(self.vocab))
        np.add.at(self.df, ids, 1.0)
        self.dl = _grow(self.dl, row + 1)
        self.live = _grow(self.live, row + 1)
        self.dl[row] = float(vals.sum())
        self.live[row] = True
        self.n_live += 1
        self.dl_live += float(vals.sum())
        self._tail = None
        return row

    def remove(self, row: int) -> None:
        if not self.live[row]:
            return
        ids, _vals = self.tf.row(row)
        np.subtract.at(self.df, ids, 1.0)
        self.live[row] = False
        self.n_live -= 1
        self.dl_live -= float(self.dl[row])

    def _parts(self, start: int, stop: int, avgdl: float) -> sp.csc_matrix:
        m = self.tf.matrix(len(self.vocab), start, stop)
        norm = self.k1 * (1 - self.b + self.b * self.dl[start:stop] / max(avgdl, 1e-9))
        rows = np.repeat(np.arange(stop - start), np.diff(m.indptr))
        parts = sp.csr_matrix((m.data / (m.data + norm[rows]), m.indices, m.indptr), shape=m.shape)
        return parts.tocsc()

    def _matrices(self):
        n = self.tf.n
        main = self._main
        if main is None or (n - main[0]) > max(256, main[0] // 10):
            avgdl = self.dl_live / self.n_live if self.n_live else 1.0
            main = self._main = (n, avgdl, self._parts(0, n, avgdl))
            self._tail = None
        tail = self._tail
        if main[0] < n and (tail is None or tail[0] != n):
            tail = self._tail = (n, self._parts(main[0], n, main[1]))
        return main, (tail if main[0] < n else None)

    def _query_ids(self, query: Sequence[str]) -> list[int]:
        ids = [self.vocab[t] for t in dict.fromkeys(query) if t in self.vocab]
        return [i for i in ids if self.df[i] > 0]

    def _idf(self, ids) -> np.ndarray:
        df = self.df[ids]
        return np.log(1 + (self.n_live - df + 0.5) / (df + 0.5))

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the (deduplicated) query tokens; shape (rows,)."""
        n = self.tf.n
        ids = self._query_ids(query)
        if not n or not ids:
            return np.zeros(n, dtype=np.float32)
        idf = self._idf(ids)
        (n_main, _, main), tail = self._matrices()
        out = np.zeros(n, np.float64)
        for mat, off in ((main, 0), (tail[1] if tail else None, n_main)):
            if mat is None:
                continue
            ptr = mat.indptr
            segs = [(ptr[t], ptr[t + 1]) for t in ids if t < mat.shape[1]]
            if not segs:
                continue
            rows = np.concatenate([mat.indices[s:e] for s, e in segs])
            w = np.concatenate([mat.data[s:e] * f for (s, e), f in zip(segs, idf)])
            out[off:off + mat.shape[0]] += np.bincount(rows, weights=w, minlength=mat.shape[0])
        return out.astype(np.float32)

    def idf_mass(self, query: Sequence[str]) -> float:
        """Sum of the Lucene idf of the distinct in-vocabulary query tokens: an upper bound of any BM25 score
        (each term's tf part is < 1 in the Lucene variant), so ``score / idf_mass`` is a 0..1 coverage."""
        ids = self._query_ids(query)
        return float(self._idf(ids).sum()) if ids else 0.0

    def document_frequency(self, token: str) -> int:
        i = self.vocab.get(token)
        return int(self.df[i]) if i is not None else 0


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
