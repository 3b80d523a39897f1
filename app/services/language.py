"""Language of a text: Chinese when Han characters make up a real share of its letters, else English.

Written here rather than taken from a detector library: clinmatch only tells zh from en, and a script count is exact
for that, instant, and has no model to load.
"""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(*texts: str) -> str:
    text = " ".join(t for t in texts if t)
    han = len(_HAN.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    # A Han character carries about as much as an English word; abbreviations (TSP, AI, CT) do not make a text English.
    return "zh" if han and han >= 0.5 * latin_words else "en"
