"""The service's words in Chinese and English: one message catalogue (gettext's .po format, read with Babel), the
caller's language, and messages that keep their template so they can be said in either language.

English is the source language (the msgids); ``app/locale/zh/LC_MESSAGES/messages.po`` holds the Chinese. A
message is created in English where it happens (``msg("Need {need_id} not found.", need_id=5)``, a ``str`` that
also keeps its template and parameters) and said in the caller's language where it leaves the server (problem
details, guard messages). ``tests/test_i18n.py`` extracts every ``msg(...)`` from the code with Babel and checks
that the catalogue translates each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from babel.messages.pofile import read_po

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"  # the people this service is for read Chinese first
CATALOGUE = Path(__file__).parent / "locale" / "zh" / "LC_MESSAGES" / "messages.po"
LIST_SEPARATOR = {"zh": "；", "en": "; "}


class Message(str):
    """A message in English (it is that string) that remembers its template and parameters."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Self:
        shown = {k: LIST_SEPARATOR["en"].join(map(str, v)) if isinstance(v, (list, tuple)) else v
                 for k, v in params.items()}
        self = super().__new__(cls, template.format(**shown) if params else template)
        self.template, self.params = template, params
        return self


def msg(template: str, **params: Any) -> Message:
    """Mark a message for the catalogue and keep its parameters (Babel extracts ``msg("...")`` calls)."""
    return Message(template, **params)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    """msgid -> Chinese, read once from the .po file (Babel's reader: no compile step)."""
    with CATALOGUE.open("rb") as fh:
        cat = read_po(fh, locale="zh_Hans_CN")
    return {m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string}


def word(text: str, lang: str) -> str:
    """One catalogue entry (a sentence, a state's name) in ``lang``; unknown text is returned as it is."""
    if lang != "zh":
        return text
    return catalogue().get(text, text)


def say(message: str, lang: str) -> str:
    """``message`` in ``lang``: a ``Message`` is translated from its template, its parameters too when they are
    catalogue entries themselves (a state's name, a guard's sentence; lists joined in the language's way)."""
    if lang != "zh" or not isinstance(message, Message):
        return word(str(message), lang)
    params = {}
    for k, v in message.params.items():
        if isinstance(v, (list, tuple)):
            params[k] = LIST_SEPARATOR[lang].join(say(x, lang) for x in v)
        elif isinstance(v, str):
            params[k] = say(v, lang)
        else:
            params[k] = v
    return word(message.template, lang).format(**params)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The caller's language: their own preference, else the first of Accept-Language we speak (by q-value), else
    Chinese. Parsed here (a dozen lines): Babel negotiates locales but does not read the header."""
    if preferred in LANGS:
        return preferred
    ranked = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";")
        try:
            weight = float(q.strip()[2:]) if q.strip().startswith("q=") else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, i, tag.strip().lower()))
    for _w, _i, tag in sorted(ranked):
        base = tag.split("-")[0]
        if base in LANGS:
            return base
    return DEFAULT_LANG
