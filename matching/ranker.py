"""Matcher: index capabilities (and open needs), rank in both directions with per-signal scores and explanations."""
from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .docs import CapabilityDoc, Filters, Match, NeedDoc
from .embedding import Embedder
from .fusion import DEFAULT_WEIGHTS, contributions, linear_fusion, max_normalize
from .glossary import ConceptHit, Glossary, load_glossary
from .lexical import BM25Index, FIELD_WEIGHTS
from .stance import sentence_stance
from .structured import CONDITION_LABELS, conditions, expand_regions, hard_failures, structured_score
from .text import add_zh_words, split_sentences, tokenize, tokenize_with_spans

__all__ = ["Matcher", "need_fields", "capability_fields", "MAX_PASSAGES"]

MAX_PASSAGES = 16  # title + up to 15 sentences per document
TITLE_SHARE = 0.5  # passage signal: the need's title weighs as much as its other sentences together
CONCEPT_TOKEN = "@"


def need_fields(n: NeedDoc) -> dict[str, str]:
    return {"title": n.title or "", "description": n.description or "", "extra": n.extra_text or ""}


def capability_fields(c: CapabilityDoc) -> dict[str, str]:
    return {"title": c.title or "", "description": c.description or "", "org": c.org_name or ""}


def _full_text(fields: Mapping[str, str], keys=("title", "description", "extra")) -> str:
    return "\n".join(fields[k] for k in keys if fields.get(k))


def _passages(fields: Mapping[str, str], keys=("title", "description", "extra")) -> list[str]:
    out: list[str] = []
    for k in keys:
        t = fields.get(k) or ""
        if not t.strip():
            continue
        out.extend([t.strip()] if k == "title" else split_sentences(t))
    return out[:MAX_PASSAGES] or [" "]


def _doc_texts(doc) -> tuple[dict[str, str], str, list[str]]:
    if isinstance(doc, NeedDoc):
        f = need_fields(doc)
        return f, _full_text(f), _passages(f)
    f = capability_fields(doc)
    return f, _full_text(f, ("title", "description")), _passages(f, ("title", "description"))


@dataclass
class _Entry:
    doc: Any
    fields: dict[str, str]
    tokens: list[str]
    hits: dict[str, list[ConceptHit]]  # field -> hits
    first_span: dict[str, tuple[str, str]]  # token -> (field, original text of its first occurrence)
    concepts: frozenset[str]
    vecs: np.ndarray  # (1 + n_passages, dim): row 0 whole text, then passages
    stance: np.ndarray | None = None  # per passage (needs only): 0 neutral, 1 want, 2 status quo
    rejected: frozenset[str] = frozenset()  # concepts named only in status-quo sentences (needs only)
    titled: bool = False  # needs only: passage 0 is the title

    @property
    def positive_concepts(self) -> frozenset[str]:
        return self.concepts - self.rejected


@dataclass
class _Snapshot:
    ids: list[str]
    entries: list[_Entry]
    doc_mat: np.ndarray
    pas_mat: np.ndarray
    pas_start: np.ndarray
    bm25: BM25Index
    concept_index: dict[str, int]
    concept_mat: np.ndarray  # (N, C) float32 0/1
    concept_idf: np.ndarray  # (C,)
    token_df: dict[str, int]
    struct: dict[str, Any] = field(default_factory=dict)


class _Side:
    """Index of one document kind (capabilities or needs)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.entries: "OrderedDict[str, _Entry]" = OrderedDict()
        self.snapshot: _Snapshot | None = None

    def build(self, dim: int) -> _Snapshot:
        if self.snapshot is not None:
            return self.snapshot
        ids = list(self.entries)
        ents = [self.entries[i] for i in ids]
        n = len(ents)
        doc_mat = np.stack([e.vecs[0] for e in ents]).astype(np.float32) if n else np.zeros((0, dim), np.float32)
        pas = [e.vecs[1:] if len(e.vecs) > 1 else e.vecs[:1] for e in ents]
        pas_start = np.zeros(n, dtype=np.int64)
        if n:
            lens = np.array([len(p) for p in pas])
            pas_start[1:] = np.cumsum(lens)[:-1]
            pas_mat = np.concatenate(pas).astype(np.float32)
        else:
            pas_mat = np.zeros((0, dim), np.float32)
        bm = BM25Index().fit([e.tokens for e in ents])
        cidx: dict[str, int] = {}
        for e in ents:
            for c in e.concepts:
                cidx.setdefault(c, len(cidx))
        cm = np.zeros((n, max(len(cidx), 1)), dtype=np.float32)
        for i, e in enumerate(ents):
            for c in e.concepts:
                cm[i, cidx[c]] = 1.0
        df = cm.sum(0)
        idf = np.log1p(n / (1.0 + df)).astype(np.float32) if n else np.zeros(0, np.float32)
        tdf: dict[str, int] = {}
        for e in ents:
            for t in set(e.tokens):
                tdf[t] = tdf.get(t, 0) + 1
        snap = _Snapshot(ids, ents, doc_mat, pas_mat, pas_start, bm, cidx, cm, idf, tdf)
        if self.kind == "capability":
            snap.struct = _struct_arrays([e.doc for e in ents])
        self.snapshot = snap
        return snap


def _struct_arrays(caps: Sequence[CapabilityDoc]) -> dict[str, Any]:
    def vocab_mat(lists):
        voc: dict[str, int] = {}
        for l in lists:
            for x in l:
                voc.setdefault(x, len(voc))
        m = np.zeros((len(lists), max(len(voc), 1)), dtype=bool)
        for i, l in enumerate(lists):
            for x in l:
                m[i, voc[x]] = True
        return voc, m

    sv, sm = vocab_mat([list(c.stages) for c in caps])
    tv, tm = vocab_mat([list(c.tracks) for c in caps])
    cv, cmx = vocab_mat([[x.lower() for x in c.certifications] for c in caps])
    return {
        "org": np.array([c.org_type for c in caps], dtype=object),
        "region": np.array([(c.region or "").strip().lower() for c in caps], dtype=object),
        "stage_voc": sv, "stage_mat": sm, "track_voc": tv, "track_mat": tm, "cert_voc": cv, "cert_mat": cmx,
        "has_tracks": np.array([bool(c.tracks) for c in caps]),
    }


def _vector_conditions(need: NeedDoc, st: dict[str, Any], n: int) -> dict[str, np.ndarray | None]:
    """Vectorised ``structured.conditions`` for one need against all indexed capabilities (NaN = not applicable)."""
    out: dict[str, np.ndarray | None] = {}
    out["partner_type"] = (np.isin(st["org"], list(need.partner_types)).astype(np.float32)
                           if need.partner_types else None)
    if need.stages:
        want = set(need.stages)
        cols = [st["stage_voc"][s] for s in want if s in st["stage_voc"]]
        cnt = st["stage_mat"][:, cols].sum(1) if cols else np.zeros(n)
        out["stages"] = (cnt / len(want)).astype(np.float32)
    else:
        out["stages"] = None
    regs = expand_regions(need.regions)
    out["region"] = np.isin(st["region"], list(regs)).astype(np.float32) if regs else None
    if need.tracks:
        cols = [st["track_voc"][t] for t in set(need.tracks) if t in st["track_voc"]]
        v = (st["track_mat"][:, cols].any(1) if cols else np.zeros(n, bool)).astype(np.float32)
        v[~st["has_tracks"]] = np.nan
        out["tracks"] = v
    else:
        out["tracks"] = None
    req = {x.lower() for x in need.required_certifications}
    if req:
        cols = [st["cert_voc"][x] for x in req if x in st["cert_voc"]]
        cnt = st["cert_mat"][:, cols].sum(1) if cols else np.zeros(n)
        out["certifications"] = (cnt / len(req)).astype(np.float32)
    else:
        out["certifications"] = None
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


class Matcher:
    """Hybrid need <-> capability matcher.

    Signals (each on 0..1): ``dense`` (whole-text embedding cosine), ``passage`` (sentence-level max-sim),
    ``lexical`` (BM25, max-normalised), ``concept`` (glossary concept coverage), ``structured`` (compatibility);
    fused linearly with ``weights`` (default ``fusion.DEFAULT_WEIGHTS``). Thread-safe; all methods are sync.

    ``augment`` (default on): every text that is embedded (whole text and each passage) gets the bilingual labels of
    the glossary concepts it names appended ("房间隔穿刺 transseptal puncture"), which aligns Chinese and English texts
    in the embedding space. Stored vectors therefore depend on the glossary: ``vector_version`` changes with it.
    """

    def __init__(self, embedder: Embedder, glossary: Glossary | None = None, use_glossary: bool = True,
                 weights: Mapping[str, float] | None = None, query_cache_size: int = 256, augment: bool = True):
        self.embedder = embedder
        self.glossary = (glossary or load_glossary()) if use_glossary else None
        if self.glossary is not None:
            add_zh_words(self.glossary.zh_words())
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.augment = augment and self.glossary is not None
        self._lock = threading.RLock()
        self._caps = _Side("capability")
        self._needs = _Side("need")
        self._qcache: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self._qcache_size = query_cache_size

    # ------------------------------------------------------------------ model identity / vectors
    @property
    def model_name(self) -> str:
        return self.embedder.name

    @property
    def model_version(self) -> str:
        return self.embedder.version

    @property
    def vector_version(self) -> str:
        """Embedder version + glossary fingerprint (when augmenting): store it with vectors; recompute when it changes."""
        if not self.augment:
            return self.embedder.version
        return f"{self.embedder.version}+gloss-{self.glossary.fingerprint}"

    def passages_of(self, doc: NeedDoc | CapabilityDoc) -> list[str]:
        """The passage texts whose vectors are rows 1.. of the stored vector matrix (row 0 = whole text)."""
        return _doc_texts(doc)[2]

    def _augment(self, full: str) -> str:
        """Whole text + the bilingual labels of the glossary concepts it names (aligns zh and en texts)."""
        if self.glossary is None or not self.augment:
            return full
        labels = []
        for cid in sorted(self.glossary.concepts_in(full)):
            c = self.glossary.concepts[cid]
            labels.append(f"{c.label_zh} {c.label_en}")
        return full + ("\n" + "; ".join(labels) if labels else "")

    def _embed_docs(self, docs: Sequence[NeedDoc | CapabilityDoc], query: bool = False) -> list[np.ndarray]:
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
                "vectors": {d.id: v for d, v in zip(docs, vecs)}}

    def embed_capabilities(self, caps: Sequence[CapabilityDoc]) -> dict[str, Any]:
        """{"model", "version", "dim", "vectors": {cap_id: float32 array (1 + n_passages, dim)}} (batch-encoded)."""
        return self._vector_payload(list(caps))

    def embed_needs(self, needs: Sequence[NeedDoc]) -> dict[str, Any]:
        return self._vector_payload(list(needs))

    # ------------------------------------------------------------------ indexing
    def _analyse(self, doc, vecs: np.ndarray) -> _Entry:
        fields, _, _ = _doc_texts(doc)
        toks: list[str] = []
        hits: dict[str, list[ConceptHit]] = {}
        concepts: set[str] = set()
        first: dict[str, tuple[str, str]] = {}
        for name, text in fields.items():
            spans = tokenize_with_spans(text)
            t = [x.term for x in spans]
            for x in spans:
                if x.term not in first:
                    first[x.term] = (name, text[x.start:x.end])
            if self.glossary is not None:
                h = self.glossary.find(text)
                hits[name] = h
                cs = {x.concept_id for x in h}
                concepts |= cs
                t = t + [CONCEPT_TOKEN + c for c in sorted(cs)]
            toks.extend(t * FIELD_WEIGHTS.get(name, 1))
        e = _Entry(doc, fields, toks, hits, first, frozenset(concepts), vecs)
        if isinstance(doc, NeedDoc):
            pas = _doc_texts(doc)[2]
            codes = {"neutral": 0, "want": 1, "status_quo": 2}
            st = [codes[sentence_stance(p, is_title=(i == 0 and bool(doc.title.strip())))] for i, p in enumerate(pas)]
            e.stance = np.array(st, dtype=np.int8)
            e.titled = bool((doc.title or "").strip())
            if self.glossary is not None and 2 in st:
                pos, neg = set(), set()
                for p, c in zip(pas, st):
                    (neg if c == 2 else pos).update(self.glossary.concepts_in(p))
                e.rejected = frozenset(neg - pos)
        return e

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

    def _upsert(self, side: _Side, docs, vectors):
        docs = list(docs)
        given = self._check_vectors(docs, vectors)
        missing = [d for d, v in zip(docs, given) if v is None]
        if missing:
            computed = iter(self._embed_docs(missing))
            given = [v if v is not None else next(computed) for v in given]
        entries = [self._analyse(d, v) for d, v in zip(docs, given)]
        with self._lock:
            for d, e in zip(docs, entries):
                side.entries[d.id] = e
            side.snapshot = None

    def upsert_capabilities(self, caps: Iterable[CapabilityDoc], vectors=None) -> None:
        """Add or replace capabilities. ``vectors``: the dict from ``embed_capabilities`` (or {id: array}); entries
        that are missing, from another model/version, or of the wrong shape are recomputed in one batch."""
        self._upsert(self._caps, caps, vectors)

    def upsert_needs(self, needs: Iterable[NeedDoc], vectors=None) -> None:
        self._upsert(self._needs, needs, vectors)

    def remove_capability(self, cap_id: str) -> bool:
        with self._lock:
            found = self._caps.entries.pop(cap_id, None) is not None
            if found:
                self._caps.snapshot = None
            return found

    def remove_need(self, need_id: str) -> bool:
        with self._lock:
            found = self._needs.entries.pop(need_id, None) is not None
            if found:
                self._needs.snapshot = None
            return found

    def capability_ids(self) -> list[str]:
        with self._lock:
            return list(self._caps.entries)

    def need_ids(self) -> list[str]:
        with self._lock:
            return list(self._needs.entries)

    def __len__(self) -> int:
        return len(self._caps.entries)

    # ------------------------------------------------------------------ querying
    def _query_vecs(self, doc) -> np.ndarray:
        _, full, pas = _doc_texts(doc)
        key = hashlib.sha1(("\x00".join([type(doc).__name__, full, *pas])).encode("utf-8")).hexdigest()
        with self._lock:
            v = self._qcache.get(key)
            if v is not None:
                self._qcache.move_to_end(key)
                return v
        v = self._embed_docs([doc], query=True)[0]
        with self._lock:
            self._qcache[key] = v
            while len(self._qcache) > self._qcache_size:
                self._qcache.popitem(last=False)
        return v

    def embed_query(self, doc: NeedDoc | CapabilityDoc) -> np.ndarray:
        """Embed (and cache) a query document; later ``rank`` calls with the same text reuse it."""
        return self._query_vecs(doc)

    def _signals(self, q: _Entry, snap: _Snapshot) -> dict[str, np.ndarray]:
        n = len(snap.ids)
        qv = q.vecs
        dense = snap.doc_mat @ qv[0]
        lexical = _lexical(snap, q.tokens)
        if isinstance(q.doc, NeedDoc):
            qs = qv[1:] if len(qv) > 1 else qv[:1]
            sims = qs @ snap.pas_mat.T  # (m, P)
            best = np.maximum.reduceat(sims, snap.pas_start, axis=1)  # (m, N): best capability passage per sentence
            passage, sq = _stance_scores(best, q.stance, q.titled)
            concept = _coverage_vec(q.positive_concepts, snap)
        else:  # capability -> needs: the same pair definitions, computed need by need
            cp = qv[1:] if len(qv) > 1 else qv[:1]
            passage = np.zeros(n, np.float32)
            sq = np.zeros(n, np.float32)
            concept = np.zeros(n, np.float32)
            for i, e in enumerate(snap.entries):
                nv = e.vecs[1:] if len(e.vecs) > 1 else e.vecs[:1]
                b = (nv @ cp.T).max(1)[:, None]
                p, r = _stance_scores(b, e.stance, e.titled)
                passage[i], sq[i] = p[0], r[0]
                concept[i] = _coverage_one(e.positive_concepts, q.concepts, snap)
        return {"dense": np.clip(dense, 0, 1), "passage": np.clip(passage, 0, 1), "lexical": lexical,
                "concept": concept.astype(np.float32), "status_quo": sq.astype(np.float32)}

    def rank(self, need: NeedDoc, k: int = 20, filters: Filters = Filters(), explain: bool = True) -> list[Match]:
        """Rank indexed capabilities for ``need`` (best first). ``explain=False`` leaves explanations empty (faster)."""
        return self._rank(need, self._caps, k, filters, explain)

    def rank_needs(self, capability: CapabilityDoc, k: int = 20, filters: Filters = Filters(),
                   explain: bool = True) -> list[Match]:
        """Rank indexed (open) needs for ``capability`` (best first)."""
        return self._rank(capability, self._needs, k, filters, explain)

    def _rank(self, query_doc, side: _Side, k: int, filters: Filters, explain: bool = True) -> list[Match]:
        qvecs = self._query_vecs(query_doc)
        q = self._analyse(query_doc, qvecs)
        with self._lock:
            snap = side.build(self.embedder.dim)
        n = len(snap.ids)
        if n == 0:
            return []
        sig = self._signals(q, snap)
        need_is_query = isinstance(query_doc, NeedDoc)
        if need_is_query:
            conds_vec = _vector_conditions(query_doc, snap.struct, n)
            sig["structured"] = _struct_score_vec(conds_vec, n)
        else:
            sig["structured"] = np.array([structured_score(conditions(e.doc, query_doc)) for e in snap.entries],
                                         dtype=np.float32)
        score = linear_fusion(sig, self.weights)
        keep = self._filter_mask(query_doc, snap, filters, need_is_query, conds_vec if need_is_query else None)
        score = np.where(keep, score, -np.inf)
        if filters.min_score is not None:
            score = np.where(score >= filters.min_score, score, -np.inf)
        kk = min(k, int(np.isfinite(score).sum()))
        if kk <= 0:
            return []
        top = np.argpartition(-score, kk - 1)[:kk] if kk < n else np.arange(n)
        top = top[np.argsort(-score[top], kind="stable")][:kk]
        out = []
        for r, i in enumerate(top, start=1):
            e = snap.entries[i]
            s = {name: float(v[i]) for name, v in sig.items()}
            need_e, cap_e = (q, e) if need_is_query else (e, q)
            expl = self._explain(need_e, cap_e, s, snap, q_is_need=need_is_query) if explain else {}
            m = Match(score=float(score[i]), signals=s, explanation=expl, rank=r)
            if need_is_query:
                m.capability_id = snap.ids[i]
            else:
                m.need_id = snap.ids[i]
            out.append(m)
        return out

    def _filter_mask(self, query_doc, snap: _Snapshot, f: Filters, need_is_query: bool, conds_vec) -> np.ndarray:
        n = len(snap.ids)
        keep = np.ones(n, dtype=bool)
        if f.exclude_ids:
            ex = set(f.exclude_ids)
            keep &= np.array([i not in ex for i in snap.ids])
        if need_is_query:
            st = snap.struct
            if f.partner_types:
                keep &= np.isin(st["org"], list(f.partner_types))
            if f.regions:
                keep &= np.isin(st["region"], list(expand_regions(f.regions)))
            if f.stages:
                cols = [st["stage_voc"][s] for s in f.stages if s in st["stage_voc"]]
                keep &= st["stage_mat"][:, cols].any(1) if cols else False
            if f.hard_structured:
                for name in ("partner_type", "region"):
                    v = conds_vec.get(name)
                    if v is not None:
                        keep &= v > 0
                v = conds_vec.get("certifications")
                if v is not None:
                    keep &= v >= 1.0
        else:
            for i, e in enumerate(snap.entries):
                nd: NeedDoc = e.doc
                if f.partner_types and nd.partner_types and not set(nd.partner_types) & set(f.partner_types):
                    keep[i] = False
                if f.regions and nd.regions and not expand_regions(nd.regions) & expand_regions(f.regions):
                    keep[i] = False
                if f.stages and nd.stages and not set(nd.stages) & set(f.stages):
                    keep[i] = False
                if f.hard_structured and hard_failures(conditions(nd, query_doc)):
                    keep[i] = False
        return keep

    # ------------------------------------------------------------------ explanations
    def _explain(self, need_e: _Entry, cap_e: _Entry, s: dict[str, float], snap: _Snapshot, q_is_need: bool):
        need: NeedDoc = need_e.doc
        cap: CapabilityDoc = cap_e.doc
        def spec(c):  # most specific (rarest in the indexed pool) first
            j = snap.concept_index.get(c)
            return -(float(snap.concept_idf[j]) if j is not None else 99.0), c

        shared = sorted(need_e.concepts & cap_e.concepts, key=spec)
        concepts = []
        for cid in shared:
            c = self.glossary.concepts[cid] if self.glossary else None
            concepts.append({
                "concept": cid, "zh": c.label_zh if c else cid, "en": c.label_en if c else cid,
                "need_terms": _quotes(need_e.hits, cid), "capability_terms": _quotes(cap_e.hits, cid),
            })
        terms = _shared_terms(need_e, cap_e, snap, limit=8)
        conds = conditions(need, cap)
        structured = []
        for name, v in conds.items():
            if v is None:
                continue
            structured.append({
                "condition": name, "label": CONDITION_LABELS[name], "value": round(float(v), 3),
                "holds": "yes" if v >= 1 else ("partly" if v > 0 else "no"),
                "need": _need_side(need, name), "capability": _cap_side(cap, name),
            })
        contrib = contributions(s, self.weights)
        best = _best_passages(need_e, cap_e, q_is_need)
        parts = []
        if concepts:
            parts.append("shared concepts: " + ", ".join(f"{c['zh']} / {c['en']}" for c in concepts[:5]))
        fails = [x["condition"] for x in structured if x["holds"] == "no"]
        if fails:
            parts.append("does not meet: " + ", ".join(fails))
        return {
            "summary": "; ".join(parts) if parts else "semantic similarity of the texts",
            "shared_concepts": concepts,
            "shared_terms": terms,
            "best_passages": best,
            "structured": structured,
            "contributions": {k: round(v, 4) for k, v in contrib.items()},
            "weights": dict(self.weights),
            "model": {"name": self.embedder.name, "version": self.embedder.version},
        }


def _lexical(snap: _Snapshot, tokens: list[str]) -> np.ndarray:
    """BM25 divided by its upper bound (sum of idf of the query's distinct terms), square-rooted: 0..1, comparable
    across queries and pools (unlike max-normalisation, a weak best match stays weak)."""
    raw = snap.bm25.scores(tokens)
    ub = snap.bm25.idf_mass(tokens)
    return np.sqrt(np.clip(raw / ub, 0, 1)).astype(np.float32) if ub > 0 else np.zeros_like(raw)


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


def _coverage_vec(concepts, snap: _Snapshot) -> np.ndarray:
    """IDF-weighted Dice overlap of concepts for every capability: F1 of recall (share of the need's non-rejected
    concepts the capability names) and precision (share of the capability's concepts the need names)."""
    n = len(snap.ids)
    cols = [snap.concept_index[c] for c in concepts if c in snap.concept_index]
    if not cols:
        return np.zeros(n, np.float32)
    shared = snap.concept_mat[:, cols] @ snap.concept_idf[cols]
    rec = shared / float(sum_qidf(concepts, snap))
    cap_mass = snap.concept_mat @ snap.concept_idf
    prec = shared / np.maximum(cap_mass, 1e-9)
    return np.where(shared > 0, 2 * rec * prec / np.maximum(rec + prec, 1e-9), 0.0).astype(np.float32)


def _coverage_one(need_concepts, cap_concepts, snap: _Snapshot) -> float:
    """Same as ``_coverage_vec`` for one (need, capability) pair (used when ranking needs for a capability)."""
    if not need_concepts or not cap_concepts:
        return 0.0
    n = len(snap.ids)
    idf = lambda c: float(snap.concept_idf[snap.concept_index[c]]) if c in snap.concept_index else math.log1p(n)  # noqa
    shared = sum(idf(c) for c in need_concepts & cap_concepts)
    if shared <= 0:
        return 0.0
    rec = shared / (sum(idf(c) for c in need_concepts) or 1.0)
    prec = shared / (sum(idf(c) for c in cap_concepts) or 1.0)
    return 2 * rec * prec / (rec + prec)


def sum_qidf(concepts, snap: _Snapshot) -> float:
    # idf for concepts unseen in the pool = idf of df 0 (they count against coverage)
    n = len(snap.ids)
    tot = 0.0
    for c in concepts:
        j = snap.concept_index.get(c)
        tot += float(snap.concept_idf[j]) if j is not None else math.log1p(n)
    return tot or 1.0


def _quotes(hits: dict[str, list[ConceptHit]], cid: str) -> list[dict[str, str]]:
    out, seen = [], set()
    for fname, hs in hits.items():
        for h in hs:
            if h.concept_id == cid and (fname, h.term) not in seen:
                seen.add((fname, h.term))
                out.append({"field": fname, "text": h.term})
    return out


def _shared_terms(need_e: _Entry, cap_e: _Entry, snap: _Snapshot, limit: int) -> list[dict[str, Any]]:
    """Words both texts use (rarest first), each quoted from where it first occurs."""
    n_sp, c_sp = need_e.first_span, cap_e.first_span
    common = [t for t in n_sp if t in c_sp and len(t) > 1]
    n = max(len(snap.ids), 1)
    common.sort(key=lambda t: snap.token_df.get(t, 0) / n)
    return [{"term": t, "need": {"field": n_sp[t][0], "text": n_sp[t][1]},
             "capability": {"field": c_sp[t][0], "text": c_sp[t][1]}} for t in common[:limit]]


def _best_passages(need_e: _Entry, cap_e: _Entry, q_is_need: bool) -> dict[str, Any]:
    npas = _doc_texts(need_e.doc)[2]
    cpas = _doc_texts(cap_e.doc)[2]
    nv = need_e.vecs[1:] if len(need_e.vecs) > 1 else need_e.vecs[:1]
    cv = cap_e.vecs[1:] if len(cap_e.vecs) > 1 else cap_e.vecs[:1]
    sims = nv @ cv.T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return {"need": npas[min(i, len(npas) - 1)], "capability": cpas[min(j, len(cpas) - 1)],
            "similarity": round(float(sims[i, j]), 4)}


def _need_side(n: NeedDoc, name: str):
    return {"partner_type": list(n.partner_types), "stages": list(n.stages), "region": list(n.regions),
            "tracks": list(n.tracks), "certifications": list(n.required_certifications)}[name]


def _cap_side(c: CapabilityDoc, name: str):
    return {"partner_type": c.org_type, "stages": list(c.stages), "region": c.region,
            "tracks": list(c.tracks), "certifications": list(c.certifications)}[name]
