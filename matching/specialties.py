"""Clinical specialties: a reviewed bilingual list (``data/specialties.tsv``) and a department's specialties.

A need names the specialties it belongs to, or they follow from its department ("心血管内科", "Neonatal Intensive
Care Unit"); a capability names those it serves, none meaning any (platforms, general services). Codes are stable
identifiers; ``parent`` groups a subspecialty under its specialty (GI endoscopy under gastroenterology).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["SPECIALTIES", "Specialty", "from_department", "specialty_codes", "specialty_fit"]

DATA = Path(__file__).parent / "data" / "specialties.tsv"


@dataclass(frozen=True)
class Specialty:
    code: str
    zh: str
    en: str
    parent: str | None
    aliases: tuple[str, ...]


def _load(path: Path = DATA) -> dict[str, Specialty]:
    out: dict[str, Specialty] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, zh, en, parent, aliases = (line.split("\t") + [""] * 5)[:5]
        out[code] = Specialty(code, zh, en, parent or None, tuple(a.strip().lower() for a in aliases.split("|") if a.strip()))
    for s in out.values():
        if s.parent and s.parent not in out:
            raise ValueError(f"{path}: {s.code}'s parent {s.parent!r} is not in the list")
    return out


SPECIALTIES: dict[str, Specialty] = _load()


@cache
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every alias, longest first (so 'neonatal intensive care' wins over 'intensive care');
    English aliases only as whole words ('icu' is not inside another word)."""
    owner: dict[str, list[str]] = {}
    for s in SPECIALTIES.values():
        for a in s.aliases:
            owner.setdefault(a, []).append(s.code)
    parts = []
    for a in sorted(owner, key=len, reverse=True):
        esc = re.escape(a)
        parts.append(rf"(?<![a-z]){esc}(?![a-z])" if a.isascii() else esc)
    return re.compile("|".join(parts)), {a: "|".join(c) for a, c in owner.items()}


def from_department(department: str | None) -> list[str]:
    """The specialties a department's name points to (in list order; empty when nothing is recognised)."""
    text = (department or "").strip().lower()
    if not text:
        return []
    pattern, owner = _pattern()
    found = {code for m in pattern.finditer(text) for code in owner[m.group(0)].split("|")}
    return [c for c in SPECIALTIES if c in found]


def _lineage(code: str) -> set[str]:
    out, cur = set(), SPECIALTIES.get(code)
    while cur is not None:
        out.add(cur.code)
        cur = SPECIALTIES.get(cur.parent) if cur.parent else None
    return out


@cache
def _codes(wanted: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    full, half = set(), set()
    for n in wanted:
        ln = _lineage(n) or {n}
        for c in SPECIALTIES:
            lc = _lineage(c)
            if n in lc or c in ln:
                full.add(c)
            elif ln & lc:
                half.add(c)
        full.add(n)
    return frozenset(full), frozenset(half - full)


def specialty_codes(wanted) -> tuple[frozenset[str], frozenset[str]]:
    """For a need's specialties: the codes a capability may serve to fit fully (the same specialty, its parent or a
    child) and those that fit half (a sibling under the same parent)."""
    return _codes(frozenset(wanted))


def specialty_fit(need: Iterable[str], capability: Iterable[str]) -> float | None:
    """1 when the capability serves one of the need's specialties (or its parent or child), 0.5 for a sibling under
    the same parent, 0 otherwise; None when either side names none (a capability naming none serves any)."""
    need, capability = set(need or ()), set(capability or ())
    if not need or not capability:
        return None
    full, half = specialty_codes(need)
    return 1.0 if capability & full else 0.5 if capability & half else 0.0
