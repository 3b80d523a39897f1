"""Bilingual medtech glossary: load the reviewed TSV and find concepts in text with quotable spans."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .text import EN_STOPWORDS, normalize_with_map, stem

__all__ = ["DEFAULT_GLOSSARY_PATH", "Concept", "ConceptHit", "Glossary", "load_glossary"]

DEFAULT_GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary.tsv"
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"[.;!?\n]")
# an English term of several words also counts when its words come in another order, or with one other word among
# them, inside one sentence ("swallowing difficulty" for "difficulty swallowing", "valve, aortic" for "aortic valve")
WORD_SET_SLACK = 1
MATCH_RULES = "wordsets-1"  # bump when how terms are found changes


@dataclass(frozen=True)
class Concept:
    id: str
    kind: str
    zh: tuple[str, ...]
    en: tuple[str, ...]
    abbr: tuple[str, ...]
    lay: tuple[str, ...]

    @property
    def label_zh(self) -> str:
        return self.zh[0] if self.zh else (self.lay[0] if self.lay else self.id)

    @property
    def label_en(self) -> str:
        return self.en[0] if self.en else (self.abbr[0] if self.abbr else self.id)


@dataclass(frozen=True)
class ConceptHit:
    concept_id: str
    term: str  # exactly as it appears in the original text (text[start:end])
    start: int
    end: int


def _en_words(norm: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _WORD_RE.finditer(norm):
        w = m.group(0)
        if w in EN_STOPWORDS:
            continue
        out.append((stem(w), m.start(), m.end()))
    return out


@dataclass
class Glossary:
    concepts: dict[str, Concept]
    fingerprint: str = ""  # short hash of the file content (goes into vector versions)
    _zh_terms: list[tuple[str, str]] = field(default_factory=list)  # (normalised term, concept)
    _en_terms: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)  # first stem -> [(stems, cid)]
    _en_sets: dict[str, list[tuple[frozenset[str], int, str]]] = field(default_factory=dict)  # stem -> [(set, n, cid)]
    _abbr_re: re.Pattern | None = None
    _abbr_map: dict[str, str] = field(default_factory=dict)
    _zh_dict: dict[str, str] = field(default_factory=dict)
    _zh_lens: list[int] = field(default_factory=list)

    def __post_init__(self):
        zh_terms: dict[str, str] = {}
        en_terms: dict[tuple[str, ...], str] = {}
        abbr: dict[str, str] = {}
        for c in self.concepts.values():
            for t in (*c.zh, *c.en, *c.lay):
                n = normalize_with_map(t)[0].strip()
                if not n:
                    continue
                if _CJK_RE.search(n):
                    zh_terms.setdefault(n, c.id)
                else:
                    stems = tuple(s for s, _, _ in _en_words(n))
                    if stems:
                        en_terms.setdefault(stems, c.id)
            for a in c.abbr:
                a = a.strip()
                if a:
                    abbr.setdefault(a, c.id)
        # longest first so that longer terms win overlaps
        self._zh_terms = sorted(zh_terms.items(), key=lambda kv: -len(kv[0]))
        self._zh_dict = dict(zh_terms)
        self._zh_lens = sorted({len(t) for t in zh_terms}, reverse=True)
        self._en_terms = {}
        self._en_sets = {}
        for stems, cid in sorted(en_terms.items(), key=lambda kv: -len(kv[0])):
            self._en_terms.setdefault(stems[0], []).append((stems, cid))
            if len(set(stems)) > 1:
                for s in set(stems):
                    self._en_sets.setdefault(s, []).append((frozenset(stems), len(stems), cid))
        self._abbr_map = abbr
        if abbr:
            alts = "|".join(re.escape(a) for a in sorted(abbr, key=len, reverse=True))
            self._abbr_re = re.compile(rf"(?<![A-Za-z0-9])({alts})(?![A-Za-z0-9])")

    def __len__(self) -> int:
        return len(self.concepts)

    def zh_words(self) -> list[str]:
        return [t for t, _ in self._zh_terms]

    def find(self, text: str) -> list[ConceptHit]:
        """All concept mentions in ``text``; ``hit.term == text[hit.start:hit.end]`` always holds."""
        if not text:
            return []
        norm, idx = normalize_with_map(text)
        hits: list[ConceptHit] = []
        taken = bytearray(len(norm))

        def add(cid: str, s: int, e: int):
            if e <= s or any(taken[s:e]):
                return
            for i in range(s, e):
                taken[i] = 1
            os_, oe = idx[s], idx[e - 1] + 1
            hits.append(ConceptHit(cid, text[os_:oe], os_, oe))

        if _CJK_RE.search(norm):
            # forward maximum matching: at each position take the longest glossary term that starts there
            zh, lens = self._zh_dict, self._zh_lens
            i, n = 0, len(norm)
            while i < n:
                for L in lens:
                    cid = zh.get(norm[i:i + L]) if i + L <= n else None
                    if cid is not None:
                        add(cid, i, i + L)
                        i += L
                        break
                else:
                    i += 1
        words = _en_words(norm)
        i = 0
        while i < len(words):
            matched = False
            for stems, cid in self._en_terms.get(words[i][0], ()):
                n = len(stems)
                if tuple(w for w, _, _ in words[i:i + n]) == stems:
                    add(cid, words[i][1], words[i + n - 1][2])
                    i += n
                    matched = True
                    break
            if not matched:
                i += 1
        self._word_sets(norm, words, add)
        if self._abbr_re is not None:
            orig_taken = bytearray(len(text))
            for h in hits:
                orig_taken[h.start:h.end] = b"\x01" * (h.end - h.start)
            for m in self._abbr_re.finditer(text):
                s, e = m.start(), m.end()
                if not any(orig_taken[s:e]):
                    hits.append(ConceptHit(self._abbr_map[m.group(1)], text[s:e], s, e))
        hits.sort(key=lambda h: h.start)
        return hits

    def _word_sets(self, norm: str, words: list[tuple[str, int, int]], add) -> None:
        """Multi-word English terms whose words all occur within a short window of one sentence, in any order (after
        the exact phrases, so an exact match keeps its span). Longer terms first, as for phrases."""
        if not words:
            return
        ends = [m.start() for m in _SENTENCE_END.finditer(norm)]
        sentence = [sum(1 for e in ends if e < s) for _, s, _ in words]
        cands: dict[tuple[frozenset[str], int, str], None] = {}
        present = {w for w, _, _ in words}
        for w in present:
            for term in self._en_sets.get(w, ()):
                if term[0] <= present:
                    cands[term] = None
        for stems, n, cid in sorted(cands, key=lambda t: -t[1]):
            width = n + WORD_SET_SLACK
            for i in range(len(words)):
                window = [j for j in range(i, min(i + width, len(words))) if sentence[j] == sentence[i]]
                got = {words[j][0] for j in window}
                if words[i][0] in stems and stems <= got:
                    last = max(j for j in window if words[j][0] in stems)
                    add(cid, words[i][1], words[last][2])
                    break

    def concepts_in(self, text: str) -> set[str]:
        return {h.concept_id for h in self.find(text)}


def _split(cell: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in (cell or "").split("|") if t.strip())


PUBLIC_GLOSSARY_PATH = DEFAULT_GLOSSARY_PATH.with_name("glossary_public.tsv")


def _public_terms(text: str) -> dict[str, dict[str, list[str]]]:
    """concept -> column -> terms added from public vocabularies (``matching.vocab_build``), from that file's text."""
    out: dict[str, dict[str, list[str]]] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "concept_id\t")):
            continue
        cid, column, term = line.split("\t")[:3]
        out.setdefault(cid, {}).setdefault(column, []).append(term)
    return out


@lru_cache(maxsize=4)
def load_glossary(path: str | Path | None = None, public: bool = True) -> Glossary:
    """The team-written glossary, with the terms grown from public vocabularies beside it unless ``public=False``."""
    p = Path(path) if path else DEFAULT_GLOSSARY_PATH
    concepts: dict[str, Concept] = {}
    header_seen = False
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if not header_seen and cols[0] == "concept_id":
            header_seen = True
            continue
        cols += [""] * (6 - len(cols))
        cid, kind, zh, en, abbr, lay = cols[:6]
        if cid in concepts:
            raise ValueError(f"duplicate concept id {cid!r} in {p}")
        concepts[cid] = Concept(cid, kind, _split(zh), _split(en), _split(abbr), _split(lay))
    content = p.read_bytes()
    extra = p.with_name(PUBLIC_GLOSSARY_PATH.name)
    if public and extra.exists():
        extra_bytes = extra.read_bytes()
        for cid, cols in _public_terms(extra_bytes.decode("utf-8")).items():
            c = concepts.get(cid)
            if c is not None:  # appended after the team's terms, so labels and quotes stay theirs
                concepts[cid] = Concept(cid, c.kind, c.zh + tuple(cols.get("zh", ())), c.en + tuple(cols.get("en", ())),
                                        c.abbr, c.lay + tuple(cols.get("lay", ())))
        content += extra_bytes
    # the rules that find terms count as much as the files: texts augmented with the hits are embedded and stored
    return Glossary(concepts, fingerprint=hashlib.sha1(content + MATCH_RULES.encode()).hexdigest()[:10])
