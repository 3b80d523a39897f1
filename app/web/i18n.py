"""The dashboard's words, Chinese (default) and English."""

from __future__ import annotations

LANGS = ("zh", "en")

_W: dict[str, tuple[str, str]] = {
    # page
    "title": ("普陀区医企协同 · 管线看板", "Putuo clinical-needs pipeline"),
    "subtitle": ("区商务委：临床需求从发布到临床应用的全过程",
                 "District commerce commission: clinical needs from filing to clinical use"),
    "signin": ("登录", "Sign in"), "signout": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"),
    "signin_help": ("请输入商务委或管理员账号的访问令牌。", "Paste the access token of a commission or admin account."),
    "bad_token": ("令牌无效、已撤销或已过期。", "The token is invalid, revoked or expired."),
    "too_many": ("失败次数过多，请稍后再试。", "Too many failed attempts; try again later."),
    "csrf_failed": ("表单已过期或来源不明，请重新打开页面后再提交。",
                    "The form has expired or did not come from this site; reload the page and submit again."),
    "forbidden": ("无权访问", "Not allowed"),
    "forbidden_help": ("看板仅向区商务委和管理员开放。",
                       "The dashboard is for the district commerce commission and administrators only."),
    "filters": ("筛选", "Filters"), "date_from": ("发布日期自", "Published from"), "date_to": ("至", "to"),
    "track": ("赛道", "Track"), "region": ("地区", "Region"), "stale_days": ("停滞天数", "Stalled after (days)"),
    "all": ("全部", "All"), "apply": ("应用", "Apply"), "csv": ("导出 CSV", "CSV"),
    "funnel": ("转化漏斗", "Funnel"), "step": ("环节", "Step"), "count": ("数量", "Count"),
    "conversion": ("环节转化率", "Step conversion"), "overall": ("累计转化率", "Of needs filed"),
    "durations": ("各阶段停留时间（天）", "Time in each stage (days)"), "stage": ("阶段", "Stage"),
    "n": ("样本", "n"), "median": ("中位数", "Median"), "p90": ("90 分位", "90th percentile"),
    "trend": ("月度趋势（按需求发布月份）", "Trend by month (month the need was published)"),
    "stalled": ("停滞的合作", "Stalled partnerships"), "waiting": ("等待首个意向企业的需求",
                                                               "Needs waiting for a first interested company"),
    "need": ("需求", "Need"), "hospital": ("医院", "Hospital"), "partner": ("合作方", "Partner"),
    "state": ("状态", "State"), "last_activity": ("最近动态", "Last activity"), "idle_days": ("停滞天数", "Idle days"),
    "waiting_days": ("等待天数", "Days waiting"), "department": ("科室", "Department"),
    "matching": ("匹配效率", "Matching efficiency"),
    "open_needs": ("开放中的需求", "Open needs"), "open_with_interest": ("其中已有意向企业", "with an interested company"),
    "share_open_with_interest": ("占比", "share"), "needs_with_interest": ("有意向的需求（全部）",
                                                                          "Needs with interest (all)"),
    "median_days_to_first_interest": ("首个意向中位天数", "Median days to first interest"),
    "p90_days_to_first_interest": ("首个意向 90 分位天数", "90th percentile days to first interest"),
    "breakdowns": ("分项统计", "Breakdowns"), "none": ("无", "None"),
    "engagement": ("合作详情", "Partnership"), "history": ("流转记录", "History"),
    "milestones": ("里程碑", "Milestones"), "participants": ("参与方", "Participants"),
    "back": ("返回看板", "Back to the dashboard"), "readonly": ("只读视图", "Read-only view"),
    "date": ("日期", "Date"), "reference": ("编号", "Reference"), "comment": ("说明", "Comment"),
    "from": ("自", "From"), "to": ("至", "To"), "at": ("时间", "At"), "kind": ("类型", "Kind"),
    "headline": ("要点", "At a glance"), "shanghai_time": ("北京时间", "Shanghai time"),
    "kpi_open_needs": ("开放需求", "Open needs"), "kpi_without_fit": ("尚无合适伙伴的需求", "Open needs without a fitting partner"),
    "kpi_active": ("进行中的合作", "Partnerships under way"),
    "kpi_need_to_intent": ("需求发布到合作意向（中位天数）", "Median days from need to intent"),
    "kpi_brokered": ("商务委撮合 / 匹配促成", "Brokered / matched partnerships"),
    "occurred": ("发生时间", "Happened"), "recorded": ("记录时间", "Recorded"), "pathway": ("路径", "Pathway"),
    "documents": ("文件", "Documents"), "unconfirmed": ("未经所属方确认", "unconfirmed by its owner"),
    "owner_hospital": ("医院的证据", "the hospital's evidence"),
    "owner_animal_facility": ("动物实验机构的证据", "the animal facility's evidence"),
    "owner_lead": ("牵头企业的证据", "the lead company's evidence"),
    "role_rnd": ("研发合作", "R&D"), "role_animal_facility": ("动物实验机构", "Animal facility"),
    "role_manufacturing": ("生产/中试", "Manufacturing"), "role_testing": ("检测机构", "Testing"),
    "role_registration_support": ("注册服务", "Registration support"), "role_clinical_site": ("临床中心", "Clinical site"),
    "role_other": ("其他", "Other"),
    "responsible": ("负责方", "Responsible"), "role": ("角色", "Role"), "lead": ("牵头企业", "Lead company"),
    "seconds_in_state": ("各状态停留（天）", "Days in each state"), "title_col": ("标题", "Title"),
    "generated": ("生成于", "Generated"), "lang_other": ("English", "中文"), "days": ("天", "days"),
    "partnerships": ("合作项目（按推进阶段）", "Partnerships (furthest stage first)"),
    "reached": ("最远阶段", "Furthest stage"),
    # milestone kinds
    "meeting": ("会议", "Meeting"), "cooperation_agreement": ("合作意向/协议", "Cooperation agreement"),
    "training_session": ("学术培训", "Training session"), "clinical_observation": ("临床观摩", "Clinical observation"),
    "design_review": ("设计评审", "Design review"), "prototype": ("样机", "Prototype"),
    "animal_protocol": ("动物实验方案", "Animal protocol"), "iacuc_approval": ("动物伦理批准", "IACUC approval"),
    "animal_trial_report": ("动物实验报告", "Animal trial report"),
    "clinical_ethics_approval": ("临床伦理批准", "Clinical ethics approval"),
    "clinical_evaluation_report": ("临床评价报告", "Clinical evaluation report"),
    "type_testing": ("注册检验", "Type testing"), "registration_certificate": ("注册证", "Registration certificate"),
    "filing_record": ("第一类备案凭证", "Class I filing"), "admission_approval": ("医院准入批准", "Hospital admission approval"),
    # sides and participation
    "participant": ("参与方", "Participant"), "invited": ("已邀请（待接受）", "Invited (pending)"),
    "active": ("参与中", "Active"), "declined": ("已谢绝", "Declined"),
    # pathways
    "device": ("二/三类医疗器械", "Class II/III device"), "samd": ("软件/AI 医疗器械", "Software / AI device"),
    "ivd": ("体外诊断试剂", "IVD reagent"), "class_i": ("一类器械备案", "Class I filing"),
    "registered": ("已注册产品入院", "Registered product"),
    # funnel steps and states
    "filed": ("需求发布", "Needs filed"), "matched": ("获得匹配", "Matched"), "interested": ("企业有意向", "Interested"),
    "proposed": ("提出合作", "Proposed"), "intent_signed": ("达成合作意向", "Intent signed"),
    "training_observation": ("培训与临床观摩", "Training & observation"), "rnd": ("研发", "R&D"),
    "animal_trial": ("动物实验", "Animal trials"), "clinical_evaluation": ("临床评价", "Clinical evaluation"),
    "registration": ("注册", "Registration"), "clinical_use": ("临床应用", "Clinical use"),
    "clinical_performance": ("临床性能评价", "Clinical performance evaluation"), "filing": ("备案", "Filing"),
    "hospital_admission": ("医院准入（入院）", "Hospital admission"),
    "on_hold": ("暂停", "On hold"), "withdrawn": ("撤回", "Withdrawn"), "terminated": ("终止", "Terminated"),
    # tracks
    "interventional_implant": ("微创介入与植入", "Interventional & implant"), "imaging": ("医学影像", "Imaging"),
    "therapy_monitoring": ("高端治疗与监护", "Therapy & monitoring"),
    "diagnostics_ivd": ("临床诊断试剂及仪器", "Diagnostics & IVD"), "digital_health": ("数字医疗", "Digital health"),
    "biotech_rnd": ("医药及生物技术研发服务", "Pharma & biotech R&D"), "rehab_eldercare": ("康复与养老", "Rehab & elderly care"),
    # regions
    "putuo": ("普陀区", "Putuo"), "shanghai": ("上海其他区", "Rest of Shanghai"), "nanjing": ("南京", "Nanjing"),
    "wuxi": ("无锡", "Wuxi"), "changzhou": ("常州", "Changzhou"), "suzhou": ("苏州", "Suzhou"),
    "nantong": ("南通", "Nantong"), "zhenjiang": ("镇江", "Zhenjiang"), "taizhou": ("泰州", "Taizhou"),
    "other": ("其他", "Other"), "jiangsu": ("江苏沿线七市", "Jiangsu corridor (7 cities)"),
    # breakdown dimensions
    "dim_track": ("按赛道", "By track"), "dim_hospital": ("按医院", "By hospital"),
    "dim_department": ("按科室", "By department"), "dim_partner": ("按合作方（合作数）", "By partner (engagements)"),
    "dim_region": ("按医院所在地区", "By hospital region"),
    "dim_partner_region": ("按合作方所在地区（合作数）", "By partner region (engagements)"),
    "dim_month": ("按月份", "By month"),
}


def translator(lang: str):
    i = 1 if lang == "en" else 0

    def t(key: str | None) -> str:
        if key is None:
            return ""
        w = _W.get(key)
        return w[i] if w else key

    return t
