"""Which sentences of a need describe what it WANTS and which describe the status quo / the problem it rejects.

A need statement usually complains about the current practice ("现有输送鞘为固定弯型…", "we switch to a stent
retriever…") and then says what it is looking for ("希望…", "We are looking for…"). A capability that matches the
complaint but not the wish is typically the very product class the need rejects. The rules are transparent cue
lists (no training); a sentence with a wish cue is ``want``; else with a status-quo cue is ``status_quo``;
else ``neutral``. The title is always ``want``.
"""
from __future__ import annotations

import re

__all__ = ["STATUS_QUO_CUES", "WANT_CUES", "sentence_stance"]

WANT_CUES = re.compile(
    r"希望|想找|想要|想知道|寻找|寻求|期望|期待|需要一种|需要找|征集|拟与|欲与|计划|打算|"
    r"\b(?:looking for|look for|we want|we need|we would like|we'd like|seeking|seek|hope to|aim to|wish|"
    r"interested in|partner with|would welcome|require[sd]?)\b", re.IGNORECASE)
STATUS_QUO_CUES = re.compile(
    r"现有|现用|目前|现在|传统|常规|只能|仅能|依靠|依赖|但|却|无法|不能|不可|不够|不准|不足|不佳|不理想|难以|容易|"
    r"经常|费时|耗时|太慢|太多|误诊|漏诊|漏报|反复|"
    r"\b(?:currently|current|existing|conventional|standard|today|only|cannot|can't|can not|don't|doesn't|do not|"
    r"does not|will not|won't|not|fail|fails|failed|too|poor|miss|missed|take off|switch to|instead|rely on|"
    r"relies on|limited)\b", re.IGNORECASE)


def sentence_stance(sentence: str, is_title: bool = False) -> str:
    if is_title:
        return "want"
    if WANT_CUES.search(sentence):
        return "want"
    if STATUS_QUO_CUES.search(sentence):
        return "status_quo"
    return "neutral"
