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
    other = "other"


# Kinds that are a numbered document: the milestone must carry its reference number.
REFERENCE_REQUIRED = frozenset({MilestoneKind.animal_protocol, MilestoneKind.iacuc_approval,
                                MilestoneKind.clinical_ethics_approval, MilestoneKind.registration_certificate})

# NMPA device registration certificate numbers: 国械注准/进/许 (class III, imported, HK/Macau/Taiwan) or a province's
# 沪械注准 (class II), then year (4), class digit, and a serial: 11 digits in all, e.g. 国械注准20243070001.
NMPA_CERTIFICATE = re.compile(r"^[\u4e00-\u9fff]械注[准进许]\d{11}$")


class ParticipantRole(StrEnum):
    rnd = "rnd"                                       # e.g. a university lab
    animal_facility = "animal_facility"               # e.g. a laboratory-animal centre / animal-experiment platform
    manufacturing = "manufacturing"                   # e.g. a CDMO pilot line
    testing = "testing"                               # testing / type-testing institute
    registration_support = "registration_support"
    clinical_site = "clinical_site"
    other = "other"
