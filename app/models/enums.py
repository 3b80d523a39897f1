"""Vocabularies of the domain: one place for each."""

from __future__ import annotations

from enum import StrEnum

from matching.specialties import SPECIALTIES


class OrgKind(StrEnum):
    hospital = "hospital"
    enterprise = "enterprise"
    lab = "lab"
    platform = "platform"
    commission = "commission"


COMPANY_KINDS = frozenset({OrgKind.enterprise, OrgKind.lab, OrgKind.platform})


class Region(StrEnum):
    putuo = "putuo"
    shanghai = "shanghai"
    nanjing = "nanjing"
    wuxi = "wuxi"
    changzhou = "changzhou"
    suzhou = "suzhou"
    nantong = "nantong"
    zhenjiang = "zhenjiang"
    taizhou = "taizhou"
    other = "other"


class Role(StrEnum):
    hospital_staff = "hospital_staff"
    company_staff = "company_staff"
    commission = "commission"
    admin = "admin"


# Which organisation kinds a role may belong to.
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    Role.hospital_staff: frozenset({OrgKind.hospital}),
    Role.company_staff: COMPANY_KINDS,
    Role.commission: frozenset({OrgKind.commission}),
    Role.admin: frozenset(OrgKind),
}


class Track(StrEnum):
    interventional_implant = "interventional_implant"
    imaging = "imaging"
    therapy_monitoring = "therapy_monitoring"
    diagnostics_ivd = "diagnostics_ivd"
    digital_health = "digital_health"
    biotech_rnd = "biotech_rnd"
    rehab_eldercare = "rehab_eldercare"


class PartnerType(StrEnum):
    enterprise = "enterprise"
    lab = "lab"
    platform = "platform"


class Stage(StrEnum):
    rnd = "rnd"
    prototyping = "prototyping"
    animal_trial = "animal_trial"
    clinical_evaluation = "clinical_evaluation"
    manufacturing = "manufacturing"
    registration_support = "registration_support"


class Language(StrEnum):
    zh = "zh"
    en = "en"


class Confidentiality(StrEnum):
    public = "public"
    anonymous = "anonymous"


class NeedStatus(StrEnum):
    draft = "draft"
    open = "open"
    in_partnership = "in_partnership"
    closed = "closed"
    withdrawn = "withdrawn"


class CapabilityKind(StrEnum):
    product = "product"
    technology = "technology"
    service = "service"


class CapabilityStatus(StrEnum):
    active = "active"
    archived = "archived"


# Known certifications; others are accepted if they look like a certification code.
KNOWN_CERTIFICATIONS = (
    "ISO13485", "ISO9001", "NMPA-I", "NMPA-II", "NMPA-III", "CE", "FDA-510k", "FDA-PMA", "GLP", "GMP", "CNAS", "AAALAC",
)


# Clinical specialties: the reviewed bilingual list lives with the matcher (matching/data/specialties.tsv), which
# reads it too; the API takes and shows its codes.
Specialty = StrEnum("Specialty", {code: code for code in SPECIALTIES})
