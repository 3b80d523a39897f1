"""Glossary audit: terms that occur in exactly one evaluation need and in no other text.

    python -m matching.glossary_audit [--dev DIR] [--other DIR ...] [--glossary TSV]

Such a term was most likely lifted from that need while the glossary was written, so it bridges one evaluation pair
and nothing else: it inflates the dev score without helping real texts. Prints ``concept<TAB>column<TAB>term<TAB>need``
for each; the ones that are not general clinical or lay vocabulary are removed by hand (see docs/decisions.md).
Matching follows the glossary: CJK terms as substrings of the normalised text, English terms as stemmed word
sequences, abbreviations case-sensitively on word boundaries.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from .glossary import _CJK_RE, DEFAULT_GLOSSARY_PATH, PUBLIC_GLOSSARY_PATH, _en_words, _public_terms, _split
from .text import normalize_with_map

ROOT = Path(__file__).resolve().parents[1]


def _texts_of(path: Path) -> list[str]:
    out = []
    if path.suffix == ".json":  # the demo world: every string of its needs and capabilities
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("needs", "capabilities"):
            for row in data.get(key, []):
                out.append(" \n".join(str(v) for v in row.values() if isinstance(v, str)))
        return out
    for name in ("needs.jsonl", "capabilities.jsonl"):
        p = path / name
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    out.append(" \n".join(str(d.get(k) or "") for k in ("title", "description", "org")))
    return out


class _Text:
    """A text prepared for term look-ups (normalised, stemmed words joined by spaces, original)."""

    def __init__(self, text: str):
        self.orig = text
        self.norm = normalize_with_map(text)[0]
        self.stems = " " + " ".join(s for s, _, _ in _en_words(self.norm)) + " "

    def has(self, column: str, term: str) -> bool:
        if column == "abbr":
            return re.search(rf"(?<![A-Za-z0-9]){re.escape(term)}(?![A-Za-z0-9])", self.orig) is not None
        n = normalize_with_map(term)[0].strip()
        if _CJK_RE.search(n):
            return n in self.norm
        stems = " ".join(s for s, _, _ in _en_words(n))
        return bool(stems) and f" {stems} " in self.stems


def audit(glossary: Path, dev: Path, others: list[Path]) -> list[tuple[str, str, str, str]]:
    needs = [json.loads(x) for x in (dev / "needs.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    need_texts = [(d["id"], _Text(f"{d.get('title', '')}\n{d.get('description', '')}")) for d in needs]
    caps = [json.loads(x) for x in (dev / "capabilities.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    rest = [_Text(f"{d.get('title', '')}\n{d.get('description', '')}\n{d.get('org', '')}") for d in caps]
    rest += [_Text(t) for p in others for t in _texts_of(p)]
    terms = []  # (concept, column, term): the team's, then those grown from public vocabularies (vocab_build)
    cols = ["concept_id", "kind", "zh", "en", "abbr", "lay"]
    for line in glossary.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "concept_id\t")):
            continue
        row = dict(zip(cols, line.split("\t") + [""] * 6))
        terms += [(row["concept_id"], col, term) for col in ("zh", "en", "abbr", "lay") for term in _split(row[col])]
    public = glossary.with_name(PUBLIC_GLOSSARY_PATH.name)
    if public.exists():
        for cid, cols_ in _public_terms(public.read_text(encoding="utf-8")).items():
            terms += [(cid, col, term) for col, ts in cols_.items() for term in ts]
    out = []
    for cid, col, term in terms:
        hit = [nid for nid, t in need_texts if t.has(col, term)]
        if len(hit) == 1 and not any(t.has(col, term) for t in rest):
            out.append((cid, col, term, hit[0]))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = ROOT.parent.parent / "shared" / "eval"
    ap.add_argument("--dev", type=Path, default=shared / "dev")
    ap.add_argument("--other", type=Path, nargs="*",
                    default=[shared / "external" / n for n in ("nfcorpus", "kuake-qtr", "medquad-liveqa")]
                    + [ROOT / "seed" / "data" / "demo_world.json"])
    ap.add_argument("--glossary", type=Path, default=DEFAULT_GLOSSARY_PATH)
    a = ap.parse_args(argv)
    for row in audit(a.glossary, a.dev, a.other):
        print("\t".join(row))


if __name__ == "__main__":
    main()
