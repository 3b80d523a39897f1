"""Need statements describe the problem and the outcome wanted, not a solution: warn when they name one."""

from __future__ import annotations

import re

from app.models.need import Warning_

# A solution is named when the outcome asks to build/use a specific kind of artefact.
_ZH_VERBS = "开发|研发|研制|设计|制作|做一[个款种台套]|采用|使用|引进|购买|定制"
_ZH_ARTEFACTS = ("系统", "设备", "装置", "器械", "导管", "穿刺针", "支架", "软件", "算法", "平台", "APP", "机器人",
                 "传感器", "芯片", "试剂盒", "可穿戴", "人工智能", "AI", "射频", "激光", "超声", "球囊", "鞘")
_EN_VERBS = r"develop|design|build|create|make|use|using|adopt|buy|purchase|deploy|implement"
_EN_ARTEFACTS = ("device", "system", "catheter", "needle", "stent", "software", "app", "algorithm", "platform",
                 "robot", "sensor", "chip", "kit", "wearable", "ai", "machine learning", "radiofrequency", "rf",
                 "laser", "ultrasound", "balloon", "sheath", "blockchain")

_ZH_RE = re.compile(rf"(?:{_ZH_VERBS})[^。；;，,]{{0,12}}?({'|'.join(map(re.escape, _ZH_ARTEFACTS))})", re.IGNORECASE)
_EN_RE = re.compile(rf"\b(?:{_EN_VERBS})\b[^.;]{{0,40}}?\b({'|'.join(map(re.escape, _EN_ARTEFACTS))})\b", re.IGNORECASE)


def solution_terms(text: str) -> list[str]:
    found = []
    for rx in (_ZH_RE, _EN_RE):
        for m in rx.finditer(text or ""):
            phrase = m.group(0).strip()
            if phrase not in found:
                found.append(phrase)
    return found


def statement_warnings(desired_outcome: str, title: str = "") -> list[Warning_]:
    warnings = []
    terms = solution_terms(desired_outcome)
    if terms:
        warnings.append(Warning_(
            code="solution_in_outcome", field="desired_outcome", terms=terms,
            message="The outcome wanted names a specific solution (" + "; ".join(terms) + "). Describe the result "
                    "you need (e.g. 'puncture lands where intended, no aortic entry') so partners can propose their own "
                    "approach. / 期望结果中写入了具体解决方案，建议描述希望达到的临床效果。",
        ))
    if not desired_outcome.strip():
        warnings.append(Warning_(code="outcome_missing", field="desired_outcome",
                                 message="No outcome wanted is stated; partners match better when it is. / 未填写期望结果。"))
    return warnings
