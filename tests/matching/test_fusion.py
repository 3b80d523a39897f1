import numpy as np
import pytest

from matching.fusion import DEFAULT_WEIGHTS, contributions, linear_fusion, max_normalize, rrf


def test_linear_fusion_is_weighted_sum():
    s = {"a": np.array([1.0, 0.0]), "b": np.array([0.5, 1.0]), "c": np.array([9.0, 9.0])}
    out = linear_fusion(s, {"a": 0.5, "b": 0.5, "d": 1.0})
    assert np.allclose(out, [0.75, 0.5])


def test_contributions_sum_to_fused_score():
    s = {k: 0.4 for k in DEFAULT_WEIGHTS}
    fused = float(linear_fusion({k: np.array([v]) for k, v in s.items()}, DEFAULT_WEIGHTS)[0])
    assert sum(contributions(s, DEFAULT_WEIGHTS).values()) == pytest.approx(fused, abs=1e-6)


def test_max_normalize():
    assert np.allclose(max_normalize(np.array([2.0, 1.0, 0.0])), [1, 0.5, 0])
    assert np.allclose(max_normalize(np.zeros(3)), 0)


def test_rrf_hand_computed():
    out = rrf([["a", "b"], ["b", "c"]], k=60)
    assert out["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert out["a"] == pytest.approx(1 / 61)
    assert max(out, key=out.get) == "b"


def test_default_weights_positive_part_sums_to_one():
    assert sum(w for w in DEFAULT_WEIGHTS.values() if w > 0) == pytest.approx(1.0)
