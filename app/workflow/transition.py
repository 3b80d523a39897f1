"""Applying a transition (table, then guards), replaying history, and time spent in each state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.errors import GuardFailed, Invalid, InvalidTransition
from app.i18n import msg
from app.workflow.guards import EngagementFacts, unmet
from app.workflow.states import REASON_REQUIRED, Pathway, allowed_targets
from app.workflow.states import EngagementState as S


@dataclass(frozen=True)
class Position:
    """Where an engagement is: its state, the state it left when on hold, and the pathway it is on."""

    state: S
    held_from: S | None = None
    pathway: Pathway = Pathway.device


def check_allowed(pos: Position, target: S) -> None:
    allowed = allowed_targets(pos.state, pos.held_from, pos.pathway)
    if S(target) not in allowed:
        names = sorted(a.value for a in allowed)
        raise InvalidTransition(
            msg("An engagement cannot go from '{current}' to '{target}'; allowed: {allowed}.",
                current=pos.state.value, target=S(target).value, allowed=names) if names
            else msg("An engagement cannot go from '{current}' to '{target}'; '{current}' is final.",
                     current=pos.state.value, target=S(target).value),
            current=pos.state.value, allowed=names)


def apply_transition(pos: Position, target: S, facts: EngagementFacts | None, comment: str = "") -> Position:
    """The position after moving to ``target``: 409 when the table forbids it or a guard is unmet, 422 when a reason
    is required and missing. ``facts=None`` skips the guards (replaying history that was checked when written)."""
    target = S(target)
    check_allowed(pos, target)
    if facts is not None:
        missing = unmet(target, facts, pos.pathway)
        if missing:
            raise GuardFailed(msg("Entering '{target}' needs: {missing}.", target=target.value, missing=missing),
                              current=pos.state.value,
                              target=target.value, missing=missing,
                              allowed=sorted(a.value for a in allowed_targets(pos.state, pos.held_from,
                                                                              pos.pathway)))
    if target in REASON_REQUIRED and not comment.strip():
        raise Invalid("comment", msg("Give the reason for '{target}' in the comment.", target=target))
    if target == S.on_hold:
        return Position(S.on_hold, pos.state, pos.pathway)
    return Position(target, None, pos.pathway)


def replay(steps: Iterable[tuple[str | None, str]], pathway: Pathway = Pathway.device) -> Position:
    """Fold the history ((from, to) pairs, oldest first; the first is (None, 'proposed')) into the current position
    on ``pathway``, checking each step against its table and that each step starts where the previous one ended."""
    pos: Position | None = None
    for frm, to in steps:
        if pos is None:
            if frm is not None or S(to) != S.proposed:
                raise ValueError(f"history must start with (None, 'proposed'), not ({frm}, {to})")
            pos = Position(S.proposed, pathway=Pathway(pathway))
            continue
        if frm is None or S(frm) != pos.state:
            raise ValueError(f"history is broken: a step from '{frm}' follows '{pos.state}'")
        pos = apply_transition(pos, S(to), None, comment="(replay)")
    if pos is None:
        raise ValueError("empty history")
    return pos


def time_in_states(steps: Sequence[tuple[str, datetime]], now: datetime) -> dict[str, float]:
    """Seconds spent in each state, from (to_state, at) rows oldest first; the current state counts until ``now``."""
    out: dict[str, float] = {}
    for i, (state, at) in enumerate(steps):
        end = steps[i + 1][1] if i + 1 < len(steps) else now
        out[state] = out.get(state, 0.0) + max(0.0, (end - at).total_seconds())
    return out
