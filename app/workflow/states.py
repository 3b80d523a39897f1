"""Engagement states and the one table of allowed transitions.

The real path of a medical device, as the transseptal-puncture case took it: cooperation intent, the hospital's
academic training and clinical observation, the company's R&D, joint animal trials, pre-market clinical evaluation,
registration, clinical use. A plain dict rather than a state-machine library: the table is data the tests iterate
over, the API names the allowed targets from it, and history replays against it.
"""

from __future__ import annotations

from enum import StrEnum


class EngagementState(StrEnum):
    proposed = "proposed"
    intent_signed = "intent_signed"
    training_observation = "training_observation"
    rnd = "rnd"
    animal_trial = "animal_trial"
    clinical_evaluation = "clinical_evaluation"
    registration = "registration"
    clinical_use = "clinical_use"
    on_hold = "on_hold"
    withdrawn = "withdrawn"
    terminated = "terminated"


S = EngagementState

# The device path, in order: no step may be skipped.
PATH: tuple[EngagementState, ...] = (S.proposed, S.intent_signed, S.training_observation, S.rnd, S.animal_trial,
                                     S.clinical_evaluation, S.registration, S.clinical_use)
# Final states: nothing leaves them. clinical_use is the goal reached; withdrawn and terminated end it early.
FINAL = frozenset({S.clinical_use, S.withdrawn, S.terminated})
ACTIVE = frozenset(S) - FINAL
_EXITS = frozenset({S.on_hold, S.withdrawn, S.terminated})

# THE table. on_hold also resumes to the state it left (held_from), which only the engagement knows:
# see allowed_targets.
TRANSITIONS: dict[EngagementState, frozenset[EngagementState]] = {
    S.proposed: frozenset({S.intent_signed}) | _EXITS,
    S.intent_signed: frozenset({S.training_observation}) | _EXITS,
    S.training_observation: frozenset({S.rnd}) | _EXITS,
    S.rnd: frozenset({S.animal_trial}) | _EXITS,
    S.animal_trial: frozenset({S.clinical_evaluation}) | _EXITS,
    S.clinical_evaluation: frozenset({S.registration}) | _EXITS,
    S.registration: frozenset({S.clinical_use}) | _EXITS,
    S.on_hold: frozenset({S.withdrawn, S.terminated}),  # + resume to held_from
    S.clinical_use: frozenset(),
    S.withdrawn: frozenset(),
    S.terminated: frozenset(),
}
RESUMES_TO_HELD_FROM = S.on_hold

# Steps that concern one side: only that side takes them (the hospital confirms that clinical evaluation starts in
# its wards; the lead's staff cannot declare it).
TAKEN_BY: dict[EngagementState, str] = {S.clinical_evaluation: "hospital"}

# Targets whose comment is the reason, and required.
REASON_REQUIRED = frozenset({S.withdrawn, S.terminated})

# Engagement states in which the need counts as "in partnership" (on_hold counts when it left one of them).
PARTNERSHIP_STATES = frozenset(PATH[1:])


def allowed_targets(state: EngagementState, held_from: EngagementState | None = None) -> frozenset[EngagementState]:
    """Where an engagement in ``state`` (held from ``held_from``, when on hold) may go next."""
    state = EngagementState(state)
    targets = TRANSITIONS[state]
    if state == RESUMES_TO_HELD_FROM and held_from is not None:
        targets = targets | {EngagementState(held_from)}
    return targets


def counts_as_partnership(state: EngagementState, held_from: EngagementState | None = None) -> bool:
    if state == S.on_hold:
        return held_from is not None and EngagementState(held_from) in PARTNERSHIP_STATES
    return EngagementState(state) in PARTNERSHIP_STATES
