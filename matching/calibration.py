"""Calibrated confidence of a ranked pair: the probability that a domain expert would judge it a real fit (grade >= 2).

A logistic model on the ranker's own signals and on where the pair stands in its candidate pool (its margin over the
pool's median first-stage score, its gap to the best result), fitted on judged data by ``python -m matching.calibrate``
and shipped as ``data/calibration.json``; at run time it is a dot product (numpy only). ``band`` turns the
probability into ``strong`` / ``possible`` / ``weak``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DEFAULT_BAND_POSSIBLE",
    "DEFAULT_BAND_STRONG",
    "DEFAULT_CALIBRATION_PATH",
    "FEATURES",
    "Calibrator",
    "band_of",
    "load_calibrator",
]

DEFAULT_CALIBRATION_PATH = Path(__file__).parent / "data" / "calibration.json"
# P(real fit) at or above which a match is "strong" / "possible" (below: "weak"); see matching/README.md
DEFAULT_BAND_STRONG = 0.6
DEFAULT_BAND_POSSIBLE = 0.3

# every feature the ranker computes for a returned match (``Match.features``); the fitted model uses a subset
FEATURES = ("score", "dense", "passage", "lexical", "concept", "structured", "concept_specific", "margin", "top_gap",
            "score_z")


def band_of(p: float | None, strong: float = DEFAULT_BAND_STRONG,
            possible: float = DEFAULT_BAND_POSSIBLE) -> str | None:
    if p is None:
        return None
    return "strong" if p >= strong else ("possible" if p >= possible else "weak")


@dataclass
class Calibrator:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict = field(default_factory=dict)

    def predict(self, feats: Mapping[str, float]) -> float:
        z = self.intercept
        for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef):
            x = float(feats.get(name, 0.0))
            if not math.isfinite(x):
                x = m
            z += c * (x - m) / s
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    def to_json(self) -> dict:
        r6 = lambda xs: [round(float(x), 6) for x in xs]
        return {"features": self.features, "mean": r6(self.mean), "scale": r6(self.scale), "coef": r6(self.coef),
                "intercept": round(self.intercept, 6), **self.meta}

    @classmethod
    def from_json(cls, d: Mapping) -> Calibrator:
        keys = ("features", "mean", "scale", "coef", "intercept")
        return cls(list(d["features"]), [float(x) for x in d["mean"]], [float(x) or 1.0 for x in d["scale"]],
                   [float(x) for x in d["coef"]], float(d["intercept"]), {k: v for k, v in d.items() if k not in keys})


@lru_cache(maxsize=4)
def load_calibrator(path: str | Path | None = None) -> Calibrator | None:
    """The shipped (or given) calibration; None when the file does not exist."""
    p = Path(path) if path else DEFAULT_CALIBRATION_PATH
    if not p.exists():
        return None
    return Calibrator.from_json(json.loads(p.read_text(encoding="utf-8")))
