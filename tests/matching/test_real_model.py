"""With the REAL multilingual model: the model case from DOMAIN.md (transseptal puncture)."""
import numpy as np
import pytest

from matching import CapabilityDoc, Matcher, NeedDoc

TSP_NEED = NeedDoc(
    id="N-TSP", title="房间隔穿刺针不可调弯，需要更精准安全的穿刺器械",
    description=("房间隔穿刺术是心血管介入最常用的技术之一，房颤和结构性心脏病患者越来越多。现有房间隔穿刺针不可调弯，"
                 "在房间隔阻力下容易上滑，穿刺点偏移，可能误入主动脉甚至造成心脏穿孔。希望与企业合作研发更精准、更安全、"
                 "更易操作的新型穿刺器械，并共同开展动物实验和上市前临床评价。"),
    tracks=["interventional_implant"], partner_types=["enterprise"], stages=["rnd", "animal_trial", "clinical_evaluation"],
    regions=[], language="zh")

TARGET_EN = CapabilityDoc(
    "C-TSP-EN", "Steerable radiofrequency transseptal puncture system",
    "Our steerable RF transseptal puncture system lets the operator deflect the needle tip and cross the atrial septum "
    "with radiofrequency energy instead of mechanical force, reducing slippage and the risk of aortic puncture. "
    "We support animal studies and pre-market clinical evaluation with hospitals.",
    "enterprise", ["interventional_implant"], ["rnd", "animal_trial", "clinical_evaluation", "manufacturing"], "putuo",
    ["ISO13485"], "en")

DISTRACTORS = [
    CapabilityDoc("D1", "左心耳封堵术前CT三维建模与尺寸规划软件", "基于心脏CT自动重建左心耳三维模型，辅助封堵器尺寸选择。", "enterprise",
                  ["digital_health"], ["clinical_evaluation"], "suzhou", [], "zh"),
    CapabilityDoc("D2", "Coronary guiding catheters", "A family of coronary guiding catheters and diagnostic catheters for PCI.",
                  "enterprise", ["interventional_implant"], ["manufacturing"], "nanjing", ["ISO13485"], "en"),
    CapabilityDoc("D3", "可穿戴动态心电贴", "连续14天单导联心电监测，AI自动识别房颤等心律失常。", "enterprise",
                  ["digital_health"], ["clinical_evaluation", "manufacturing"], "wuxi", ["NMPA-II"], "zh"),
    CapabilityDoc("D4", "大动物实验中心", "提供猪、羊等大动物心血管介入模型和GLP动物实验服务。", "platform",
                  ["biotech_rnd"], ["animal_trial"], "suzhou", ["GLP"], "zh"),
    CapabilityDoc("D5", "Transcatheter aortic valve replacement system", "Self-expanding TAVR valve with a 14F delivery system.",
                  "enterprise", ["interventional_implant"], ["clinical_evaluation", "manufacturing"], "shanghai", [], "en"),
    CapabilityDoc("D6", "内镜黏膜下剥离电切刀", "用于消化内镜ESD手术的可旋转电切刀。", "enterprise", ["interventional_implant"],
                  ["manufacturing"], "changzhou", [], "zh"),
]


@pytest.fixture(scope="module")
def matcher(real_embedder):
    m = Matcher(real_embedder)
    m.upsert_capabilities([TARGET_EN, *DISTRACTORS])
    return m


def test_real_model_identity(real_embedder):
    assert real_embedder.name and real_embedder.version and real_embedder.dim == 512
    v = real_embedder.encode_passages(["房间隔穿刺", "transseptal puncture", "bread recipe"])
    assert v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_chinese_tsp_need_ranks_english_steerable_rf_system_first(matcher):
    res = matcher.rank(TSP_NEED, k=7)
    assert res[0].capability_id == "C-TSP-EN", [(r.capability_id, round(r.score, 3)) for r in res]
    e = res[0].explanation
    tsp = [c for c in e["shared_concepts"] if c["concept"] == "transseptal_puncture"]
    assert tsp, e["shared_concepts"]
    assert tsp[0]["zh"] == "房间隔穿刺" and tsp[0]["en"] == "transseptal puncture"
    for q in tsp[0]["need_terms"]:
        assert q["text"] in getattr(TSP_NEED, {"title": "title", "description": "description"}[q["field"]])
    for q in tsp[0]["capability_terms"]:
        assert q["text"] in getattr(TARGET_EN, q["field"])
    assert "房间隔穿刺" in e["summary"] and "transseptal puncture" in e["summary"]


def test_chinese_target_also_first(real_embedder):
    target_zh = CapabilityDoc("C-TSP-ZH", "房间隔可调弯射频穿刺系统",
                              "可调弯鞘配合射频穿刺针，术中可控弯定位穿刺点，以射频能量穿过房间隔，降低滑脱和误穿主动脉风险。",
                              "enterprise", ["interventional_implant"], ["rnd", "animal_trial", "clinical_evaluation"], "putuo",
                              ["ISO13485"], "zh")
    m = Matcher(real_embedder)
    m.upsert_capabilities([target_zh, *DISTRACTORS])
    assert m.rank(TSP_NEED, k=3)[0].capability_id == "C-TSP-ZH"


def test_reverse_direction_finds_the_need(real_embedder):
    m = Matcher(real_embedder)
    other = NeedDoc("N-FALL", "养老院老人夜间跌倒发现不及时", "老人夜里起床跌倒，早上查房才发现。", ["rehab_eldercare"], ["enterprise"],
                    ["clinical_evaluation"], [], "zh")
    m.upsert_needs([other, TSP_NEED])
    assert m.rank_needs(TARGET_EN, k=2)[0].need_id == "N-TSP"
