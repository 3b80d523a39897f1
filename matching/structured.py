"""Structured compatibility between a need and a capability: partner type, stages, region, tracks, specialty,
certifications.

Each condition is ``None`` when the need states nothing (not applicable), else a value in [0, 1]. The structured
score is the mean of applicable conditions. Conditions are soft by default; ``hard_failures`` lists the ones a caller
may turn into hard filters (partner type, region, certifications).
"""
from __future__ import annotations

from collections.abc import Iterable

from .docs import CapabilityDoc, NeedDoc
from .specialties import from_department, specialty_fit

__all__ = [
    "CONDITION_LABELS",
    "CORRIDOR",
    "SHANGHAI",
    "conditions",
    "expand_regions",
    "hard_failures",
    "need_specialties",
    "region_ok",
    "stage_fit",
    "structured_score",
]

SHANGHAI = frozenset({"shanghai", "putuo"})
CORRIDOR = frozenset({"nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang", "taizhou"})
_ALIASES = {"jiangsu": CORRIDOR, "corridor": CORRIDOR, "cluster": CORRIDOR | SHANGHAI, "shanghai": SHANGHAI}

CONDITION_LABELS = {
    "partner_type": "partner type requested by the need",
    "stages": "stages the need asks for",
    "region": "region the need requires",
    "tracks": "track overlap",
    "specialty": "clinical specialty served",
    "certifications": "certifications the need requires",
}


def expand_regions(regions: Iterable[str]) -> frozenset[str]:
    """'shanghai' -> {shanghai, putuo}; 'corridor'/'jiangsu' -> the seven corridor cities; others as given."""
    out: set[str] = set()
    for r in regions or ():
        r = (r or "").strip().lower()
        if r:
            out |= _ALIASES.get(r, {r})
    return frozenset(out)


def region_ok(wanted: Iterable[str], region: str) -> bool | None:
    w = expand_regions(wanted)
    if not w:
        return None
    return (region or "").strip().lower() in w


def need_specialties(need: NeedDoc) -> list[str]:
    return list(need.specialties) or from_department(need.department)


def stage_fit(asked, offered) -> float | None:
    """Overlap over the smaller side: a capability offering only some of the stages asked for, all of them asked,
    scores as well as one that lists every stage there is (listing more is not a better fit)."""
    asked, offered = set(asked or ()), set(offered or ())
    if not asked:
        return None
    if not offered:
        return 0.0
    return len(asked & offered) / min(len(asked), len(offered))


def conditions(need: NeedDoc, cap: CapabilityDoc) -> dict[str, float | None]:
    c: dict[str, float | None] = {}
    c["partner_type"] = None if not need.partner_types else float(cap.org_type in set(need.partner_types))
    c["stages"] = stage_fit(need.stages, cap.stages)
    ok = region_ok(need.regions, cap.region)
    c["region"] = None if ok is None else float(ok)
    c["tracks"] = None if not need.tracks or not cap.tracks else float(bool(set(need.tracks) & set(cap.tracks)))
    c["specialty"] = specialty_fit(need_specialties(need), cap.specialties)
    req = {x.lower() for x in need.required_certifications}
    if req:
        have = {x.lower() for x in cap.certifications}
        c["certifications"] = len(req & have) / len(req)
    else:
        c["certifications"] = None
    return c


def structured_score(conds: dict[str, float | None]) -> float:
    vals = [v for v in conds.values() if v is not None]
    return sum(vals) / len(vals) if vals else 0.5


HARD_CONDITIONS = ("partner_type", "region", "certifications")


def hard_failures(conds: dict[str, float | None]) -> list[str]:
    """Conditions that fail outright (value 0 for partner type / region; < 1 for certifications)."""
    out = []
    for k in HARD_CONDITIONS:
        v = conds.get(k)
        if v is None:
            continue
        if (k == "certifications" and v < 1.0) or v == 0.0:
            out.append(k)
    return out
