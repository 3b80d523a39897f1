"""The partnership workflow: states and the one transition table, guards, and applying a transition (pure: no
database, no FastAPI; the services gather the facts and persist the result)."""

from app.workflow.guards import GUARDS, EngagementFacts, GuardFailed
from app.workflow.states import PATHS, TRANSITIONS, EngagementState, Pathway, allowed_targets
from app.workflow.transition import Position, apply_transition, replay, time_in_states

__all__ = ["GUARDS", "PATHS", "TRANSITIONS", "EngagementFacts", "EngagementState", "GuardFailed", "Pathway",
           "Position", "allowed_targets", "apply_transition", "replay", "time_in_states"]
