"""Matcher: index capabilities (and open needs), rank in both directions with per-signal scores and explanations."""
from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .calibration import DEFAULT_BAND_POSSIBLE, DEFAULT_BAND_STRONG, Calibrator, band_of, load_calibrator
from .docs import NO_FILTERS, CapabilityDoc, Filters, Match, NeedDoc
from .embedding import Embedder
from .explain import Analysis, explain_pair
from .fusion import DEFAULT_WEIGHTS, linear_fusion
from .generic import GENERIC_CONCEPTS, is_generic_term
from .glossary import ConceptHit, Glossary, load_glossary
from .lexical import FIELD_WEIGHTS
from .stance import sentence_stance
from .store import DocStore, RowInfo, StoreView
from .structured import conditions, expand_regions, hard_failures, structured_score
from .text import add_zh_words, split_sentences, tokenize_with_spans

__all__ = ["MAX_PASSAGES", "Matcher", "capability_fields", "need_fields"]

MAX_PASSAGES = 16  # title + up to 15 sentences per document
TITLE_SHARE = 0.5  # passage signal: the need's title weighs as much as its other sentences together
CONCEPT_TOKEN = "@"
ANALYSIS_VERSION = "1"  # bump when tokenising or the analysis blob's layout changes


class _LRU(OrderedDict):
    """A mapping that keeps its ``size`` most recently used entries (callers hold the matcher's lock)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def hit(self, key):
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def keep(self, key, value):
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)
        return value


def need_fields(n: NeedDoc) -> dict[str, str]:
    return {"title": n.title or "", "description": n.description or "", "extra": n.extra_text or ""}


def capability_fields(c: CapabilityDoc) -> dict[str, str]:
    return {"title": c.title or "", "description": c.description or "", "org": c.org_name or ""}


def _full_text(fields: Mapping[str, str], keys=("title", "description", "extra")) -> str:
    return "\n".join(fields[k] for k in keys if fields.get(k))


def _segments(fields: Mapping[str, str], keys=("title", "description", "extra")) -> list[str]:
    """The title and every sentence of the other fields."""
    out: list[str] = []
    for k in keys:
        t = fields.get(k) or ""
        if not t.strip():
            continue
        out.extend([t.strip()] if k == "title" else split_sentences(t))
    return out or [" "]


def _doc_segments(doc) -> tuple[dict[str, str], str, list[str]]:
    """(fields, whole text, segments: the title and every sentence)."""
    if isinstance(doc, NeedDoc):
        f = need_fields(doc)
        return f, _full_text(f), _segments(f)
    f = capability_fields(doc)
    return f, _full_text(f, ("title", "description")), _segments(f, ("title", "description"))


def _doc_texts(doc) -> tuple[dict[str, str], str, list[str]]:
    """(fields, whole text, passages: the first MAX_PASSAGES segments)."""
    f, full, segs = _doc_segments(doc)
    return f, full, segs[:MAX_PASSAGES]


class Matcher:
    """Hybrid need <-> capability matcher.

    Signals (each on 0..1): ``dense`` (whole-text embedding cosine; with USE the whole-text vector is pooled from
    the sentences' token features, ``matching.usem3_pooling``), ``passage`` (sentence-level max-sim),
    ``lexical`` (BM25, max-normalised), ``concept`` (glossary concept coverage), ``structured`` (compatibility);
    fused linearly with ``weights`` (default ``fusion.DEFAULT_WEIGHTS``). Thread-safe; all methods are sync.

    ``augment`` (default on): every text that is embedded (whole text and each passage) gets the bilingual labels of
    the glossary concepts it names appended ("房间隔穿刺 transseptal puncture"), which aligns Chinese and English texts
    in the embedding space. Stored vectors therefore depend on the glossary: ``vector_version`` changes with it.

    Ranking a need is exact and two-staged: every signal but the sentence-level ones (``passage``, ``status_quo``)
    is computed for every capability in a few vectorised passes; the sentence-level signals are computed for the
    ``rerank_depth`` best of those, then for twice as many, and so on, until no capability left out could
    still reach the k-th score (each left-out one is bounded by its first-stage score plus the largest weight the
    sentence signals can add). The result is the same as scoring every capability fully (``rerank_depth=None``
    does that), at a fraction of the cost; ``last_stats`` tells how deep a ranking went.
    """

    def __init__(self, embedder: Embedder, glossary: Glossary | None = None, use_glossary: bool = True,
                 weights: Mapping[str, float] | None = None, query_cache_size: int = 256, augment: bool = True,
                 rerank_depth: int | None = 1000, rank_cache_size: int = 256,
                 calibrator: Calibrator | None | bool = True, band_strong: float = DEFAULT_BAND_STRONG,
                 band_possible: float = DEFAULT_BAND_POSSIBLE, lexical_language_centring: bool = True,
                 generic_lexical: bool = False):
        self.embedder = embedder
        self.lexical_language_centring = lexical_language_centring
        self.generic_lexical = generic_lexical
        # calibrator: True = the shipped data/calibration.json, None/False = no confidence, or a Calibrator
        # (the shipped one only for the embedder it was fitted with: another model's similarities mean other things)
        if calibrator is True:
            calibrator = load_calibrator()
            if calibrator is not None and calibrator.meta.get("model") not in (None, embedder.name):
                calibrator = None
        self.calibrator = calibrator or None
        self.band_strong, self.band_possible = float(band_strong), float(band_possible)
        self.glossary = (glossary or load_glossary()) if use_glossary else None
        if self.glossary is not None:
            add_zh_words(self.glossary.zh_words())
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.augment = augment and self.glossary is not None
        self.rerank_depth = rerank_depth
        self._lock = threading.RLock()
        self._caps = DocStore("capability", embedder.dim)
        self._needs = DocStore("need", embedder.dim)
        self._qcache: _LRU = _LRU(query_cache_size)  # text key -> _Query
        # rankings of needs, valid while the capability index is unchanged (its generation): a matches page read
        # again costs a dictionary look-up; any indexed change (a new, edited or archived capability) invalidates all
        self._rcache: _LRU = _LRU(rank_cache_size)  # (need, query, store, generation) -> list[Match]
        self._acache: _LRU = _LRU(512)  # (store kind, generation, row) -> Analysis
        self._an_cache: _LRU = _LRU(256)  # (doc type, *field texts) -> _analyse(doc)
        self._aug_cache: _LRU = _LRU(4096)  # text -> augmented text
        self.last_stats: dict[str, Any] = {}

    # ------------------------------------------------------------------ model identity / vectors
    @property
    def model_name(self) -> str:
        return self.embedder.name

    @property
    def model_version(self) -> str:
        return self.embedder.version

    @property
    def _pooled(self) -> bool:
        """Whole-text vectors pooled from the segments (embedders that can: USE), else the whole text encoded."""
        return hasattr(self.embedder, "encode_documents")

    @property
    def vector_version(self) -> str:
        """Embedder version (+ "pool2" for pooled whole-text vectors) + glossary fingerprint (when augmenting):
        store it with vectors; recompute when it changes."""
        v = self.embedder.version + ("+pool2" if self._pooled else "")
        if not self.augment:
            return v
        return f"{v}+gloss-{self.glossary.fingerprint}"

    def passages_of(self, doc: NeedDoc | CapabilityDoc) -> list[str]:
        """The passage texts whose vectors are rows 1.. of the stored vector matrix (row 0 = whole text)."""
        return _doc_texts(doc)[2]

    def _augment(self, full: str) -> str:
        """Whole text + the bilingual labels of the glossary concepts it names (aligns zh and en texts)."""
        if self.glossary is None or not self.augment:
            return full
        with self._lock:  # a text is augmented for embedding ahead, storing and ranking
            hit = self._aug_cache.hit(full)
        if hit is not None:
            return hit
        labels = []
        for cid in sorted(self.glossary.concepts_in(full)):
            c = self.glossary.concepts[cid]
            labels.append(f"{c.label_zh} {c.label_en}")
        out = full + ("\n" + "; ".join(labels) if labels else "")
        with self._lock:
            return self._aug_cache.keep(full, out)

    def encode(self, docs: Sequence[NeedDoc | CapabilityDoc]) -> list[np.ndarray]:
        """Vectors of ``docs`` (row 0 whole text, then passages) and nothing else: no analysis, nothing indexed."""
        return self._embed_docs(list(docs))

    def _embed_docs(self, docs: Sequence[NeedDoc | CapabilityDoc], query: bool = False) -> list[np.ndarray]:
        if self._pooled:  # the whole-text vector pooled from the segments' token features (see vector_version)
            texts = [_doc_segments(d)[1:] for d in docs]
            return self.embedder.encode_documents(
                [(self._augment(full), [self._augment(p) for p in segs]) for full, segs in texts], MAX_PASSAGES)
        texts: list[str] = []
        spans = []
        for d in docs:
            _, full, pas = _doc_texts(d)
            full = self._augment(full)
            pas = [self._augment(p) for p in pas]
            spans.append((len(texts), 1 + len(pas)))
            texts.append(full)
            texts.extend(pas)
        enc = self.embedder.encode_queries if query else self.embedder.encode_passages
        mat = enc(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        return [np.ascontiguousarray(mat[s:s + k], dtype=np.float32) for s, k in spans]

    def _vector_payload(self, docs, query=False) -> dict[str, Any]:
        vecs = self._embed_docs(docs, query=query)
        return {"model": self.embedder.name, "version": self.vector_version, "dim": int(self.embedder.dim),
                "vectors": {d.id: v for d, v in zip(docs, vecs)},
                "analysis": {d.id: self.analysis_blob(d) for d in docs}}

    @property
    def analysis_version(self) -> str:
        return f"{ANALYSIS_VERSION}+{self.glossary.fingerprint if self.glossary is not None else 'none'}"

    def analysis_blob(self, doc) -> bytes:
        """The document's analysis (tokens, spans, glossary mentions) as compact bytes, to store beside its vectors:
        indexing then needs no tokenising (which is most of the time it takes to load 100,000 capabilities)."""
        toks, info, spans, mentions = self._analyse(doc)
        data = {"v": self.analysis_version, "tf": Counter(toks), "spans": spans, "hits": mentions,
                "concepts": sorted(info.concepts), "rejected": sorted(info.rejected),
                "stance": info.stance.tolist() if info.stance is not None else None, "titled": info.titled}
        return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 3)

    def _from_blob(self, blob) -> tuple | None:
        try:
            data = json.loads(zlib.decompress(blob))
        except (zlib.error, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("v") != self.analysis_version:
            return None
        info = RowInfo(frozenset(data["concepts"]), frozenset(data["rejected"]),
                       np.array(data["stance"], np.int8) if data["stance"] is not None else None, data["titled"])
        return data["tf"], info, [tuple(x) for x in data["spans"]], [tuple(x) for x in data["hits"]]

    def embed_capabilities(self, caps: Sequence[CapabilityDoc]) -> dict[str, Any]:
        """{"model", "version", "dim", "vectors": {cap_id: float32 array (1 + n_passages, dim)}} (batch-encoded)."""
        return self._vector_payload(list(caps))

    def embed_needs(self, needs: Sequence[NeedDoc]) -> dict[str, Any]:
        return self._vector_payload(list(needs))

    # ------------------------------------------------------------------ analysis
    def _analyse(self, doc):
        """BM25 tokens (field-weighted, with @concept tokens), what the ranker keeps of the document, and for
        explanations each token's first occurrence and the glossary mentions: (term, field, start, end). The last
        few documents' analyses are kept (read, never changed): a filed document is analysed for storing and again
        as a query."""
        key = (type(doc).__name__, *_doc_texts(doc)[0].values())
        with self._lock:
            hit = self._an_cache.hit(key)
        if hit is not None:
            return hit
        out = self._analyse_text(doc)
        with self._lock:
            return self._an_cache.keep(key, out)

    def _analyse_text(self, doc):
        fields, _, pas = _doc_texts(doc)
        toks: list[str] = []
        concepts: set[str] = set()
        spans: dict[str, tuple[str, str, int, int]] = {}
        mentions: list[tuple[str, str, int, int]] = []
        for name, text in fields.items():
            words = tokenize_with_spans(text)
            t = [x.term for x in words]
            for x in words:
                if x.term not in spans:
                    spans[x.term] = (x.term, name, x.start, x.end)
            if self.glossary is not None:
                hits = self.glossary.find(text)
                mentions.extend((h.concept_id, name, h.start, h.end) for h in hits)
                cs = {h.concept_id for h in hits}
                concepts |= cs
                t = t + [CONCEPT_TOKEN + c for c in sorted(cs)]
            toks.extend(t * FIELD_WEIGHTS.get(name, 1))
        info = RowInfo(frozenset(concepts))
        if isinstance(doc, NeedDoc):
            codes = {"neutral": 0, "want": 1, "status_quo": 2}
            st = [codes[sentence_stance(p, is_title=(i == 0 and bool(doc.title.strip())))] for i, p in enumerate(pas)]
            info.stance = np.array(st, dtype=np.int8)
            info.titled = bool((doc.title or "").strip())
            if self.glossary is not None and 2 in st:
                pos, neg = set(), set()
                for p, c in zip(pas, st):
                    (neg if c == 2 else pos).update(self.glossary.concepts_in(p))
                info.rejected = frozenset(neg - pos)
        return toks, info, list(spans.values()), mentions

    @staticmethod
    def _analysis(doc, passage_vecs: np.ndarray, concepts: frozenset[str], spans, mentions) -> Analysis:
        """What explanations quote, from the kept spans (no re-tokenising)."""
        fields = _doc_texts(doc)[0]
        first = {t: (f, fields[f][a:b]) for t, f, a, b in spans}
        hits: dict[str, list[ConceptHit]] = {f: [] for f in fields}
        for c, f, a, b in mentions:
            hits[f].append(ConceptHit(c, fields[f][a:b], a, b))
        return Analysis(doc, _doc_texts(doc)[2], passage_vecs, hits, first, concepts)

    def _row_analysis(self, store: DocStore, view: StoreView, row: int) -> Analysis:
        """An indexed document's analysis for explanations; the last few are kept per store generation (a batch of
        new capabilities is each explained against the same open needs)."""
        key = (store.kind, store.generation, row)
        with self._lock:
            a = self._acache.hit(key)
        if a is not None:
            return a
        vecs, _ = view.passage_rows(np.array([row]))
        a = self._analysis(store.docs[row], vecs, store.info[row].concepts, store.row_spans(row), store.row_hits(row))
        with self._lock:
            return self._acache.keep(key, a)

    # ------------------------------------------------------------------ indexing
    def _check_vectors(self, docs, vectors) -> list[np.ndarray | None]:
        if vectors is None:
            return [None] * len(docs)
        if isinstance(vectors, Mapping) and "vectors" in vectors:
            if vectors.get("model") != self.embedder.name or vectors.get("version") != self.vector_version:
                return [None] * len(docs)
            vectors = vectors["vectors"]
        out = []
        for d in docs:
            v = vectors.get(d.id) if isinstance(vectors, Mapping) else None
            if v is not None:
                v = np.asarray(v, dtype=np.float32).reshape(-1, self.embedder.dim)
                if len(v) != 1 + len(self.passages_of(d)):
                    v = None  # text changed since the vectors were computed
            out.append(v)
        return out

    def _upsert(self, side: str, docs, vectors):
        docs = list(docs)
        given = self._check_vectors(docs, vectors)
        missing = [d for d, v in zip(docs, given) if v is None]
        if missing:
            computed = iter(self._embed_docs(missing))
            given = [v if v is not None else next(computed) for v in given]
        blobs = (vectors.get("analysis") or {}) if isinstance(vectors, Mapping) else {}
        analysed = []
        for d in docs:
            a = self._from_blob(blobs[d.id]) if blobs.get(d.id) else None
            analysed.append(a or self._analyse(d))
        with self._lock:
            store = self._caps if side == "capability" else self._needs
            for d, v, (toks, info, spans, mentions) in zip(docs, given, analysed):
                store.add(d, v, toks, info, spans, mentions)
            self._maybe_compact(side)

    def _maybe_compact(self, side: str) -> None:
        store = self._caps if side == "capability" else self._needs
        if store.needs_compaction():
            new = store.compacted()
            if side == "capability":
                self._caps = new
            else:
                self._needs = new

    def upsert_capabilities(self, caps: Iterable[CapabilityDoc], vectors=None) -> None:
        """Add or replace capabilities. ``vectors``: the dict from ``embed_capabilities`` (or {id: array}); entries
        that are missing, from another model/version, or of the wrong shape are recomputed in one batch."""
        self._upsert("capability", caps, vectors)

    def upsert_needs(self, needs: Iterable[NeedDoc], vectors=None) -> None:
        self._upsert("need", needs, vectors)

    def remove_capability(self, cap_id: str) -> bool:
        with self._lock:
            found = self._caps.remove(cap_id)
            self._maybe_compact("capability")
            return found

    def remove_need(self, need_id: str) -> bool:
        with self._lock:
            found = self._needs.remove(need_id)
            self._maybe_compact("need")
            return found

    def trim(self) -> None:
        """Release spare array capacity (call after loading many documents)."""
        with self._lock:
            self._caps.trim()
            self._needs.trim()

    def capability_ids(self) -> list[str]:
        with self._lock:
            return list(self._caps.pos)

    def need_ids(self) -> list[str]:
        with self._lock:
            return list(self._needs.pos)

    def __len__(self) -> int:
        return len(self._caps)

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the arrays of each side (vectors, term frequencies, attributes)."""
        out = {}
        for name, s in (("capabilities", self._caps), ("needs", self._needs)):
            arrays = [s.doc_vec, s.pas_vec, s.pas_start, s.pas_len, s.live, s.bm25.tf.data, s.bm25.tf.indices,
                      s.bm25.tf.rowid, s.bm25.tf.indptr, s.concepts.csr.data, s.concepts.csr.indices]
            out[name] = int(sum(a.nbytes for a in arrays))
        return out

    # ------------------------------------------------------------------ querying
    def _query(self, doc) -> _Query:
        _, full, pas = _doc_texts(doc)
        key = hashlib.sha1(("\x00".join([type(doc).__name__, full, *pas])).encode("utf-8")).hexdigest()
        with self._lock:
            q = self._qcache.hit(key)
        if q is not None:  # same texts; the structured fields may differ
            return _Query(doc, q.vecs, q.tokens, q.info, replace(q.analysis, doc=doc))
        vecs = self._embed_docs([doc], query=True)[0]
        toks, info, spans, mentions = self._analyse(doc)
        q = _Query(doc, vecs, toks, info, self._analysis(doc, vecs[1:] if len(vecs) > 1 else vecs[:1],
                                                          info.concepts, spans, mentions))
        with self._lock:
            return self._qcache.keep(key, q)

    def embed_query(self, doc: NeedDoc | CapabilityDoc) -> np.ndarray:
        """Embed (and cache) a query document; later ``rank`` calls with the same text reuse it."""
        return self._query(doc).vecs

    def rank(self, need: NeedDoc, k: int = 20, filters: Filters = NO_FILTERS, explain: bool = True,
             candidates: Collection[str] | None = None) -> list[Match]:
        """Rank indexed capabilities for ``need`` (best first). ``explain=False`` leaves explanations empty (faster).
        ``candidates``: score only these capability ids (corpus statistics still come from the whole index)."""
        q = self._query(need)
        with self._lock:
            store = self._caps
            key = (repr(need), k, repr(filters), explain, None if candidates is None else tuple(sorted(candidates)),
                   id(store), store.generation)
            hit = self._rcache.hit(key)
            if hit is not None:  # nothing indexed has changed since this very ranking
                self.last_stats = {"cached": True}
                return [replace(m) for m in hit]
            v = store.view()
            if not len(store.pos):
                return []
            keep = v.live
            conds = _vector_conditions(need, store, v.n)
            keep &= self._capability_mask(store, v.n, filters, conds)
            if candidates is not None:
                cm = np.zeros(v.n, bool)
                cm[[store.pos[c] for c in candidates if c in store.pos]] = True
                keep &= cm
            rows = np.flatnonzero(keep)
            if not len(rows):
                return []
            sig = self._first_stage(q, store, v, rows, conds)
            scored = self._second_stage(q, v, rows, sig, k, filters.min_score)
        out = self._matches(q, store, v, rows, sig, scored, k, explain, need_is_query=True)
        with self._lock:
            self._rcache.keep(key, out)
        return [replace(m) for m in out]

    def _first_stage(self, q, store: DocStore, v: StoreView, rows: np.ndarray, conds):
        n = v.n
        dense = (v.doc_vec[rows] @ q.vecs[0]) if len(rows) * 4 < n else (v.doc_vec @ q.vecs[0])[rows]
        lex = _lexical(store.bm25, self._lexical_query(q), n)[rows]
        if self.lexical_language_centring:
            lex = _centre_by_language(lex, store.lang.codes[rows])
        sig = {"dense": np.clip(dense, 0, 1).astype(np.float32),
               "lexical": lex,
               "concept": _coverage_vec(q.info.positive_concepts, store, n)[rows],
               "structured": _struct_score_vec(conds, n)[rows]}
        return sig

    def _second_stage(self, q, v: StoreView, rows: np.ndarray, sig: dict[str, np.ndarray], k: int,
                      min_score: float | None) -> np.ndarray:
        """Adds ``passage`` and ``status_quo`` to ``sig`` (NaN where not computed); returns the final scores
        (-inf where not computed)."""
        w = self.weights
        s1 = linear_fusion(sig, w)
        deferred = ("passage", "status_quo")
        slack = sum(max(float(w.get(s, 0.0)), 0.0) for s in deferred)  # the most they can add to a score
        m = len(rows)
        depth = m if self.rerank_depth is None else min(m, max(self.rerank_depth, 4 * k))
        passage = np.full(m, np.nan, np.float32)
        sq = np.full(m, np.nan, np.float32)
        final = np.full(m, -np.inf, np.float32)
        computed = np.zeros(m, bool)
        qs = q.vecs[1:] if len(q.vecs) > 1 else q.vecs[:1]
        rounds = 0
        while True:
            chosen = np.argpartition(-s1, depth - 1)[:depth] if depth < m else np.arange(m)  # best `depth` by s1
            new = chosen[~computed[chosen]]
            for c in range(0, len(new), 2048):  # in chunks: a few MB of float32 at a time, not hundreds
                part = new[c:c + 2048]
                pv, off = v.passage_rows(rows[part])
                best = np.maximum.reduceat(qs @ pv.T, off, axis=1)  # (sentences, len(part)): best passage each
                p, r = _stance_scores(best, q.info.stance, q.info.titled)
                passage[part], sq[part] = np.clip(p, 0, 1), r
            final[new] = s1[new] + w.get("passage", 0.0) * passage[new] + w.get("status_quo", 0.0) * sq[new]
            computed[new] = True
            rounds += 1
            if depth >= m:
                break
            top = final[chosen]
            kth = float(np.partition(top, len(top) - k)[len(top) - k]) if len(top) >= k else -np.inf
            if min_score is not None:
                kth = max(kth, float(min_score))
            if float(s1[~computed].max()) + slack < kth:  # no capability left out can reach the k-th score
                break
            depth = min(m, depth * 2)
        done = int(computed.sum())
        sig["passage"], sig["status_quo"] = passage, sq
        self.last_stats = {"rows": m, "reranked": done, "rounds": rounds}
        if min_score is not None:
            final = np.where(final >= min_score, final, -np.inf)
        return final

    def _matches(self, q, store: DocStore, v: StoreView, rows, sig, final, k, explain, need_is_query) -> list[Match]:
        ok = np.isfinite(final)
        kk = min(k, int(ok.sum()))
        if kk <= 0:
            return []
        cand = np.flatnonzero(ok)
        top = cand[np.lexsort((rows[cand], -final[cand]))][:kk]
        out = []
        n_live = max(len(store.pos), 1)
        pool = self._pool_stats(sig)
        best = float(final[top[0]])
        for rank, i in enumerate(top, start=1):
            row = int(rows[i])
            s = {name: float(x[i]) for name, x in sig.items()}
            need_c, cap_c = ((q.info.positive_concepts, store.info[row].concepts) if need_is_query
                             else (store.info[row].positive_concepts, q.info.concepts))
            feats = self._features(s, float(final[i]), best, pool, need_c, cap_c, store)
            expl: dict[str, Any] = {}
            if explain:
                q_an = q.analysis
                r_an = self._row_analysis(store, v, row)
                need_a, cap_a = (q_an, r_an) if need_is_query else (r_an, q_an)
                expl = explain_pair(need_a, cap_a, s, self.weights, self.glossary, store.concept_idf,
                                    lambda t: store.token_df(t) / n_live,
                                    {"name": self.embedder.name, "version": self.embedder.version})
            m = Match(score=float(final[i]), signals=s, explanation=expl, rank=rank, features=feats)
            if self.calibrator is not None:
                m.confidence = round(self.calibrator.predict(feats), 4)
                m.band = band_of(m.confidence, self.band_strong, self.band_possible)
            if need_is_query:
                m.capability_id = v.ids[row]
            else:
                m.need_id = v.ids[row]
            out.append(m)
        return out

    def _lexical_query(self, q) -> list[str]:
        """The query's BM25 terms (without generic words and generic concepts unless ``generic_lexical``)."""
        if self.generic_lexical:
            return q.tokens
        return [t for t in q.tokens if not (is_generic_term(t) or (t.startswith(CONCEPT_TOKEN)
                                                                    and t[1:] in GENERIC_CONCEPTS))]

    def _pool_stats(self, sig: dict[str, np.ndarray]) -> tuple[float, float]:
        """Median and standard deviation of the first-stage fused score (every signal but the sentence-level ones,
        known for every candidate) over the candidate pool: a real fit stands out of its pool, a best-of-nothing
        does not."""
        first = {k: v for k, v in sig.items() if k not in ("passage", "status_quo")}
        s1 = linear_fusion(first, self.weights)
        if not len(s1):
            return 0.0, 0.0
        return float(np.median(s1)), float(s1.std())

    def _features(self, s: dict[str, float], score: float, best: float, pool: tuple[float, float], need_c, cap_c,
                  store: DocStore) -> dict[str, float]:
        """What the calibrated confidence is computed from (``calibration.FEATURES``)."""
        first = sum(float(self.weights.get(k, 0.0)) * v for k, v in s.items()
                    if k not in ("passage", "status_quo") and np.isfinite(v))
        med, sd = pool
        feats = {k: (v if np.isfinite(v) else 0.0) for k, v in s.items() if k != "status_quo"}
        feats.update(score=score, margin=first - med, score_z=(first - med) / max(sd, 1e-3), top_gap=score - best,
                     concept_specific=_coverage_one(need_c - GENERIC_CONCEPTS, cap_c - GENERIC_CONCEPTS, store))
        return {k: round(float(v), 5) for k, v in feats.items()}

    def _capability_mask(self, store: DocStore, n: int, f: Filters, conds) -> np.ndarray:
        keep = np.ones(n, dtype=bool)
        if f.exclude_ids:
            keep[[store.pos[i] for i in f.exclude_ids if i in store.pos]] = False
        if f.partner_types:
            keep &= store.org.isin(n, f.partner_types)
        if f.regions:
            keep &= store.region.isin(n, expand_regions(f.regions))
        if f.stages:
            keep &= store.stages.count(f.stages)[:n] > 0
        if f.hard_structured:
            for name in ("partner_type", "region"):
                x = conds.get(name)
                if x is not None:
                    keep &= x > 0
            x = conds.get("certifications")
            if x is not None:
                keep &= x >= 1.0
        return keep

    def rank_needs(self, capability: CapabilityDoc, k: int = 20, filters: Filters = NO_FILTERS,
                   explain: bool = True) -> list[Match]:
        """Rank indexed (open) needs for ``capability`` (best first). Needs are few (one per clinical problem of a
        hospital department), so each is scored in full, need by need."""
        q = self._query(capability)
        with self._lock:
            store = self._needs
            v = store.view()
            keep = v.live
            for r in np.flatnonzero(keep):
                nd: NeedDoc = store.docs[r]
                f = filters
                if (f.exclude_ids and nd.id in f.exclude_ids) \
                        or (f.partner_types and nd.partner_types and not set(nd.partner_types) & set(f.partner_types)) \
                        or (f.regions and nd.regions and not expand_regions(nd.regions) & expand_regions(f.regions)) \
                        or (f.stages and nd.stages and not set(nd.stages) & set(f.stages)) \
                        or (f.hard_structured and hard_failures(conditions(nd, capability))):
                    keep[r] = False
            rows = np.flatnonzero(keep)
            if not len(rows):
                return []
            cp = q.vecs[1:] if len(q.vecs) > 1 else q.vecs[:1]
            m = len(rows)
            passage, sq, concept, struct = (np.zeros(m, np.float32) for _ in range(4))
            pv, off = v.passage_rows(rows)
            best_all = (pv @ cp.T).max(1).tolist()  # best capability passage for every need sentence
            ends = [*off[1:].tolist(), len(pv)]
            for i, r in enumerate(rows):
                info = store.info[r]
                passage[i], sq[i] = _stance_one(best_all[off[i]:ends[i]], info.stance, info.titled)
                concept[i] = _coverage_one(info.positive_concepts, q.info.concepts, store)
                struct[i] = structured_score(conditions(store.docs[r], capability))
            lex = _lexical(store.bm25, self._lexical_query(q), v.n)[rows]
            if self.lexical_language_centring:
                lex = _centre_by_language(lex, store.lang.codes[rows])
            sig = {"dense": np.clip(v.doc_vec[rows] @ q.vecs[0], 0, 1).astype(np.float32),
                   "passage": np.clip(passage, 0, 1), "lexical": lex,
                   "concept": concept, "status_quo": sq, "structured": struct}
            final = linear_fusion(sig, self.weights)
            if filters.min_score is not None:
                final = np.where(final >= filters.min_score, final, -np.inf)
        return self._matches(q, store, v, rows, sig, final, k, explain, need_is_query=False)


@dataclass
class _Query:
    doc: Any
    vecs: np.ndarray
    tokens: list[str]
    info: RowInfo
    analysis: Analysis


def _vector_conditions(need: NeedDoc, st: DocStore, n: int) -> dict[str, np.ndarray | None]:
    """Vectorised ``structured.conditions`` for one need against all indexed capabilities (NaN = not applicable)."""
    out: dict[str, np.ndarray | None] = {}
    out["partner_type"] = st.org.isin(n, need.partner_types).astype(np.float32) if need.partner_types else None
    want = set(need.stages)
    out["stages"] = (st.stages.count(want)[:n] / len(want)).astype(np.float32) if want else None
    regs = expand_regions(need.regions)
    out["region"] = st.region.isin(n, regs).astype(np.float32) if regs else None
    if need.tracks:
        x = (st.tracks.count(set(need.tracks))[:n] > 0).astype(np.float32)
        x[~st.has_tracks[:n]] = np.nan
        out["tracks"] = x
    else:
        out["tracks"] = None
    req = {x.lower() for x in need.required_certifications}
    out["certifications"] = (st.certs.count(req)[:n] / len(req)).astype(np.float32) if req else None
    return out


def _struct_score_vec(conds: dict[str, np.ndarray | None], n: int) -> np.ndarray:
    tot = np.zeros(n, np.float32)
    cnt = np.zeros(n, np.float32)
    for v in conds.values():
        if v is None:
            continue
        ok = ~np.isnan(v)
        tot[ok] += v[ok]
        cnt[ok] += 1
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.5).astype(np.float32)


def _lexical(bm25, tokens: list[str], n: int) -> np.ndarray:
    """BM25 divided by its upper bound (sum of idf of the query's distinct terms), square-rooted: 0..1, comparable
    across queries and pools (unlike max-normalisation, a weak best match stays weak)."""
    raw = bm25.scores(tokens)[:n]
    ub = bm25.idf_mass(tokens)
    return np.sqrt(np.clip(raw / ub, 0, 1)).astype(np.float32) if ub > 0 else np.zeros(n, np.float32)


LANGUAGE_SHRINK = 5  # a language group's own mean counts as much as this many candidates at the pool's mean


def _centre_by_language(lex: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-language centring of the lexical signal within a candidate pool: each language group is shifted so that
    its mean equals the pool's, so that same-language noise (shared generic words) does not lift every candidate in
    the query's language over the other language's (a monolingual pool is left as it is). The group mean is shrunk
    towards the pool's for small groups (a relevant document in a group of two must not pull its group down)."""
    if len(lex) == 0:
        return lex
    groups = np.unique(codes)
    if len(groups) < 2:
        return lex
    overall = float(lex.mean())
    out = lex.astype(np.float32, copy=True)
    for g in groups:
        m = codes == g
        k = int(m.sum())
        mean_g = (k * float(lex[m].mean()) + LANGUAGE_SHRINK * overall) / (k + LANGUAGE_SHRINK)
        out[m] = lex[m] - mean_g + overall
    return np.clip(out, 0, 1)


def _stance_scores(best: np.ndarray, stance: np.ndarray | None,
                   titled: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """best: (m, N) best-passage similarity of each need sentence (row 0 = the title when ``titled``).
    Returns (passage, status_quo):
    passage = TITLE_SHARE x the title's best match + the rest x the mean over the other sentences (plain mean when the
    need has no title or only one passage; restricting it to non-status-quo sentences did not help on dev);
    status_quo = how much better the candidate matches the status-quo sentences than the sentences saying what is
    wanted: max(0, max_sq - max_want) (reported, weight 0 by default: it did not help on dev)."""
    m = best.shape[0]
    if titled and m > 1:  # the title summarises the need: it weighs as much as all the other sentences together
        passage = TITLE_SHARE * best[0] + (1.0 - TITLE_SHARE) * best[1:].mean(0)
    else:
        passage = best.mean(0)
    if stance is None or len(stance) != m:
        return passage, np.zeros(best.shape[1], np.float32)
    pos = stance != 2
    if (stance == 2).any():
        want = stance == 1 if (stance == 1).any() else pos
        sq = np.maximum(0.0, best[stance == 2].max(0) - best[want].max(0)) if want.any() else best[stance == 2].max(0) * 0
    else:
        sq = np.zeros(best.shape[1], np.float32)
    return passage, sq


def _stance_one(best: list[float], stance: np.ndarray | None, titled: bool) -> tuple[float, float]:
    """``_stance_scores`` for one need and one candidate, in plain Python (ranking needs for a capability calls it
    once per need, where numpy's per-call cost on a handful of sentences outweighed the arithmetic)."""
    m = len(best)
    passage = (TITLE_SHARE * best[0] + (1.0 - TITLE_SHARE) * sum(best[1:]) / (m - 1)) if titled and m > 1 \
        else sum(best) / m
    if stance is None or len(stance) != m or 2 not in stance:
        return passage, 0.0
    st = stance.tolist()
    want = [b for b, c in zip(best, st) if c == 1] or [b for b, c in zip(best, st) if c != 2]
    if not want:
        return passage, 0.0
    return passage, max(0.0, max(b for b, c in zip(best, st) if c == 2) - max(want))


def _coverage_vec(concepts, st: DocStore, n: int) -> np.ndarray:
    """IDF-weighted Dice overlap of concepts for every capability: F1 of recall (share of the need's non-rejected
    concepts the capability names) and precision (share of the capability's concepts the need names)."""
    present = {c: st.concept_idf(c) for c in concepts if c in st.concepts.vocab}
    if not present:
        return np.zeros(n, np.float32)
    shared = st.concepts.count_cols(present)[:n]
    rec = shared / float(sum(st.concept_idf(c) for c in concepts) or 1.0)
    cap_mass = st.concept_mass()[:n]
    prec = shared / np.maximum(cap_mass, 1e-9)
    return np.where(shared > 0, 2 * rec * prec / np.maximum(rec + prec, 1e-9), 0.0).astype(np.float32)


def _coverage_one(need_concepts, cap_concepts, st: DocStore) -> float:
    """Same as ``_coverage_vec`` for one (need, capability) pair (used when ranking needs for a capability)."""
    if not need_concepts or not cap_concepts:
        return 0.0
    shared = sum(st.concept_idf(c) for c in need_concepts & cap_concepts)
    if shared <= 0:
        return 0.0
    rec = shared / (sum(st.concept_idf(c) for c in need_concepts) or 1.0)
    prec = shared / (sum(st.concept_idf(c) for c in cap_concepts) or 1.0)
    return 2 * rec * prec / (rec + prec)
