from pathlib import Path

from matching.glossary import DEFAULT_GLOSSARY_PATH, load_glossary


def test_glossary_file_is_well_formed():
    ids = []
    for line in Path(DEFAULT_GLOSSARY_PATH).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "concept_id")):
            continue
        cols = line.split("\t")
        assert len(cols) == 6, line
        assert cols[0] and (cols[2] or cols[3]), line
        ids.append(cols[0])
    assert len(ids) == len(set(ids)) >= 150


def test_cross_language_concepts():
    g = load_glossary()
    assert "transseptal_puncture" in g.concepts_in("房间隔穿刺针不可调弯")
    assert "transseptal_puncture" in g.concepts_in("A steerable RF transseptal puncture system")
    assert "transseptal_puncture" in g.concepts_in("TSP needle")
    assert "atrial_fibrillation" in g.concepts_in("患者房颤") and "atrial_fibrillation" in g.concepts_in("AF ablation")
    assert "thrombectomy" in g.concepts_in("取栓") and "thrombectomy" in g.concepts_in("clot removal")


def test_hits_quote_the_original_text():
    g = load_glossary()
    text = "Ｓｔｅｅｒａｂｌｅ 房间隔穿刺（ＴＳＰ）, Transseptal Punctures and point-of-care troponin"
    hits = g.find(text)
    assert hits
    for h in hits:
        assert text[h.start:h.end] == h.term
    assert {"steerable", "transseptal_puncture", "point_of_care", "troponin"} <= {h.concept_id for h in hits}


def test_abbreviations_are_case_sensitive_words():
    g = load_glossary()
    assert "atrial_fibrillation" not in g.concepts_in("after a long day")  # 'af' inside a word / lower case


def test_english_terms_match_as_word_sets_within_a_sentence():
    g = load_glossary()
    # another order, one word between, still the concept; the hit quotes the span from the text
    hits = [h for h in g.find("We see a valve that is aortic in most cases.") if h.concept_id == "aortic_valve"]
    assert hits and hits[0].term == "valve that is aortic"
    assert "swallowing_therapy" in g.concepts_in("Therapy for swallowing after stroke")
    # the words far apart, or in different sentences, are not the term
    assert "swallowing_therapy" not in g.concepts_in("Therapy is hard to access for elderly people who cannot swallow")
    assert "swallowing_therapy" not in g.concepts_in("Therapy helps. Swallowing is hard.")
    # an exact phrase keeps its own span
    assert [h.term for h in g.find("A transseptal puncture needle") if h.concept_id == "transseptal_puncture"] == [
        "transseptal puncture"]
