"""The signals, each on 0..1, computed over the candidate columns of a store (or for one pair): structured
compatibility, normalised BM25 standardised per language, sentence-level passage and status-quo scores, concept
coverage. Pure functions of their arguments; ``ranker`` fuses them."""
from __future__ import annotations

import numpy as np

from .docs import NeedDoc
from .specialties import specialty_codes
from .store import DocStore
from .structured import expand_regions, need_specialties

__all__ = [
    "LANGUAGE_SHRINK",
    "TITLE_SHARE",
    "coverage_one",
    "coverage_vec",
    "lexical_scores",
    "stance_one",
    "stance_scores",
    "standardise_by_language",
    "struct_score_vec",
    "vector_conditions",
]

TITLE_SHARE = 0.5  # passage signal: the need's title weighs as much as its other sentences together


def vector_conditions(need: NeedDoc, st: DocStore, n: int) -> dict[str, np.ndarray | None]:
    """Vectorised ``structured.conditions`` for one need against all indexed capabilities (NaN = not applicable)."""
    out: dict[str, np.ndarray | None] = {}
    out["partner_type"] = st.org.isin(n, need.partner_types).astype(np.float32) if need.partner_types else None
    want = set(need.stages)
    if want:  # structured.stage_fit: overlap over the smaller side
        out["stages"] = (st.stages.count(want)[:n] / np.maximum(np.minimum(st.stages.sizes(n), len(want)), 1)
                         ).astype(np.float32)
    else:
        out["stages"] = None
    regs = expand_regions(need.regions)
    out["region"] = st.region.isin(n, regs).astype(np.float32) if regs else None
    if need.tracks:
        x = (st.tracks.count(set(need.tracks))[:n] > 0).astype(np.float32)
        x[~st.has_tracks[:n]] = np.nan
        out["tracks"] = x
    else:
        out["tracks"] = None
    out["specialty"] = specialty_vec(need_specialties(need), st, n)
    req = {x.lower() for x in need.required_certifications}
    out["certifications"] = (st.certs.count(req)[:n] / len(req)).astype(np.float32) if req else None
    return out


def specialty_vec(wanted: list[str], st: DocStore, n: int) -> np.ndarray | None:
    """Vectorised ``specialties.specialty_fit``: 1 for a capability serving the specialty (or its parent or child),
    0.5 for a sibling, 0 otherwise, NaN for one that names none (it serves any)."""
    if not wanted:
        return None
    full, half = specialty_codes(wanted)
    x = np.where(st.specialties.count(full)[:n] > 0, 1.0, np.where(st.specialties.count(half)[:n] > 0, 0.5, 0.0))
    x[st.specialties.sizes(n) == 0] = np.nan
    return x.astype(np.float32)


def struct_score_vec(conds: dict[str, np.ndarray | None], n: int) -> np.ndarray:
    tot = np.zeros(n, np.float32)
    cnt = np.zeros(n, np.float32)
    for v in conds.values():
        if v is None:
            continue
        ok = ~np.isnan(v)
        tot[ok] += v[ok]
        cnt[ok] += 1
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.5).astype(np.float32)


def lexical_scores(bm25, tokens: list[str], n: int) -> np.ndarray:
    """BM25 divided by its upper bound (sum of idf of the query's distinct terms), square-rooted: 0..1, comparable
    across queries and pools (unlike max-normalisation, a weak best match stays weak)."""
    raw = bm25.scores(tokens)[:n]
    ub = bm25.idf_mass(tokens)
    return np.sqrt(np.clip(raw / ub, 0, 1)).astype(np.float32) if ub > 0 else np.zeros(n, np.float32)


LANGUAGE_SHRINK = 5  # a language group's own mean and spread count as much as this many candidates at the pool's


def standardise_by_language(lex: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-language standardisation of the lexical signal within a candidate pool: each language group is shifted
    and scaled so that its mean and spread equal the pool's. Texts in the query's language share generic words with
    it, so their scores are both higher and more spread out than the other language's (which meet the query only
    through glossary concepts and names): centring alone still lets the same language's noise outrank the other
    language's real fit. A monolingual pool is left as it is. The group's mean and spread are shrunk towards the
    pool's for small groups (a relevant document in a group of two must not be stretched or pulled down)."""
    if len(lex) == 0:
        return lex
    groups = np.unique(codes)
    if len(groups) < 2:
        return lex
    overall, spread = float(lex.mean()), float(lex.std())
    if spread <= 0:
        return lex
    out = lex.astype(np.float32, copy=True)
    for g in groups:
        m = codes == g
        k = int(m.sum())
        mean_g = (k * float(lex[m].mean()) + LANGUAGE_SHRINK * overall) / (k + LANGUAGE_SHRINK)
        sd_g = (k * float(lex[m].std()) + LANGUAGE_SHRINK * spread) / (k + LANGUAGE_SHRINK)
        out[m] = (lex[m] - mean_g) * (spread / sd_g) + overall
    return np.clip(out, 0, 1)


def stance_scores(best: np.ndarray, stance: np.ndarray | None,
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


def stance_one(best: list[float], stance: np.ndarray | None, titled: bool) -> tuple[float, float]:
    """``stance_scores`` for one need and one candidate, in plain Python (ranking needs for a capability calls it
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


def coverage_vec(concepts, st: DocStore, n: int) -> np.ndarray:
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


def coverage_one(need_concepts, cap_concepts, st: DocStore) -> float:
    """Same as ``coverage_vec`` for one (need, capability) pair (used when ranking needs for a capability)."""
    if not need_concepts or not cap_concepts:
        return 0.0
    shared = sum(st.concept_idf(c) for c in need_concepts & cap_concepts)
    if shared <= 0:
        return 0.0
    rec = shared / (sum(st.concept_idf(c) for c in need_concepts) or 1.0)
    prec = shared / (sum(st.concept_idf(c) for c in cap_concepts) or 1.0)
    return 2 * rec * prec / (rec + prec)
