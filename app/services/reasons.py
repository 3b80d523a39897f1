"""A match's reasons in words a reader of either language reads: built from the matcher's structured explanation
(shared concepts with their Chinese and English labels, the conditions that fail), with the sentences from the
message catalogue, so a Chinese reader never reads English (the matcher's own ``summary`` stays English: it is the
API's machine-facing text)."""

from __future__ import annotations

from typing import Any

from app.i18n import msg, say

CONCEPTS = msg("shared concepts: {concepts}")
FAILS = msg("does not meet: {conditions}")
NOTHING_SPECIFIC = msg("no specific shared concept; semantic similarity of the texts")
CONDITIONS = {"partner_type": msg("the partner type requested"), "stages": msg("the stages asked for"),
              "region": msg("the region required"), "tracks": msg("the tracks"),
              "specialty": msg("the clinical specialty"),
              "certifications": msg("the certifications required")}
_LIST = {"zh": "、", "en": ", "}
_PARTS = {"zh": "；", "en": "; "}


def why(explanation: dict[str, Any] | None, lang: str, limit: int = 5) -> str:
    """The reasons in ``lang`` ('zh' or 'en'); '' for a match stored without an explanation."""
    if not explanation:
        return ""
    parts = []
    concepts = [c.get(lang) or c.get("en") or c.get("concept", "") for c in explanation.get("shared_concepts", [])]
    if concepts:
        parts.append(say(msg(CONCEPTS.template, concepts=_LIST[lang].join(concepts[:limit])), lang))
    fails = [x["condition"] for x in explanation.get("structured", []) if x.get("holds") == "no"]
    if fails:
        names = _LIST[lang].join(say(CONDITIONS.get(f, msg(f)), lang) for f in fails)
        parts.append(say(msg(FAILS.template, conditions=names), lang))
    return _PARTS[lang].join(parts) if parts else say(NOTHING_SPECIFIC, lang)


def both(explanation: dict[str, Any] | None) -> dict[str, str]:
    """``why`` in both languages, for a message whose reader's language is chosen later (notification items)."""
    return {"why": why(explanation, "en"), "why_zh": why(explanation, "zh")}
