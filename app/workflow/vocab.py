"""Vocabularies of the partnership workflow: milestone kinds and participant roles."""

from __future__ import annotations

import re
from enum import StrEnum


class MilestoneKind(StrEnum):
    meeting = "meeting"
    cooperation_agreement = "cooperation_agreement"   # 合作意向 / agreement signed
    training_session = "training_session"             # 学术培训
    clinical_observation = "clinical_observation"     # 临床观摩
    design_review = "design_review"
    prototype = "prototype"
    animal_protocol = "animal_protocol"               # animal-study protocol (reference: protocol number)
    iacuc_approval = "iacuc_approval"                 # animal ethics approval (reference: IACUC approval number)
    animal_trial_report = "animal_trial_report"
    clinical_ethics_approval = "clinical_ethics_approval"  # clinical ethics committee (reference: approval number)
    clinical_evaluation_report = "clinical_evaluation_report"
    type_testing = "type_testing"                     # 注册检验
    registration_certificate = "registration_certificate"  # NMPA 注册证 (reference: certificate number)
    filing_record = "filing_record"                   # NMPA Class I 备案凭证 (reference: filing number)
    admission_approval = "admission_approval"         # the hospital's admission (入院: procurement / device committee)
    other = "other"


# Kinds that are a numbered document: the milestone must carry its reference number.
REFERENCE_REQUIRED = frozenset({MilestoneKind.animal_protocol, MilestoneKind.iacuc_approval,
                                MilestoneKind.clinical_ethics_approval, MilestoneKind.registration_certificate,
                                MilestoneKind.filing_record})

# Reference numbers of approvals and protocols: letters, digits and separators with at least three digits (an
# ethics committee's "2023-056", "伦审[2023]第056号", "IACUC-2022-117"), never a placeholder such as "x".
APPROVAL_NUMBER = re.compile(r"^(?=(?:\D*\d){3})[\w\u4e00-\u9fff\-/.()（）\[\]【】〔〕# ]{3,100}$")


class Owner(StrEnum):
    """Whose act a record certifies, and so who records it."""

    hospital = "hospital"
    animal_facility = "animal_facility"  # the active participant in that role, else a lead that states the stage
    lead = "lead"


# Evidence belongs to its owner: only that party records it (kinds not listed: any party, for itself).
EVIDENCE_OWNER: dict[MilestoneKind, Owner] = {
    MilestoneKind.clinical_ethics_approval: Owner.hospital,
    MilestoneKind.clinical_evaluation_report: Owner.hospital,
    MilestoneKind.iacuc_approval: Owner.animal_facility,
    MilestoneKind.animal_trial_report: Owner.animal_facility,
    MilestoneKind.type_testing: Owner.lead,
    MilestoneKind.registration_certificate: Owner.lead,
    MilestoneKind.filing_record: Owner.lead,
    MilestoneKind.admission_approval: Owner.hospital,
}
OWNER_NAMES = {Owner.hospital: "the hospital", Owner.animal_facility: "the animal facility",
               Owner.lead: "the lead company"}


# NMPA device registration certificate numbers: 国械注准/进/许 (class III, imported, HK/Macau/Taiwan) or a province's
# 沪械注准 (class II), then year (4), class digit, and a serial: 11 digits in all, e.g. 国械注准20243070001.
NMPA_CERTIFICATE = re.compile(r"^[\u4e00-\u9fff]械注[准进许]\d{11}$")
# NMPA Class I filing numbers: a province's or city's abbreviation, 械备, the year and a serial, e.g. 沪械备20240012号.
NMPA_FILING = re.compile(r"^[\u4e00-\u9fff]{1,3}械备\d{8,12}号?$")


class ParticipantRole(StrEnum):
    rnd = "rnd"                                       # e.g. a university lab
    animal_facility = "animal_facility"               # e.g. a laboratory-animal centre / animal-experiment platform
    manufacturing = "manufacturing"                   # e.g. a CDMO pilot line
    testing = "testing"                               # testing / type-testing institute
    registration_support = "registration_support"
    clinical_site = "clinical_site"
    other = "other"
