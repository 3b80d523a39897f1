"""Engagement states and the one table of allowed transitions.

The real path of a medical device, as the transseptal-puncture case took it: cooperation intent, the hospital's
academic training and clinical observation, the company's R&D, joint animal trials, pre-market clinical evaluation,
registration, clinical use. Other products take other roads (a pathway per engagement): software has no animal
trial, an IVD reagent a clinical performance evaluation, a Class I device a filing, a registered product the
hospital's admission. A plain dict rather than a state-machine library: the table is data the tests iterate
over, the API names the allowed targets from it, and history replays against it.
"""

from __future__ import annotations

import itertools
from enum import StrEnum


class EngagementState(StrEnum):
    proposed = "proposed"
    intent_signed = "intent_signed"
    training_observation = "training_observation"
    rnd = "rnd"
    animal_trial = "animal_trial"
    clinical_evaluation = "clinical_evaluation"
    clinical_performance = "clinical_performance"  # IVD: clinical performance evaluation (临床评价/性能评价)
    filing = "filing"                              # NMPA Class I: product filing (备案)
    registration = "registration"
    hospital_admission = "hospital_admission"      # a registered product enters the hospital (入院: procurement)
    clinical_use = "clinical_use"
    on_hold = "on_hold"
    withdrawn = "withdrawn"
    terminated = "terminated"


S = EngagementState


class Pathway(StrEnum):
    """The regulatory road a partnership's product takes, chosen at intent from the product's class."""

    device = "device"          # NMPA Class II/III device: animal trial, clinical evaluation, registration (TSP)
    samd = "samd"              # software / AI as a medical device: no animal trial
    ivd = "ivd"                # in-vitro diagnostic reagent: clinical performance evaluation, registration
    class_i = "class_i"        # NMPA Class I: a filing (备案) instead of a registration, no trials
    registered = "registered"  # a product already registered: hospital admission (入院), then clinical use


_START = (S.proposed, S.intent_signed, S.training_observation)
# Each pathway's stages, in order: no step may be skipped.
PATHS: dict[Pathway, tuple[EngagementState, ...]] = {
    Pathway.device: (*_START, S.rnd, S.animal_trial, S.clinical_evaluation, S.registration, S.clinical_use),
    Pathway.samd: (*_START, S.rnd, S.clinical_evaluation, S.registration, S.clinical_use),
    Pathway.ivd: (*_START, S.rnd, S.clinical_performance, S.registration, S.clinical_use),
    Pathway.class_i: (*_START, S.rnd, S.filing, S.clinical_use),
    Pathway.registered: (*_START, S.hospital_admission, S.clinical_use),
}
PATH = PATHS[Pathway.device]  # the default pathway's
# Final states: nothing leaves them. clinical_use is the goal reached; withdrawn and terminated end it early.
FINAL = frozenset({S.clinical_use, S.withdrawn, S.terminated})
ACTIVE = frozenset(S) - FINAL
_EXITS = frozenset({S.on_hold, S.withdrawn, S.terminated})


def _table(path: tuple[EngagementState, ...]) -> dict[EngagementState, frozenset[EngagementState]]:
    """A pathway's table: each stage to the next (or out); on_hold also resumes to the state it left (held_from),
    which only the engagement knows: see allowed_targets."""
    table = {a: frozenset({b}) | _EXITS for a, b in itertools.pairwise(path)}
    table.update({S.on_hold: frozenset({S.withdrawn, S.terminated}), S.clinical_use: frozenset(),
                  S.withdrawn: frozenset(), S.terminated: frozenset()})
    return table


# THE tables, one per pathway.
TRANSITIONS_BY: dict[Pathway, dict[EngagementState, frozenset[EngagementState]]] = {
    p: _table(path) for p, path in PATHS.items()}
TRANSITIONS = TRANSITIONS_BY[Pathway.device]
RESUMES_TO_HELD_FROM = S.on_hold
# The pathway is chosen up to and with the step into intent_signed, then fixed.
PATHWAY_CHOSEN_BY = S.intent_signed
# For pipeline figures: the device-path stage another pathway's stage stands in for.
STAGE_EQUIVALENT = {S.clinical_performance: S.clinical_evaluation, S.filing: S.registration,
                    S.hospital_admission: S.registration}

# Steps that concern one side: only that side takes them (the hospital confirms that clinical evaluation starts in
# its wards; the lead's staff cannot declare it).
TAKEN_BY: dict[EngagementState, str] = {S.clinical_evaluation: "hospital", S.clinical_performance: "hospital",
                                        S.hospital_admission: "hospital"}

# Targets whose comment is the reason, and required.
REASON_REQUIRED = frozenset({S.withdrawn, S.terminated})

# Engagement states in which the need counts as "in partnership" (on_hold counts when it left one of them).
PARTNERSHIP_STATES = frozenset(s for path in PATHS.values() for s in path[1:])


def allowed_targets(state: EngagementState, held_from: EngagementState | None = None,
                    pathway: Pathway = Pathway.device) -> frozenset[EngagementState]:
    """Where an engagement in ``state`` (held from ``held_from``, when on hold) on ``pathway`` may go next."""
    state = EngagementState(state)
    targets = TRANSITIONS_BY[Pathway(pathway)].get(state, frozenset())
    if state == RESUMES_TO_HELD_FROM and held_from is not None:
        targets = targets | {EngagementState(held_from)}
    return targets


def counts_as_partnership(state: EngagementState, held_from: EngagementState | None = None) -> bool:
    if state == S.on_hold:
        return held_from is not None and EngagementState(held_from) in PARTNERSHIP_STATES
    return EngagementState(state) in PARTNERSHIP_STATES
