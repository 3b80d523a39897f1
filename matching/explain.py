"""Explanations of a ranked pair: shared concepts and words quoted from both texts, the best-matching sentences, the
structured conditions that hold or fail, and each signal's contribution. Only the few results a caller asks to see
are explained, so what is needed for it (word spans, concept hits) is recomputed here rather than kept for every
indexed document."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .docs import CapabilityDoc, NeedDoc
from .fusion import contributions
from .generic import is_generic_concept, is_generic_term
from .glossary import ConceptHit
from .structured import CONDITION_LABELS, conditions, need_specialties

__all__ = ["Analysis", "explain_pair"]


@dataclass
class Analysis:
    """A document's texts as the explanation quotes them."""

    doc: Any
    passages: list[str]
    vecs: np.ndarray  # passage vectors (float32)
    hits: dict[str, list[ConceptHit]]  # field -> glossary hits
    first_span: dict[str, tuple[str, str]]  # token -> (field, original text of its first occurrence)
    concepts: frozenset[str]


def explain_pair(need: Analysis, cap: Analysis, signals: dict[str, float], weights: dict[str, float],
                 glossary, concept_idf: Callable[[str], float], token_rarity: Callable[[str], float],
                 model: dict[str, str]) -> dict[str, Any]:
    nd: NeedDoc = need.doc
    cd: CapabilityDoc = cap.doc
    shared = sorted((c for c in need.concepts & cap.concepts if not is_generic_concept(c)),
                    key=lambda c: (-concept_idf(c), c))  # most specific first; generic ones ("medical device") never
    concepts = []
    for cid in shared:
        c = glossary.concepts[cid] if glossary else None
        concepts.append({
            "concept": cid, "zh": c.label_zh if c else cid, "en": c.label_en if c else cid,
            "need_terms": _quotes(need.hits, cid), "capability_terms": _quotes(cap.hits, cid),
        })
    structured = []
    for name, v in conditions(nd, cd).items():
        if v is None:
            continue
        structured.append({
            "condition": name, "label": CONDITION_LABELS[name], "value": round(float(v), 3),
            "holds": "yes" if v >= 1 else ("partly" if v > 0 else "no"),
            "need": _need_side(nd, name), "capability": _cap_side(cd, name),
        })
    parts = []
    if concepts:
        parts.append("shared concepts: " + ", ".join(f"{c['zh']} / {c['en']}" for c in concepts[:5]))
    fails = [x["condition"] for x in structured if x["holds"] == "no"]
    if fails:
        parts.append("does not meet: " + ", ".join(fails))
    return {
        "summary": "; ".join(parts) if parts else "no specific shared concept; semantic similarity of the texts",
        "shared_concepts": concepts,
        "shared_terms": _shared_terms(need, cap, token_rarity, limit=8),
        "best_passages": _best_passages(need, cap),
        "structured": structured,
        "contributions": {k: round(v, 4) for k, v in contributions(signals, weights).items()},
        "weights": dict(weights),
        "model": model,
    }


def _quotes(hits: dict[str, list[ConceptHit]], cid: str) -> list[dict[str, str]]:
    out, seen = [], set()
    for fname, hs in hits.items():
        for h in hs:
            if h.concept_id == cid and (fname, h.term) not in seen:
                seen.add((fname, h.term))
                out.append({"field": fname, "text": h.term})
    return out


def _shared_terms(need: Analysis, cap: Analysis, rarity: Callable[[str], float], limit: int) -> list[dict[str, Any]]:
    """Words both texts use (rarest first), each quoted from where it first occurs."""
    n_sp, c_sp = need.first_span, cap.first_span
    common = [t for t in n_sp if t in c_sp and len(t) > 1 and not is_generic_term(t)]
    common.sort(key=rarity)
    return [{"term": t, "need": {"field": n_sp[t][0], "text": n_sp[t][1]},
             "capability": {"field": c_sp[t][0], "text": c_sp[t][1]}} for t in common[:limit]]


def _best_passages(need: Analysis, cap: Analysis) -> dict[str, Any]:
    sims = need.vecs @ cap.vecs.T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return {"need": need.passages[min(i, len(need.passages) - 1)],
            "capability": cap.passages[min(j, len(cap.passages) - 1)],
            "similarity": round(float(sims[i, j]), 4)}


def _need_side(n: NeedDoc, name: str):
    return {"partner_type": list(n.partner_types), "stages": list(n.stages), "region": list(n.regions),
            "tracks": list(n.tracks), "specialty": need_specialties(n),
            "certifications": list(n.required_certifications)}[name]


def _cap_side(c: CapabilityDoc, name: str):
    return {"partner_type": c.org_type, "stages": list(c.stages), "region": c.region,
            "tracks": list(c.tracks), "specialty": list(c.specialties),
            "certifications": list(c.certifications)}[name]
