"""Column store of indexed documents (one per side: capabilities, open needs), built for 100,000s of rows.

Every document is a row; rows are only appended. Replacing a document appends a new row and retires the old one
(``live`` mask), removing one retires it; ``compacted()`` rewrites the live rows once a quarter of them are retired.
Per row the store keeps what ranking reads for every row, in arrays:

- the whole-text vector (float32, exact dense scores) and the passage vectors (float16: they are read for a few
  hundred candidates per ranking, and half the memory matters more than the third decimal of a cosine);
- BM25 term frequencies (``lexical.BM25Index``), glossary concepts, and for capabilities the structured attributes
  (partner type and region as integer codes; stages, tracks and certifications as sparse 0/1 rows).

What only explanations read (spans of words, quoted concept terms) is not kept: the ranker recomputes it for the
few results it explains. Readers take a ``view()`` under the matcher's lock; arrays are grown by copying, so a view
stays valid while writers append.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .lexical import BM25Index, GrowableCSR, _grow

__all__ = ["DocStore", "RowInfo", "StoreView"]


@dataclass
class RowInfo:
    """What the ranker keeps of a document's analysis (small; the rest is recomputed for explanations)."""

    concepts: frozenset[str]
    rejected: frozenset[str] = frozenset()  # needs only: concepts named only in status-quo sentences
    stance: np.ndarray | None = None  # needs only: per passage 0 neutral, 1 want, 2 status quo
    titled: bool = False  # needs only: passage 0 is the title

    @property
    def positive_concepts(self) -> frozenset[str]:
        return self.concepts - self.rejected


SPAN = np.dtype([("key", "i4"), ("field", "i1"), ("start", "i4"), ("end", "i4")])
FIELDS = {"capability": ("title", "description", "org", "extra"), "need": ("title", "description", "extra")}


class _Ragged:
    """Variable-length runs of records per row, in one growable array (no Python object per row)."""

    def __init__(self, dtype):
        self.data = np.zeros(0, dtype)
        self.ptr = np.zeros(1, np.int64)
        self.n = 0

    def append(self, records: np.ndarray) -> None:
        z, k = int(self.ptr[self.n]), len(records)
        self.data = _grow(self.data, z + k)
        self.ptr = _grow(self.ptr, self.n + 2)
        self.data[z:z + k] = records
        self.ptr[self.n + 1] = z + k
        self.n += 1

    def row(self, r: int) -> np.ndarray:
        return self.data[self.ptr[r]:self.ptr[r + 1]]


class _SetColumn:
    """A set-valued attribute (stages, tracks, certifications, concepts) as sparse 0/1 rows over a vocabulary."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self.names: list[str] = []
        self.csr = GrowableCSR(np.float32)

    def code(self, value: str) -> int:
        j = self.vocab.get(value)
        if j is None:
            j = self.vocab[value] = len(self.names)
            self.names.append(value)
        return j

    def append(self, values) -> None:
        ids = np.array(sorted({self.code(v) for v in values}), np.int32)
        self.csr.append(ids, np.ones(len(ids), np.float32))

    def _csc(self):
        """Column-major copy of the rows so far (rebuilt when rows were added: retiring rows changes nothing)."""
        key = (self.csr.n, self.csr.nnz, len(self.names))
        if getattr(self, "_csc_key", None) != key:
            self._csc_cache = self.csr.matrix(len(self.names)).tocsc()
            self._csc_key = key
        return self._csc_cache

    def count_cols(self, wanted: dict[str, float]) -> np.ndarray:
        """Per row: the summed weights of the ``wanted`` values it has, reading only those values' columns."""
        cols = [(self.vocab[v], x) for v, x in wanted.items() if v in self.vocab]
        out = np.zeros(self.csr.n, np.float32)
        if not cols:
            return out
        csc = self._csc()
        for j, x in cols:
            s, e = csc.indptr[j], csc.indptr[j + 1]
            out[csc.indices[s:e]] += x
        return out

    def count(self, values) -> np.ndarray:
        """Per row: how many of ``values`` the row has."""
        return self.count_cols({v: 1.0 for v in values})

    def sizes(self, n: int) -> np.ndarray:
        """Per row (of the first ``n``): how many values it has."""
        return np.diff(self.csr.indptr[:n + 1]).astype(np.float32)

    def values(self, row: int) -> list[str]:
        return [self.names[int(i)] for i in self.csr.row(row)[0]]


class _Codes:
    """A single-valued attribute (partner type, region) as integer codes."""

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self.codes = np.zeros(0, np.int32)

    def append(self, row: int, value: str) -> None:
        self.codes = _grow(self.codes, row + 1)
        self.codes[row] = self.vocab.setdefault(value, len(self.vocab))

    def isin(self, n: int, values) -> np.ndarray:
        lut = np.zeros(len(self.vocab) + 1, bool)
        for v in values:
            j = self.vocab.get(v)
            if j is not None:
                lut[j] = True
        return lut[self.codes[:n]]


@dataclass
class StoreView:
    """A consistent read-only view of the first ``n`` rows."""

    n: int
    live: np.ndarray
    doc_vec: np.ndarray
    pas_vec: np.ndarray
    pas_start: np.ndarray
    pas_len: np.ndarray
    ids: list[str]

    def passage_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 passage vectors of ``rows`` stacked, start offset of each row's block)."""
        lens = self.pas_len[rows]
        starts = self.pas_start[rows]
        off = np.zeros(len(rows), np.int64)
        if len(rows):
            off[1:] = np.cumsum(lens)[:-1]
        idx = np.repeat(starts - off, lens) + np.arange(int(lens.sum()))
        return self.pas_vec[idx].astype(np.float32), off


class DocStore:
    def __init__(self, kind: str, dim: int):
        self.kind, self.dim = kind, dim
        self.generation = 0  # changes with every add or remove (cached rankings compare it)
        self.n = 0
        self.ids: list[str] = []
        self.docs: list[Any] = []
        self.info: list[RowInfo] = []
        self.pos: dict[str, int] = {}
        self.live = np.zeros(0, bool)
        self.doc_vec = np.zeros((0, dim), np.float32)
        self.pas_vec = np.zeros((0, dim), np.float16)
        self.pas_start = np.zeros(0, np.int64)
        self.pas_len = np.zeros(0, np.int32)
        self.n_pas = 0
        self.bm25 = BM25Index()
        self.concepts = _SetColumn()
        self.concept_df = np.zeros(0, np.float64)
        # capabilities' structured attributes
        self.org = _Codes()
        self.region = _Codes()
        self.stages = _SetColumn()
        self.tracks = _SetColumn()
        self.certs = _SetColumn()
        self.specialties = _SetColumn()
        self.has_tracks = np.zeros(0, bool)
        self.lang = _Codes()  # the document's language ("" unknown): per-language lexical standardisation
        # for explanations: first occurrence of every token, glossary concept mentions (field, span in the text)
        self.spans = _Ragged(SPAN)
        self.hits = _Ragged(SPAN)
        self.fields = FIELDS[kind]

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def retired(self) -> int:
        return self.n - len(self.pos)

    def add(self, doc, vecs: np.ndarray, tokens, info: RowInfo, spans=(), hits=()) -> int:
        """Append ``doc`` (retiring its previous row if any). vecs: row 0 whole text, rows 1.. passages.
        spans: (token, field, start, end) of each token's first occurrence; hits: (concept, field, start, end)."""
        self.remove(doc.id)
        self.generation += 1
        r = self.n
        pas = vecs[1:] if len(vecs) > 1 else vecs[:1]
        self.live = _grow(self.live, r + 1)
        self.doc_vec = _grow(self.doc_vec, r + 1)
        self.pas_start = _grow(self.pas_start, r + 1)
        self.pas_len = _grow(self.pas_len, r + 1)
        self.pas_vec = _grow(self.pas_vec, self.n_pas + len(pas))
        self.doc_vec[r] = vecs[0]
        self.pas_vec[self.n_pas:self.n_pas + len(pas)] = pas
        self.pas_start[r], self.pas_len[r] = self.n_pas, len(pas)
        self.n_pas += len(pas)
        self.bm25.add(tokens)
        self.concepts.append(info.concepts)
        fi = {f: i for i, f in enumerate(self.fields)}
        self.spans.append(np.array([(self.bm25.vocab[t], fi[f], a, b) for t, f, a, b in spans
                                    if t in self.bm25.vocab], SPAN))
        self.hits.append(np.array([(self.concepts.code(c), fi[f], a, b) for c, f, a, b in hits], SPAN))
        self.concept_df = _grow(self.concept_df, len(self.concepts.vocab))
        for c in info.concepts:
            self.concept_df[self.concepts.vocab[c]] += 1
        self.lang.append(r, (getattr(doc, "language", None) or "").strip().lower())
        if self.kind == "capability":
            self.org.append(r, doc.org_type)
            self.region.append(r, (doc.region or "").strip().lower())
            self.stages.append(doc.stages)
            self.tracks.append(doc.tracks)
            self.certs.append({x.lower() for x in doc.certifications})
            self.specialties.append(doc.specialties)
            self.has_tracks = _grow(self.has_tracks, r + 1)
            self.has_tracks[r] = bool(doc.tracks)
        self.ids.append(doc.id)
        self.docs.append(doc)
        self.info.append(info)
        self.live[r] = True
        self.pos[doc.id] = r
        self.n += 1
        return r

    def remove(self, doc_id: str) -> bool:
        r = self.pos.pop(doc_id, None)
        if r is None:
            return False
        self.generation += 1
        self.live[r] = False
        self.bm25.remove(r)
        for c in self.info[r].concepts:
            self.concept_df[self.concepts.vocab[c]] -= 1
        return True

    def trim(self) -> None:
        """Drop the arrays' spare capacity (after a bulk load: growth leaves up to a third unused)."""
        n, p = self.n, self.n_pas
        self.live, self.doc_vec, self.pas_start, self.pas_len = (self.live[:n].copy(), self.doc_vec[:n].copy(),
                                                                 self.pas_start[:n].copy(), self.pas_len[:n].copy())
        self.pas_vec = self.pas_vec[:p].copy()
        for csr in (self.bm25.tf, self.concepts.csr, self.stages.csr, self.tracks.csr, self.certs.csr,
                    self.specialties.csr):
            z = csr.nnz
            csr.indices, csr.data, csr.rowid = csr.indices[:z].copy(), csr.data[:z].copy(), csr.rowid[:z].copy()
            csr.indptr = csr.indptr[:csr.n + 1].copy()
        for rag in (self.spans, self.hits):
            rag.data, rag.ptr = rag.data[:rag.ptr[rag.n]].copy(), rag.ptr[:rag.n + 1].copy()

    def needs_compaction(self) -> bool:
        return self.retired > max(1000, self.n // 4)

    def compacted(self) -> DocStore:
        """A new store holding only the live rows (vectors copied, texts re-tokenised from the kept analysis)."""
        new = DocStore(self.kind, self.dim)
        new.generation = self.generation + 1
        for r in sorted(self.pos.values()):
            ids, tf = self.bm25.tf.row(r)
            tokens = {self.bm25.terms[int(i)]: int(k) for i, k in zip(ids, tf)}
            p = slice(self.pas_start[r], self.pas_start[r] + self.pas_len[r])
            vecs = np.vstack([self.doc_vec[r:r + 1], self.pas_vec[p].astype(np.float32)])
            new.add(self.docs[r], vecs, tokens, self.info[r], self.row_spans(r), self.row_hits(r))
        return new

    def row_spans(self, r: int) -> list[tuple[str, str, int, int]]:
        return [(self.bm25.terms[k], self.fields[f], int(a), int(b)) for k, f, a, b in self.spans.row(r).tolist()]

    def row_hits(self, r: int) -> list[tuple[str, str, int, int]]:
        return [(self.concepts.names[k], self.fields[f], int(a), int(b)) for k, f, a, b in self.hits.row(r).tolist()]

    def view(self) -> StoreView:
        n = self.n
        return StoreView(n, self.live[:n].copy(), self.doc_vec[:n], self.pas_vec[:self.n_pas], self.pas_start[:n],
                         self.pas_len[:n], self.ids)

    # --- corpus statistics --------------------------------------------------------------------------------------
    def concept_idf(self, concept: str) -> float:
        """idf of a glossary concept among live rows (a concept no row names gets the idf of df 0)."""
        j = self.concepts.vocab.get(concept)
        df = self.concept_df[j] if j is not None else 0.0
        return float(np.log1p(len(self.pos) / (1.0 + df)))

    def concept_idf_vector(self) -> np.ndarray:
        df = self.concept_df[:len(self.concepts.vocab)]  # grown with the vocabulary
        return np.log1p(len(self.pos) / (1.0 + df)).astype(np.float32)

    def concept_mass(self) -> np.ndarray:
        """Per row: the summed idf of its concepts (cached until a row is added or retired: idf moves with them)."""
        if getattr(self, "_mass_key", None) != self.generation:
            self._mass = self.concepts.csr.dot(self.concept_idf_vector())
            self._mass_key = self.generation
        return self._mass

    def token_df(self, token: str) -> int:
        return self.bm25.document_frequency(token)
