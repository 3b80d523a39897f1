from matching.text import detect_language, normalize, normalize_with_map, split_sentences, tokenize, tokenize_with_spans


def test_normalize_full_width_and_case():
    assert normalize("ＡＢＣ１２３，（测试）！") == "abc123,(测试)!"
    assert normalize("  Steerable\tRF  ") == "steerable rf"


def test_normalize_map_points_to_original():
    text = "Ｘ光㎡检查"
    norm, idx = normalize_with_map(text)
    assert len(norm) == len(idx)
    for j, ch in enumerate(norm):
        assert 0 <= idx[j] < len(text)


def test_tokenize_chinese_uses_words_and_drops_stopwords_punctuation():
    toks = tokenize("房间隔穿刺针不可调弯，穿刺点偏移。")
    assert "，" not in toks and "。" not in toks
    assert "穿刺针" in toks or "穿刺" in toks
    assert all(t not in {"的", "了"} for t in tokenize("医生的问题了"))


def test_tokenize_english_is_stemmed_and_stopworded():
    toks = tokenize("The catheters were punctured by the needles")
    assert toks == ["cathet", "punctur", "needl"]  # Snowball English stems


def test_tokenize_mixed_full_width_english():
    assert "tsp" in tokenize("房间隔穿刺（ＴＳＰ）")


def test_token_spans_quote_original_text():
    text = "Ｓｔｅｅｒａｂｌｅ 房间隔穿刺 systems"
    for t in tokenize_with_spans(text):
        assert text[t.start:t.end]


def test_detect_language():
    assert detect_language("房间隔穿刺针") == "zh"
    assert detect_language("transseptal puncture needle") == "en"
    assert detect_language("AI辅助诊断软件") == "zh"


def test_split_sentences():
    assert split_sentences("第一句。第二句！Third one. Fourth?") == ["第一句。", "第二句！", "Third one.", "Fourth?"]
    assert split_sentences("") == []


def test_tokens_do_not_drift_as_matchers_are_created():
    from matching import HashingEmbedder, Matcher
    from matching.text import tokenize

    text = "房间隔穿刺针不可调弯，穿刺点偏移，可能误入主动脉；希望开发可调弯射频穿刺系统并开展动物实验。"
    Matcher(HashingEmbedder(8))
    first = tokenize(text)
    total = __import__("matching.text", fromlist=["_get_jieba"])._get_jieba().total
    for _ in range(5):  # each Matcher registers the glossary's words again
        Matcher(HashingEmbedder(8))
        assert tokenize(text) == first
    assert __import__("matching.text", fromlist=["_get_jieba"])._get_jieba().total == total
