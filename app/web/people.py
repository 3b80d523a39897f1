"""What the hospital, company and partnership pages share: the English names of the values they show (said in the
page's language by the one catalogue), how an organisation is named on a page, paging, and the statement check.

Names only: which values exist comes from app.models.enums and app.workflow, who may see what from app.policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.i18n import msg, say
from app.models.enums import CapabilityKind, Confidentiality, NeedStatus, PartnerType, Region, Stage, Track
from app.models.match import DeclineReason
from app.models.notification import Channel, Rhythm
from app.services.listing import PageParams
from app.services.need_statement import statement_warnings
from matching.specialties import SPECIALTIES

PAGE_SIZE = 20
MAX_INT = 2**63 - 1  # a form's id or version beyond the database's integer is a 422, not an overflow

# value -> English (a catalogue msgid); tracks, regions, states, pathways and milestone kinds are named by the
# foundation's labels (app.web.i18n), which ``t(value)`` reads
STAGES = {Stage.rnd: "R&D", Stage.prototyping: "Prototyping", Stage.animal_trial: "Animal trials",
          Stage.clinical_evaluation: "Clinical evaluation", Stage.manufacturing: "Manufacturing",
          Stage.registration_support: "Registration support"}
PARTNER_TYPES = {PartnerType.enterprise: "Enterprise", PartnerType.lab: "University lab",
                 PartnerType.platform: "Shared platform"}
KINDS = {CapabilityKind.product: "Product", CapabilityKind.technology: "Technology",
         CapabilityKind.service: "Service"}
BANDS = {"strong": "Strong match", "possible": "Possible match", "weak": "Weak match"}
REASONS = {DeclineReason.too_early: "Too early for us", DeclineReason.wrong_technology: "Not our technology",
           DeclineReason.capacity: "No capacity now", DeclineReason.region: "The region does not suit",
           DeclineReason.other: "Another reason (say which)"}
INTRO_STATUSES = {"introduced": "Introduced, waiting for the company", "interested": "The company is interested",
                  "not_interested": "The company is not interested", "accepted": "Accepted",
                  "declined": "Declined"}
NEED_STATUSES = {NeedStatus.draft: "Draft", NeedStatus.open: "Open", NeedStatus.in_partnership: "In partnership",
                 NeedStatus.closed: "Closed", NeedStatus.withdrawn: "Withdrawn"}
CONFIDENTIALITY = {Confidentiality.public: "Public: companies see the hospital",
                   Confidentiality.anonymous: "Anonymous: companies see the hospital only once it accepts them"}
CHANNELS = {Channel.inbox: "In-app inbox", Channel.email: "E-mail", Channel.webhook: "Webhook"}
RHYTHMS = {Rhythm.instant: "At once", Rhythm.daily: "Daily digest", Rhythm.weekly: "Weekly digest", Rhythm.off: "Off"}
# a spreadsheet column (a capability's field) as the import preview names it
COLUMN_NAMES = {"title": "Title", "description": "Description", "tracks": "Tracks", "stages": "Stages",
                "certifications": "Certifications", "kind": "Kind", "region": "Region", "language": "Language",
                "external_ref": "Reference", "row": "Row"}
TRACKS = [t.value for t in Track]
REGIONS = [r.value for r in Region]

# the solution warning, by its code: the service's own message carries both languages in one sentence
WARNINGS = {"solution_in_outcome": msg("The outcome names a specific solution ({terms}). Describe the result you "
                                       "need, so that partners can propose their own approach."),
            "outcome_missing": msg("No outcome is stated yet; partners match better when it is.")}


def specialty_options(lang: str) -> list[tuple[str, str]]:
    """The clinical specialties as (code, label) in the page's language (the bilingual list is the matcher's data)."""
    return [(s.code, s.zh if lang == "zh" else s.en) for s in SPECIALTIES.values()]


def vocab(lang_t, names: dict) -> list[tuple[str, str]]:
    """[(value, shown)] for a select or checkboxes."""
    return [(str(getattr(k, "value", k)), lang_t(v)) for k, v in names.items()]


def org_name(ref: Any, lang: str) -> str:
    """An organisation reference (OrgRef or Organisation) as a page names it."""
    if ref is None:
        return ""
    if lang == "en":
        return ref.name_en or ref.name_zh or f"#{ref.id}"
    return ref.name_zh or ref.name_en or f"#{ref.id}"


def statement_notes(desired_outcome: str, lang: str) -> list[str]:
    """The need statement's warnings (app.services.need_statement) in the page's language."""
    out = []
    for w in statement_warnings(desired_outcome or ""):
        template = WARNINGS.get(w.code)
        if template is not None:
            out.append(say(msg(template.template, terms="; ".join(w.terms)) if w.terms else template, lang))
    return out


@dataclass(frozen=True)
class Pager:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def params(self) -> PageParams:
        return PageParams(limit=self.size, offset=(self.page - 1) * self.size)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10_000))
    except ValueError:
        return 1


def choice(value: str | None, allowed) -> str | None:
    """A filter from the query string: kept when it is one of ``allowed``, else ignored (the page shows what it used)."""
    values = {str(getattr(a, "value", a)) for a in allowed}
    return value if value in values else None
