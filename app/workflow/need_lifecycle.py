"""The need's lifecycle, beside the engagement's: the one table of allowed status changes, those a hospital makes
by editing its need, and those that follow its partnerships (pure: ``app.services.needs`` applies and persists)."""

from __future__ import annotations

from app.errors import InvalidTransition
from app.i18n import msg
from app.models.enums import NeedStatus

NEED_TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    NeedStatus.draft: frozenset({NeedStatus.open, NeedStatus.withdrawn}),
    NeedStatus.open: frozenset({NeedStatus.in_partnership, NeedStatus.closed, NeedStatus.withdrawn}),
    NeedStatus.in_partnership: frozenset({NeedStatus.open, NeedStatus.closed}),
    NeedStatus.closed: frozenset(),
    NeedStatus.withdrawn: frozenset(),
}
# Changes that follow the partnership workflow, never a hospital's edit: into and out of partnership.
WORKFLOW_ONLY_NEED_CHANGES = frozenset({(NeedStatus.open, NeedStatus.in_partnership),
                                        (NeedStatus.in_partnership, NeedStatus.open)})


def check_hospital_change(current: NeedStatus, target: NeedStatus) -> None:
    """Refuse (409, with the allowed targets) a status the hospital may not set by editing its need."""
    if target == current:
        return
    allowed = {t for t in NEED_TRANSITIONS[current] if (current, t) not in WORKFLOW_ONLY_NEED_CHANGES}
    if target not in allowed:
        names = sorted(a.value for a in allowed)
        raise InvalidTransition(
            msg("A need cannot go from '{current}' to '{target}'; allowed: {allowed}.", current=current.value,
                target=target.value, allowed=names) if names
            else msg("A need cannot go from '{current}' to '{target}'; it is final.", current=current.value,
                     target=target.value),
            current=current.value, allowed=names)


def partnership_target(current: NeedStatus, partnership: bool) -> NeedStatus | None:
    """Where the need goes when its partnerships change: in_partnership while one of its engagements is active past
    intent, back to open when none is. A closed or withdrawn need stays as the hospital left it; None: no change."""
    target = None
    if partnership and current == NeedStatus.open:
        target = NeedStatus.in_partnership
    elif not partnership and current == NeedStatus.in_partnership:
        target = NeedStatus.open
    assert target is None or target in NEED_TRANSITIONS[current]
    return target
