import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.lexical import BM25Index, field_tokens, reference_bm25


def test_bm25_hand_value():
    docs = [["a", "b", "a"], ["b", "c"], ["d"], ["a", "c", "c", "e"]]
    # 'a': df=2, N=4 -> idf = ln(1 + 2.5/2.5) = ln 2; avgdl = 2.5
    idf = math.log(2)
    k1, b = 1.2, 0.75
    d0 = idf * 2 / (2 + k1 * (1 - b + b * 3 / 2.5))
    d3 = idf * 1 / (1 + k1 * (1 - b + b * 4 / 2.5))
    s = BM25Index(k1, b).fit(docs).scores(["a"])
    assert np.allclose(s, [d0, 0, 0, d3], atol=1e-6)


words = st.sampled_from(list("abcdefgh") + ["房间隔", "穿刺", "steer"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(words, min_size=1, max_size=12), min_size=1, max_size=12), st.lists(words, min_size=1, max_size=5))
def test_bm25_matches_independent_implementation(docs, query):
    got = BM25Index().fit(docs).scores(query)
    ref = reference_bm25(docs, query)
    assert np.allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_idf_mass_bounds_scores():
    docs = [["a", "b"] * 5, ["b"], ["c", "a"]]
    idx = BM25Index().fit(docs)
    q = ["a", "b", "zz"]
    assert idx.scores(q).max() <= idx.idf_mass(q) + 1e-6


def test_empty_and_unknown_query():
    idx = BM25Index().fit([["a"], ["b"]])
    assert idx.scores([]).tolist() == [0, 0]
    assert idx.scores(["zz"]).tolist() == [0, 0]
    assert BM25Index().fit([]).scores(["a"]).shape == (0,)


def test_field_weights_repeat_tokens():
    assert field_tokens({"title": ["x"], "description": ["y"]}) == ["x", "x", "y"]
