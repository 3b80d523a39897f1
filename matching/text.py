"""Text normalisation and tokenisation for Chinese and English.

* ``normalize`` folds full-width forms (NFKC), lower-cases, and keeps a map back to the
  original characters so that explanations can quote the original text exactly.
* ``tokenize`` uses jieba (precise mode) for runs of CJK characters and stemmed words
  (Snowball English via PyStemmer) for runs of Latin letters/digits; stopwords and
  punctuation are dropped.
* ``split_sentences`` splits on Chinese and English sentence punctuation.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jieba
import Stemmer  # PyStemmer

__all__ = [
    "EN_STOPWORDS",
    "ZH_STOPWORDS",
    "Token",
    "add_zh_words",
    "detect_language",
    "normalize",
    "normalize_with_map",
    "split_sentences",
    "stem",
    "tokenize",
    "tokenize_with_spans",
]

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_RUN_RE = re.compile(f"([{_CJK}]+)|([a-z0-9]+)")
_LATIN_RE = re.compile(r"[A-Za-z]")
_SENT_SPLIT_RE = re.compile(r"(?<=[。！？；!?;])|\n+|(?<=[.])\s+")

EN_STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either", "etc", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "may", "me", "might", "more", "most", "must", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own", "per", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "upon", "very", "via", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "you", "your", "yours", "us", "one", "two", "can't", "don't", "isn't", "we're", "it's", "let", "lets"])

ZH_STOPWORDS = frozenset(["的", "了", "和", "与", "及", "或", "在", "是", "为", "对", "以", "等", "并", "也", "都", "而", "将", "被", "把", "从", "由", "于", "其", "之", "中", "上", "下", "个", "有", "我", "我们", "你", "他", "她", "它", "这", "那", "这些", "那些", "一", "一种", "一个", "可", "能", "可以", "就", "还", "又", "很", "更", "最", "不", "没", "没有", "如", "如果", "因为", "所以", "但", "但是", "已", "已经", "要", "需", "需要", "会", "让", "给", "到", "着", "过", "吗", "呢", "吧", "啊", "该", "此", "各", "每", "及其", "以及", "并且", "或者", "通过", "进行", "用于", "其中", "目前", "现在", "希望", "想", "找", "一些", "多", "少", "后", "前", "时", "里", "内", "外", "能够", "所", "做", "用"])

_STEMMER_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer():
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    with _STEMMER_LOCK:
        return _stemmer().stemWord(word)


def _norm_char(c: str) -> str:
    n = unicodedata.normalize("NFKC", c)
    # Keep CJK punctuation distinguishable as ASCII equivalents.
    n = n.replace("\u3002", ".").replace("\u3001", ",")
    return n.lower()


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """NFKC + lowercase per character; returns (normalised, index map normalised->original)."""
    text = text or ""
    fast = unicodedata.normalize("NFKC", text).replace("\u3002", ".").replace("\u3001", ",").lower()
    if len(fast) == len(text):  # the common case: every character maps to exactly one
        return fast, list(range(len(text)))
    out: list[str] = []
    idx: list[int] = []
    for i, c in enumerate(text):
        if c.isascii():
            n = c.lower()
        else:
            n = _norm_char(c)
        out.append(n)
        idx.extend([i] * len(n))
    return "".join(out), idx


def normalize(text: str) -> str:
    """Full-width -> half-width (NFKC), lower-case, collapse whitespace."""
    return re.sub(r"\s+", " ", normalize_with_map(text)[0]).strip()


def detect_language(text: str) -> str:
    """'zh' if CJK characters outnumber Latin letters / 2, else 'en' (empty text -> 'en')."""
    cjk = len(_CJK_RE.findall(text or ""))
    lat = len(_LATIN_RE.findall(text or ""))
    return "zh" if cjk > 0 and cjk * 2 >= lat / 2 else "en"


_jieba_lock = threading.Lock()
_jieba = None
_pending_words: set[str] = set()
_added_words: set[str] = set()


def _get_jieba():
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            _jieba = tk
        if _pending_words:
            # each word once: jieba's add_word adds the frequency to the dictionary's total every time, so adding the
            # glossary again (every new Matcher did) shifted every word's probability and tokens drifted over time
            for w in sorted(_pending_words - _added_words):
                _jieba.add_word(w, freq=20000)
            _added_words.update(_pending_words)
            _pending_words.clear()
        return _jieba


def add_zh_words(words) -> None:
    """Register domain words (e.g. glossary terms) so that jieba keeps them as single tokens."""
    with _jieba_lock:
        for w in words:
            w = normalize(w)
            if w and _CJK_RE.search(w):
                _pending_words.add(w)


@dataclass(frozen=True)
class Token:
    term: str  # normalised token (stemmed for English)
    start: int  # span in the ORIGINAL text
    end: int
    lang: str  # 'zh' | 'en'


def tokenize_with_spans(text: str, keep_stopwords: bool = False) -> list[Token]:
    norm, idx = normalize_with_map(text)
    toks: list[Token] = []
    jb = None
    for m in _RUN_RE.finditer(norm):
        if m.group(1):
            if jb is None:
                jb = _get_jieba()
            pos = m.start()
            for w in jb.lcut(m.group(1), HMM=True):
                s, e = pos, pos + len(w)
                pos = e
                if not keep_stopwords and w in ZH_STOPWORDS:
                    continue
                toks.append(Token(w, idx[s], idx[e - 1] + 1, "zh"))
        else:
            w = m.group(2)
            if not keep_stopwords and (w in EN_STOPWORDS or len(w) < 2 and not w.isdigit()):
                continue
            toks.append(Token(stem(w), idx[m.start()], idx[m.end() - 1] + 1, "en"))
    return toks


def tokenize(text: str, keep_stopwords: bool = False) -> list[str]:
    """Tokens for lexical matching: jieba words for Chinese runs, stemmed words for English runs."""
    return [t.term for t in tokenize_with_spans(text, keep_stopwords)]


def split_sentences(text: str, min_chars: int = 4) -> list[str]:
    """Split into sentences on 。！？；!?; newlines and '. ' (English); short fragments are merged."""
    text = (text or "").strip()
    if not text:
        return []
    parts = [p.strip() for p in _SENT_SPLIT_RE.split(text) if p and p.strip()]
    out: list[str] = []
    for p in parts:
        if out and len(p) < min_chars:
            out[-1] += p
        else:
            out.append(p)
    return out
