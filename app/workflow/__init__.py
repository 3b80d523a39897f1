"""The lifecycles: the partnership workflow (states and the one transition table, guards, applying a transition)
and the need's (``need_lifecycle``). Pure: no database, no FastAPI; the services gather the facts and persist the
result."""

from app.errors import GuardFailed
from app.workflow.guards import GUARDS, EngagementFacts
from app.workflow.need_lifecycle import NEED_TRANSITIONS, check_hospital_change, partnership_target
from app.workflow.states import PATHS, TRANSITIONS, EngagementState, Pathway, allowed_targets
from app.workflow.transition import Position, apply_transition, replay, time_in_states

__all__ = ["GUARDS", "NEED_TRANSITIONS", "PATHS", "TRANSITIONS", "EngagementFacts", "EngagementState", "GuardFailed",
           "Pathway", "Position", "allowed_targets", "apply_transition", "check_hospital_change", "partnership_target",
           "replay", "time_in_states"]
