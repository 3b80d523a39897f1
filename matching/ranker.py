"""Matcher: the library's entry point. It embeds documents (their texts augmented by the ``analyser``), keeps them
in the ``index`` and ranks along one path in two directions: a need's capabilities (``rank``) and a capability's
open needs (``rank_needs``), with per-signal scores, explanations and a calibrated confidence."""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from .analyser import CONCEPT_TOKEN, MAX_PASSAGES, Analyser, doc_segments, doc_texts, explanation_analysis
from .cache import LRU
from .calibration import DEFAULT_BAND_POSSIBLE, DEFAULT_BAND_STRONG, Calibrator, band_of, load_calibrator
from .docs import NO_FILTERS, CapabilityDoc, Filters, Match, NeedDoc
from .embedding import Embedder
from .explain import Analysis, explain_pair
from .fusion import DEFAULT_WEIGHTS, linear_fusion
from .generic import GENERIC_CONCEPTS, is_generic_term
from .glossary import Glossary, load_glossary
from .index import SIDES, Index
from .signals import (
    coverage_one,
    coverage_vec,
    lexical_scores,
    stance_one,
    stance_scores,
    standardise_by_language,
    struct_score_vec,
    vector_conditions,
)
from .store import DocStore, RowInfo, StoreView
from .structured import conditions, expand_regions, hard_failures, structured_score
from .text import add_zh_words

__all__ = ["Matcher"]


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
                 band_possible: float = DEFAULT_BAND_POSSIBLE, lexical_language_norm: bool = True,
                 generic_lexical: bool = False):
        self.embedder = embedder
        self.lexical_language_norm = lexical_language_norm
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
        self.analyser = Analyser(self.glossary, augment)
        self.augment = self.analyser.augments
        self.rerank_depth = rerank_depth
        self.index = Index(embedder.dim)
        self._queries: LRU[_Query] = LRU(query_cache_size)  # hash of the query's texts -> _Query
        # rankings, one cache per direction, valid while the ranked store is unchanged (its identity and generation):
        # a matches page read again costs a look-up; any indexed change on that side invalidates them all
        self._rankings: dict[str, LRU[list[Match]]] = {side: LRU(rank_cache_size) for side in SIDES}
        self._row_analyses: LRU[Analysis] = LRU(512)  # (store kind, generation, row) -> Analysis
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
        return doc_texts(doc)[2]

    def encode(self, docs: Sequence[NeedDoc | CapabilityDoc]) -> list[np.ndarray]:
        """Vectors of ``docs`` (row 0 whole text, then passages) and nothing else: no analysis, nothing indexed."""
        return self._embed_docs(list(docs))

    def _embed_docs(self, docs: Sequence[NeedDoc | CapabilityDoc], query: bool = False) -> list[np.ndarray]:
        augment = self.analyser.augment
        if self._pooled:  # the whole-text vector pooled from the segments' token features (see vector_version)
            texts = [doc_segments(d)[1:] for d in docs]
            return self.embedder.encode_documents(
                [(augment(full), [augment(p) for p in segs]) for full, segs in texts], MAX_PASSAGES)
        texts: list[str] = []
        spans = []
        for d in docs:
            _, full, pas = doc_texts(d)
            full = augment(full)
            pas = [augment(p) for p in pas]
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
                "analysis": {d.id: self.analyser.blob(d) for d in docs}}

    @property
    def analysis_version(self) -> str:
        return self.analyser.version

    def analysis_blob(self, doc) -> bytes:
        """The document's analysis as compact bytes, to store beside its vectors (``Analyser.blob``)."""
        return self.analyser.blob(doc)

    def embed_capabilities(self, caps: Sequence[CapabilityDoc]) -> dict[str, Any]:
        """{"model", "version", "dim", "vectors": {cap_id: float32 array (1 + n_passages, dim)}} (batch-encoded)."""
        return self._vector_payload(list(caps))

    def embed_needs(self, needs: Sequence[NeedDoc]) -> dict[str, Any]:
        return self._vector_payload(list(needs))

    # ------------------------------------------------------------------ indexing (``index``)
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
            a = self.analyser.from_blob(blobs[d.id]) if blobs.get(d.id) else None
            analysed.append(a or self.analyser.analyse(d))
        self.index.add(side, docs, given, analysed)

    def upsert_capabilities(self, caps: Iterable[CapabilityDoc], vectors=None) -> None:
        """Add or replace capabilities. ``vectors``: the dict from ``embed_capabilities`` (or {id: array}); entries
        that are missing, from another model/version, or of the wrong shape are recomputed in one batch."""
        self._upsert("capability", caps, vectors)

    def upsert_needs(self, needs: Iterable[NeedDoc], vectors=None) -> None:
        self._upsert("need", needs, vectors)

    def remove_capability(self, cap_id: str) -> bool:
        return self.index.archive("capability", cap_id)

    def remove_need(self, need_id: str) -> bool:
        return self.index.archive("need", need_id)

    def trim(self) -> None:
        """Release spare array capacity (call after loading many documents)."""
        self.index.trim()

    def capability_ids(self) -> list[str]:
        return self.index.ids("capability")

    def need_ids(self) -> list[str]:
        return self.index.ids("need")

    def __len__(self) -> int:
        return len(self.index)

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the arrays of each side (vectors, term frequencies, attributes)."""
        return self.index.memory_bytes()

    # ------------------------------------------------------------------ querying
    def _query(self, doc) -> _Query:
        _, full, pas = doc_texts(doc)
        key = hashlib.sha1(("\x00".join([type(doc).__name__, full, *pas])).encode("utf-8")).hexdigest()
        q = self._queries.get(key)
        if q is not None:  # same texts; the structured fields may differ
            return _Query(doc, q.vecs, q.tokens, q.info, replace(q.analysis, doc=doc))
        vecs = self._embed_docs([doc], query=True)[0]
        toks, info, spans, mentions = self.analyser.analyse(doc)
        q = _Query(doc, vecs, toks, info, explanation_analysis(doc, vecs[1:] if len(vecs) > 1 else vecs[:1],
                                                               info.concepts, spans, mentions))
        return self._queries.put(key, q)

    def embed_query(self, doc: NeedDoc | CapabilityDoc) -> np.ndarray:
        """Embed (and cache) a query document; later ``rank`` calls with the same text reuse it."""
        return self._query(doc).vecs

    def _row_analysis(self, store: DocStore, view: StoreView, row: int) -> Analysis:
        """An indexed document's analysis for explanations; the last few are kept per store generation (a batch of
        new capabilities is each explained against the same open needs)."""
        key = (store.kind, store.generation, row)
        a = self._row_analyses.get(key)
        if a is not None:
            return a
        vecs, _ = view.passage_rows(np.array([row]))
        return self._row_analyses.put(key, explanation_analysis(store.docs[row], vecs, store.info[row].concepts,
                                                                store.row_spans(row), store.row_hits(row)))

    def rank(self, need: NeedDoc, k: int = 20, filters: Filters = NO_FILTERS, explain: bool = True,
             candidates: Collection[str] | None = None) -> list[Match]:
        """Rank indexed capabilities for ``need`` (best first). ``explain=False`` leaves explanations empty (faster).
        ``candidates``: score only these capability ids (corpus statistics still come from the whole index)."""
        return self._rank(need, "capability", k, filters, explain, candidates)

    def rank_needs(self, capability: CapabilityDoc, k: int = 20, filters: Filters = NO_FILTERS,
                   explain: bool = True) -> list[Match]:
        """Rank indexed (open) needs for ``capability`` (best first)."""
        return self._rank(capability, "need", k, filters, explain, None)

    def _rank(self, doc: NeedDoc | CapabilityDoc, side: str, k: int, filters: Filters, explain: bool,
              candidates: Collection[str] | None) -> list[Match]:
        """The one ranking path: ``doc`` is the query, ``side`` the store ranked ("capability": a need's
        capabilities; "need": a capability's open needs). The filters, the cache, the fusion, the calibrated
        confidence and the explanations are shared; only the scoring differs (``_score_capabilities``: two stages
        over many; ``_score_needs``: every need in full, they are few)."""
        q = self._query(doc)
        cache = self._rankings[side]
        with self.index.lock:
            store = self.index.store(side)
            key = (_doc_key(doc), k, _filters_key(filters), explain,
                   None if candidates is None else tuple(sorted(candidates)), id(store), store.generation)
            hit = cache.get(key)
            if hit is not None:  # nothing indexed on that side has changed since this very ranking
                self.last_stats = {"cached": True}
                return [replace(m) for m in hit]
            v = store.view()
            if not len(store.pos):
                return []
            conds = vector_conditions(doc, store, v.n) if side == "capability" else None
            keep = _passes_filters(store, v, filters, doc, conds)
            if candidates is not None:
                cm = np.zeros(v.n, bool)
                cm[[store.pos[c] for c in candidates if c in store.pos]] = True
                keep &= cm
            rows = np.flatnonzero(keep)
            if not len(rows):
                return []
            if side == "capability":
                sig = self._first_stage(q, store, v, rows, conds)
                final = self._second_stage(q, v, rows, sig, k, filters.min_score)
            else:
                sig, final = self._score_needs(q, store, v, rows, doc, filters.min_score)
        out = self._matches(q, store, v, rows, sig, final, k, explain, need_is_query=side == "capability")
        cache.put(key, out)
        return [replace(m) for m in out]

    def _first_stage(self, q, store: DocStore, v: StoreView, rows: np.ndarray, conds):
        n = v.n
        dense = (v.doc_vec[rows] @ q.vecs[0]) if len(rows) * 4 < n else (v.doc_vec @ q.vecs[0])[rows]
        lex = lexical_scores(store.bm25, self._lexical_query(q), n)[rows]
        if self.lexical_language_norm:
            lex = standardise_by_language(lex, store.lang.codes[rows])
        sig = {"dense": np.clip(dense, 0, 1).astype(np.float32),
               "lexical": lex,
               "concept": coverage_vec(q.info.positive_concepts, store, n)[rows],
               "structured": struct_score_vec(conds, n)[rows]}
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
                p, r = stance_scores(best, q.info.stance, q.info.titled)
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

    def _score_needs(self, q, store: DocStore, v: StoreView, rows: np.ndarray, capability: CapabilityDoc,
                     min_score: float | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every signal of every need in ``rows`` for the query capability ``q``, and the fused scores. Needs are few
        (one per clinical problem of a hospital department), so each is scored in full, need by need."""
        cp = q.vecs[1:] if len(q.vecs) > 1 else q.vecs[:1]
        m = len(rows)
        passage, sq, concept, struct = (np.zeros(m, np.float32) for _ in range(4))
        pv, off = v.passage_rows(rows)
        best_all = (pv @ cp.T).max(1).tolist()  # best capability passage for every need sentence
        ends = [*off[1:].tolist(), len(pv)]
        for i, r in enumerate(rows):
            info = store.info[r]
            passage[i], sq[i] = stance_one(best_all[off[i]:ends[i]], info.stance, info.titled)
            concept[i] = coverage_one(info.positive_concepts, q.info.concepts, store)
            struct[i] = structured_score(conditions(store.docs[r], capability))
        lex = lexical_scores(store.bm25, self._lexical_query(q), v.n)[rows]
        if self.lexical_language_norm:
            lex = standardise_by_language(lex, store.lang.codes[rows])
        sig = {"dense": np.clip(v.doc_vec[rows] @ q.vecs[0], 0, 1).astype(np.float32),
               "passage": np.clip(passage, 0, 1), "lexical": lex,
               "concept": concept, "status_quo": sq, "structured": struct}
        final = linear_fusion(sig, self.weights)
        self.last_stats = {"rows": m, "reranked": m, "rounds": 1}
        if min_score is not None:
            final = np.where(final >= min_score, final, -np.inf)
        return sig, final

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
                     concept_specific=coverage_one(need_c - GENERIC_CONCEPTS, cap_c - GENERIC_CONCEPTS, store))
        return {k: round(float(v), 5) for k, v in feats.items()}


@dataclass
class _Query:
    doc: Any
    vecs: np.ndarray
    tokens: list[str]
    info: RowInfo
    analysis: Analysis


def _doc_key(doc: NeedDoc | CapabilityDoc) -> tuple:
    """A query document as a cache key: its type and every field it declares (lists as tuples)."""
    return (type(doc).__name__, *(_hashable(getattr(doc, f.name)) for f in fields(doc)))


def _filters_key(f: Filters) -> tuple:
    """Filters as a cache key: the sets as frozensets (a list or a set asks the same), the rest as they are."""
    sets = (f.partner_types, f.regions, f.stages)
    return (*(frozenset(s) if s else None for s in sets), f.min_score, f.hard_structured, frozenset(f.exclude_ids))


def _hashable(x):
    return tuple(x) if isinstance(x, list) else x


def _passes_filters(store: DocStore, v: StoreView, f: Filters, query: NeedDoc | CapabilityDoc,
                    conds: dict[str, np.ndarray | None] | None) -> np.ndarray:
    """The live rows of ``store`` that pass the filters, in both directions: ``exclude_ids``; the partner types,
    regions and stages the caller asks for (on the candidate side: a capability must offer one of them, while a need
    that names none is open to any); and with ``hard_structured`` the need's own partner-type, region and
    certification requirements (``conds``: the need's conditions against every capability; for a need ranked for a
    capability, its ``structured.hard_failures``)."""
    n = v.n
    keep = v.live
    if f.exclude_ids:
        keep[[store.pos[i] for i in f.exclude_ids if i in store.pos]] = False
    if store.kind == "capability":
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
    for r in np.flatnonzero(keep):
        nd: NeedDoc = store.docs[r]
        if (f.partner_types and nd.partner_types and not set(nd.partner_types) & set(f.partner_types)) \
                or (f.regions and nd.regions and not expand_regions(nd.regions) & expand_regions(f.regions)) \
                or (f.stages and nd.stages and not set(nd.stages) & set(f.stages)) \
                or (f.hard_structured and hard_failures(conditions(nd, query))):
            keep[r] = False
    return keep
