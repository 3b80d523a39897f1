"""The glossary grown from public vocabularies: the build's rules on small source files, and the committed result."""
import gzip
from pathlib import Path

from matching.glossary import PUBLIC_GLOSSARY_PATH, load_glossary
from matching.vocab_build import build

GLOSSARY = """concept_id\tkind\tzh\ten\tabbr\tlay
anemia\tcondition\t贫血\tanemia\t\t
specimen\tspecimen\t粪便|尿液\tstool|urine\t\t
breathing\tfunction\t呼吸\tbreath\t\t
imaging\tdevice\t移动影像\tmobile\t\t
hearing\tanatomy\t听力\thearing\t\t
lab\tservice\t检验\tassay\t\t
test\tservice\t检验科\tassay\t\t
"""

HPO = """format-version: 1.2
data-version: hp/releases/test

[Term]
id: HP:0000001
name: Anemia
synonym: "Thin blood" EXACT layperson []
synonym: "Anaemia" EXACT uk_spelling []
synonym: "Blood disorder" BROAD []

[Term]
id: HP:0000002
name: Hypoventilation
synonym: "Under breathing" EXACT layperson []

[Term]
id: HP:0000003
name: Obsolete anemia
is_obsolete: true
synonym: "Anemia" EXACT []
"""

CEDICT = """# CC-CEDICT test
貧血症 贫血症 [pin2 xue4 zheng4] /anemia/
血虧 血亏 [xue4 kui1] /anemia/
貧血 贫血 [pin2 xue4] /anemia/
凳子 凳子 [deng4 zi5] /stool/
行動 行动 [xing2 dong4] /operation/action/mobile/
移動 移动 [yi2 dong4] /mobile/portable/
聽證會 听证会 [ting1 zheng4 hui4] /(legislative) hearing/
檢驗法 检验法 [jian3 yan4 fa3] /assay/
"""


def _sources(tmp_path: Path):
    g = tmp_path / "glossary.tsv"
    g.write_text(GLOSSARY, encoding="utf-8")
    hpo = tmp_path / "hp.obo"
    hpo.write_text(HPO, encoding="utf-8")
    ced = tmp_path / "cedict.txt.gz"
    with gzip.open(ced, "wt", encoding="utf-8") as f:
        f.write(CEDICT)
    return g, hpo, ced


def test_build_takes_exact_synonyms_and_agreed_translations_only(tmp_path):
    g, hpo, ced = _sources(tmp_path)
    rows = {(r[0], r[1], r[2]): r[3] for r in build(hpo, ced, g)}
    # HPO: exact synonyms of a term named like ours, layperson ones as lay words; broad ones and obsolete terms never
    assert rows[("anemia", "lay", "Thin blood")] == "HP:0000001"
    assert ("anemia", "en", "Anaemia") in rows
    assert not any(t == "Blood disorder" for _, _, t in rows)
    # "under breathing" is not "breath": stop words count when a source term is compared with ours
    assert not any(c == "breathing" for c, _, _ in rows)
    # CC-CEDICT: a headword sharing two characters with our term, or one with a term of the same gloss
    assert ("anemia", "zh", "贫血症") in rows and ("anemia", "zh", "血亏") in rows
    # a translation the Chinese side does not confirm (凳子 is a stool, not 粪便), a later sense (行动 is "action"
    # first), a sense in another field (a legislative hearing) are all left out
    assert ("specimen", "zh", "凳子") not in rows
    assert ("imaging", "zh", "行动") not in rows
    assert ("hearing", "zh", "听证会") not in rows
    # a headword that would land on two concepts would tie them wherever it occurs: dropped
    assert not any(t == "检验法" for _, _, t in rows)


def test_committed_public_terms_are_found_and_attributed():
    lines = [ln.split("\t") for ln in PUBLIC_GLOSSARY_PATH.read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith(("#", "concept_id"))]
    assert lines and all(len(c) == 5 and c[1] in ("zh", "en", "lay") for c in lines)
    assert all(c[3] == "CC-CEDICT" or c[3].startswith("HP:") for c in lines)
    g = load_glossary()
    assert {c.id for c in g.concepts.values()} >= {c[0] for c in lines}
    # an HPO layperson phrase and a CC-CEDICT headword now reach concepts the team wrote in other words
    assert "arrhythmia" in g.concepts_in("My father has a skipped heart beat at night")
    assert "dementia" in g.concepts_in("老人确诊失智症后走失")
    # without the public terms neither is found, and the fingerprint (and so every stored vector) differs
    team = load_glossary(public=False)
    assert "arrhythmia" not in team.concepts_in("My father has a skipped heart beat at night")
    assert team.fingerprint != g.fingerprint
