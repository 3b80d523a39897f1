"""Documents as the ranker reads them: their fields, whole text and passages; the glossary labels appended to every
embedded text (``augment``); and each document's analysis (BM25 tokens, concepts, stance, the spans explanations
quote), kept as a compact blob beside its stored vectors so that indexing needs no tokenising."""
from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Mapping

import numpy as np

from .cache import LRU
from .docs import CapabilityDoc, NeedDoc
from .explain import Analysis
from .glossary import ConceptHit, Glossary
from .lexical import FIELD_WEIGHTS
from .stance import sentence_stance
from .store import RowInfo
from .text import split_sentences, tokenize_with_spans

__all__ = ["ANALYSIS_VERSION", "CONCEPT_TOKEN", "MAX_PASSAGES", "Analyser", "capability_fields", "doc_segments",
           "doc_texts", "explanation_analysis", "need_fields"]

MAX_PASSAGES = 16  # title + up to 15 sentences per document
CONCEPT_TOKEN = "@"
ANALYSIS_VERSION = "1"  # bump when tokenising or the analysis blob's layout changes


def need_fields(n: NeedDoc) -> dict[str, str]:
    return {"title": n.title or "", "description": n.description or "", "extra": n.extra_text or ""}


def capability_fields(c: CapabilityDoc) -> dict[str, str]:
    return {"title": c.title or "", "description": c.description or "", "org": c.org_name or "",
            "extra": c.extra_text or ""}


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


def doc_segments(doc) -> tuple[dict[str, str], str, list[str]]:
    """(fields, whole text, segments: the title and every sentence)."""
    if isinstance(doc, NeedDoc):
        f = need_fields(doc)
        return f, _full_text(f), _segments(f)
    f = capability_fields(doc)
    return f, _full_text(f, ("title", "description", "extra")), _segments(f, ("title", "description", "extra"))


def doc_texts(doc) -> tuple[dict[str, str], str, list[str]]:
    """(fields, whole text, passages: the first MAX_PASSAGES segments)."""
    f, full, segs = doc_segments(doc)
    return f, full, segs[:MAX_PASSAGES]


def explanation_analysis(doc, passage_vecs: np.ndarray, concepts: frozenset[str], spans, mentions) -> Analysis:
    """What explanations quote, from the kept spans (no re-tokenising)."""
    fields = doc_texts(doc)[0]
    first = {t: (f, fields[f][a:b]) for t, f, a, b in spans}
    hits: dict[str, list[ConceptHit]] = {f: [] for f in fields}
    for c, f, a, b in mentions:
        hits[f].append(ConceptHit(c, fields[f][a:b], a, b))
    return Analysis(doc, doc_texts(doc)[2], passage_vecs, hits, first, concepts)


class Analyser:
    """A document's analysis for the index and its glossary-augmented texts for the embedder. ``glossary`` None:
    no concept tokens, nothing augmented."""

    def __init__(self, glossary: Glossary | None, augment: bool = True) -> None:
        self.glossary = glossary
        self.augments = augment and glossary is not None
        self._augmented: LRU[str] = LRU(4096)  # text -> augmented text
        # (doc type, *field texts) -> analysis: a filed document is analysed for storing and again as a query
        self._analyses: LRU[tuple] = LRU(256)

    @property
    def version(self) -> str:
        return f"{ANALYSIS_VERSION}+{self.glossary.fingerprint if self.glossary is not None else 'none'}"

    def augment(self, full: str) -> str:
        """Whole text + the bilingual labels of the glossary concepts it names (aligns zh and en texts)."""
        if not self.augments:
            return full
        return self._augmented.get_or_compute(full, lambda: self._augmented_text(full))

    def _augmented_text(self, full: str) -> str:
        labels = []
        for cid in sorted(self.glossary.concepts_in(full)):
            c = self.glossary.concepts[cid]
            labels.append(f"{c.label_zh} {c.label_en}")
        return full + ("\n" + "; ".join(labels) if labels else "")

    def analyse(self, doc):
        """BM25 tokens (field-weighted, with @concept tokens), what the ranker keeps of the document, and for
        explanations each token's first occurrence and the glossary mentions: (term, field, start, end). The last
        few documents' analyses are kept (read, never changed)."""
        key = (type(doc).__name__, *doc_texts(doc)[0].values())
        return self._analyses.get_or_compute(key, lambda: self._analyse_text(doc))

    def _analyse_text(self, doc):
        fields, _, pas = doc_texts(doc)
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

    def blob(self, doc) -> bytes:
        """The document's analysis (tokens, spans, glossary mentions) as compact bytes, to store beside its vectors:
        indexing then needs no tokenising (which is most of the time it takes to load 100,000 capabilities)."""
        toks, info, spans, mentions = self.analyse(doc)
        data = {"v": self.version, "tf": Counter(toks), "spans": spans, "hits": mentions,
                "concepts": sorted(info.concepts), "rejected": sorted(info.rejected),
                "stance": info.stance.tolist() if info.stance is not None else None, "titled": info.titled}
        return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 3)

    def from_blob(self, blob) -> tuple | None:
        """``analyse``'s result from a stored blob; None when it is unreadable or of another analysis version."""
        try:
            data = json.loads(zlib.decompress(blob))
        except (zlib.error, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or data.get("v") != self.version:
            return None
        info = RowInfo(frozenset(data["concepts"]), frozenset(data["rejected"]),
                       np.array(data["stance"], np.int8) if data["stance"] is not None else None, data["titled"])
        return data["tf"], info, [tuple(x) for x in data["spans"]], [tuple(x) for x in data["hits"]]
