"""Generic evidence: glossary concepts and words that almost every need or capability uses ("医疗器械", "开展",
"medical device", "develop"). They say what kind of organisation or stage a text is about, not which clinical
problem, so explanations never quote them and the calibrated confidence does not count them as shared evidence.
The one place that lists them."""
from __future__ import annotations

from functools import lru_cache

from .text import stem

__all__ = ["GENERIC_CONCEPTS", "GENERIC_TERMS", "is_generic_concept", "is_generic_term"]

# stage / organisation / paperwork concepts every capability names
GENERIC_CONCEPTS: frozenset[str] = frozenset({
    "medical_device", "manufacturing", "registration", "clinical_trial", "prototyping", "medical_software",
    "iso13485", "university_lab", "public_platform",
})

# words (as the tokeniser produces them: jieba words, Snowball stems for English) that carry no topic
_ZH = """开展 研发 研究 提供 医疗器械 器械 医疗 企业 公司 合作 合作方 医院 临床 患者 病人 产品 技术 服务
平台 希望 需要 想要
支持 完成 进行 能够 可以 相关 系统 设备 生产 注册 用于 具备 拥有 目前 已经 已 问题 方案 单位 团队 科室 我们 国内
领域 专业 应用 解决方案 寻找 开发 一起 用 做 能 有 没有 希望找 有限公司 科技 医学 机构 项目 实现 可 提升
使用 设计 针对 评估 基于 探索 数据 功能 管理 实时 方法 结果 效果 过程 时间 分钟 参与 经验 治疗 工作 方式 情况
临床评价 临床试验 临床研究 注册申报 试点 自动 智能 目标 要求 条件 标准 质量 水平 能力 资源 形成 建立 提高 降低"""
_EN = """develop development provide provides company companies product products patient patients clinical clinic
hospital hospitals device devices medical solution solutions service services platform technology technologies
system systems partner partners support offer offers need needs want use used using work able new based help looking
seeking team evaluation evaluate result results department time minute minutes data high low current improve
reduce approach process design quality based base"""

GENERIC_TERMS: frozenset[str] = frozenset(_ZH.split())


@lru_cache(maxsize=1)
def _en_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in _EN.split())


def is_generic_concept(concept_id: str) -> bool:
    return concept_id in GENERIC_CONCEPTS


def is_generic_term(token: str) -> bool:
    """``token`` as the tokeniser emits it (a jieba word or an English stem)."""
    return token in GENERIC_TERMS or token in _en_stems()
