"""Plain dataclasses exchanged with the library (no ORM, no pydantic)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["NO_FILTERS", "CapabilityDoc", "Filters", "Match", "NeedDoc"]


@dataclass
class NeedDoc:
    id: str
    title: str
    description: str
    tracks: list[str] = field(default_factory=list)
    partner_types: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # empty = anywhere
    language: str | None = None
    required_certifications: list[str] = field(default_factory=list)
    extra_text: str = ""  # structured need-statement fields (problem, current practice, desired outcome...)
    department: str = ""
    specialties: list[str] = field(default_factory=list)  # empty: those of the department (matching.specialties)


@dataclass
class CapabilityDoc:
    id: str
    title: str
    description: str
    org_type: str = "enterprise"
    tracks: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    region: str = ""
    certifications: list[str] = field(default_factory=list)
    language: str | None = None
    org_name: str = ""
    specialties: list[str] = field(default_factory=list)  # empty = serves any specialty (platforms, general services)
    extra_text: str = ""  # what else the organisation offers: a platform's instruments, animal models, pilot lines


@dataclass(frozen=True)
class Filters:
    """Caller-chosen filters. ``partner_types`` / ``regions`` / ``stages`` are always hard filters on the candidate side
    (regions expand: "shanghai" includes putuo, "corridor" the Jiangsu corridor cities). ``hard_structured`` turns the
    need's own partner-type, region and certification requirements into hard filters too (they are soft signals
    otherwise). ``min_score`` drops weaker matches; ``exclude_ids`` drops candidates by id."""

    partner_types: frozenset[str] | list[str] | None = None
    regions: frozenset[str] | list[str] | None = None
    stages: frozenset[str] | list[str] | None = None
    min_score: float | None = None
    hard_structured: bool = False
    exclude_ids: frozenset[str] = frozenset()


NO_FILTERS = Filters()  # immutable: safe as every ranking's default


@dataclass
class Match:
    """One ranked result. Exactly one of ``capability_id`` (from ``rank``) / ``need_id`` (from ``rank_needs``) is set."""

    score: float
    signals: dict[str, float]
    explanation: dict[str, Any]
    capability_id: str | None = None
    need_id: str | None = None
    rank: int = 0
    confidence: float | None = None  # P(a domain expert judges the pair a real fit), from matching.calibration
    band: str | None = None  # "strong" / "possible" / "weak" (None without a calibration)
    features: dict[str, float] = field(default_factory=dict)  # what the confidence was computed from

    @property
    def id(self) -> str:
        return self.capability_id if self.capability_id is not None else self.need_id  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        return {"capability_id": self.capability_id, "need_id": self.need_id, "rank": self.rank,
                "score": self.score, "signals": dict(self.signals), "explanation": self.explanation,
                "confidence": self.confidence, "band": self.band}
