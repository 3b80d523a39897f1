"""Guards from the real path: one function per rule, each over the facts the service gathers.

A guard returns what is missing (a sentence) or None. ``GUARDS_BY`` maps a pathway's target state to the guards that
must pass before an engagement may enter it; nothing else in the code base decides these preconditions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.i18n import msg
from app.workflow.states import EngagementState as S
from app.workflow.states import Pathway
from app.workflow.vocab import NMPA_CERTIFICATE, NMPA_FILING
from app.workflow.vocab import MilestoneKind as K


@dataclass(frozen=True)
class EngagementFacts:
    """What the guards look at: acceptances, recorded milestones (kind -> reference numbers, '' when none) and
    the animal facilities available (participants in that role, or the lead's own stated capability)."""

    hospital_accepted: bool = False
    lead_accepted: bool = False
    milestones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    animal_facility_participant: bool = False
    lead_states_animal_capability: bool = False
    # kinds whose evidence counts only with a document attached (the milestones above are already filtered)
    documents_required: frozenset[str] = frozenset()

    def has(self, kind: K, *, numbered: bool = False) -> bool:
        refs = self.milestones.get(kind.value, ())
        return any(r.strip() for r in refs) if numbered else bool(refs)


Guard = Callable[[EngagementFacts], str | None]


def both_parties_accepted(f: EngagementFacts) -> str | None:
    missing = [who for who, ok in (("the hospital", f.hospital_accepted), ("the lead company", f.lead_accepted))
               if not ok]
    if not missing:
        return None
    return msg("acceptance by the hospital and the lead company") if len(missing) == 2 else \
        msg("acceptance by the hospital") if missing[0] == "the hospital" else msg("acceptance by the lead company")


def animal_protocol_approved(f: EngagementFacts) -> str | None:
    if not f.has(K.animal_protocol, numbered=True):
        return msg("a recorded animal-study protocol (milestone 'animal_protocol' with its protocol number)")
    if not f.has(K.iacuc_approval, numbered=True):
        return msg("its ethics (IACUC) approval number (milestone 'iacuc_approval' with the approval number)")
    return None


def animal_facility_participates(f: EngagementFacts) -> str | None:
    if f.animal_facility_participant or f.lead_states_animal_capability:
        return None
    return msg("a participating animal facility (a participant in role 'animal_facility', or an active capability "
               "of the lead company listing the 'animal_trial' stage)")


def animal_trial_reported(f: EngagementFacts) -> str | None:
    return None if f.has(K.animal_trial_report) else msg("a completed animal-trial report (milestone "
                                                          "'animal_trial_report')")


def clinical_ethics_approved(f: EngagementFacts) -> str | None:
    return None if f.has(K.clinical_ethics_approval, numbered=True) else (
        msg("a clinical ethics approval (milestone 'clinical_ethics_approval' with its approval number)"))


def clinical_evaluation_reported(f: EngagementFacts) -> str | None:
    return None if f.has(K.clinical_evaluation_report) else (
        msg("a clinical-evaluation report (milestone 'clinical_evaluation_report')"))


def registration_certified(f: EngagementFacts) -> str | None:
    refs = f.milestones.get(K.registration_certificate.value, ())
    if any(NMPA_CERTIFICATE.match(r.strip()) for r in refs):
        return None
    return msg("an NMPA registration certificate number (milestone 'registration_certificate', e.g. "
               "国械注准20243070001)")


def filing_recorded(f: EngagementFacts) -> str | None:
    refs = f.milestones.get(K.filing_record.value, ())
    if any(NMPA_FILING.match(r.strip()) for r in refs):
        return None
    return msg("an NMPA Class I filing number (milestone 'filing_record', e.g. 沪械备20240012号)")


def admission_approved(f: EngagementFacts) -> str | None:
    return None if f.has(K.admission_approval) else (
        msg("the hospital's admission approval (milestone 'admission_approval': procurement or device committee)"))


# Each pathway's guards: target state -> the guards that must pass before entering it.
GUARDS_BY: dict[Pathway, dict[S, tuple[Guard, ...]]] = {
    Pathway.device: {
        S.intent_signed: (both_parties_accepted,),
        S.animal_trial: (animal_protocol_approved, animal_facility_participates),
        S.clinical_evaluation: (animal_trial_reported, clinical_ethics_approved),
        S.registration: (clinical_evaluation_reported,),
        S.clinical_use: (registration_certified,),
    },
    Pathway.samd: {
        S.intent_signed: (both_parties_accepted,),
        S.clinical_evaluation: (clinical_ethics_approved,),
        S.registration: (clinical_evaluation_reported,),
        S.clinical_use: (registration_certified,),
    },
    Pathway.ivd: {
        S.intent_signed: (both_parties_accepted,),
        S.clinical_performance: (clinical_ethics_approved,),
        S.registration: (clinical_evaluation_reported,),
        S.clinical_use: (registration_certified,),
    },
    Pathway.class_i: {
        S.intent_signed: (both_parties_accepted,),
        S.clinical_use: (filing_recorded,),
    },
    Pathway.registered: {
        S.intent_signed: (both_parties_accepted,),
        S.hospital_admission: (registration_certified,),
        S.clinical_use: (admission_approved,),
    },
}
GUARDS = GUARDS_BY[Pathway.device]


def unmet(target: S, facts: EngagementFacts, pathway: Pathway = Pathway.device) -> list[str]:
    """The preconditions of entering ``target`` on ``pathway`` that ``facts`` do not meet (empty: all met)."""
    missing = [m for g in GUARDS_BY[Pathway(pathway)].get(S(target), ()) if (m := g(facts))]
    if missing and facts.documents_required:
        missing.append(msg("(evidence of kind {kinds} counts with its document attached)",
                           kinds=", ".join(sorted(facts.documents_required))))
    return missing
