"""A task's statuses and every move between them, as one table.

CREATED -> IN_PROGRESS -> COMPLETED | FAILED. :data:`TRANSITIONS` holds each move a task
may make, keyed by its status and the event that moves it, in the way h11 keeps its
connection states (``h11/_state.py``); :func:`next_status` is the one reading of it.
The schedule (:mod:`mockserver.lifecycle`), every store's ``advance`` and the control
API's forced changes all ask it; nothing else decides a move. A leaf module: it imports
nothing of the fake, so anything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "COMPLETED",
    "CREATED",
    "EVENTS",
    "FAILED",
    "FINISH",
    "FORCED",
    "FORCE_COMPLETED",
    "FORCE_FAILED",
    "FORCE_IN_PROGRESS",
    "IN_PROGRESS",
    "OUTCOME",
    "START",
    "STATUSES",
    "TERMINAL_STATUSES",
    "TRANSITIONS",
    "next_status",
    "status_rank",
]

CREATED: Final = "CREATED"
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"
STATUSES: Final = (CREATED, IN_PROGRESS, COMPLETED, FAILED)

# The schedule's two steps: a task starts, then finishes as its outcome.
START: Final = "START"
FINISH: Final = "FINISH"
# The control API's forced changes (POST /_mock/tasks/{id}/status), one per status it may
# ask for. Each is one step towards that status: forcing applies it until the task is there.
FORCE_IN_PROGRESS: Final = "FORCE_IN_PROGRESS"
FORCE_COMPLETED: Final = "FORCE_COMPLETED"
FORCE_FAILED: Final = "FORCE_FAILED"
EVENTS: Final = (START, FINISH, FORCE_IN_PROGRESS, FORCE_COMPLETED, FORCE_FAILED)
FORCED: Final[Mapping[str, str]] = {
    IN_PROGRESS: FORCE_IN_PROGRESS,
    COMPLETED: FORCE_COMPLETED,
    FAILED: FORCE_FAILED,
}

# Stands for the task's outcome: the final status it is headed for, decided when it is
# created and changed by ``Lifecycle.set_outcome`` until it ends.
OUTCOME: Final = "<outcome>"

# status -> {event -> next status}. A pair that is not here is a move a task may not make.
TRANSITIONS: Final[Mapping[str, Mapping[str, str]]] = {
    CREATED: {
        START: IN_PROGRESS,
        # The start step came to nothing (the task was not stored then): finish anyway
        # rather than leave the task waiting for a step that has passed.
        FINISH: OUTCOME,
        FORCE_IN_PROGRESS: IN_PROGRESS,
        # Through IN_PROGRESS: listeners hear every status in order, whatever is forced.
        FORCE_COMPLETED: IN_PROGRESS,
        FORCE_FAILED: IN_PROGRESS,
    },
    IN_PROGRESS: {
        FINISH: OUTCOME,
        FORCE_COMPLETED: COMPLETED,
        FORCE_FAILED: FAILED,
    },
    # Final: nothing moves a task that has ended.
    COMPLETED: {},
    FAILED: {},
}

# Derived from the table, so that it cannot disagree with it.
TERMINAL_STATUSES: Final = frozenset(s for s, moves in TRANSITIONS.items() if not moves)


def next_status(status: str, event: str, outcome: str) -> str | None:
    """The status ``event`` moves a task in ``status`` to, or None when the table has no
    such move. ``outcome`` is the task's outcome, where the event finishes the task."""
    target = TRANSITIONS[status].get(event)
    if target == OUTCOME:
        # A task only ever ends as a final status, whatever was stored as its outcome.
        return outcome if outcome in TERMINAL_STATUSES else None
    return target


def _ranks() -> dict[str, int]:
    # The most moves from CREATED to each status: the table has no cycle, so a status
    # reached by a move always ranks above the one it left.
    rank = dict.fromkeys(STATUSES, 0)
    for _ in STATUSES:
        for status, moves in TRANSITIONS.items():
            for target in moves.values():
                for reached in TERMINAL_STATUSES if target == OUTCOME else (target,):
                    rank[reached] = max(rank[reached], rank[status] + 1)
    return rank


_RANK: Final = _ranks()


def status_rank(status: str) -> int:
    """Position in the lifecycle; every move raises it, so a task's rank never decreases."""
    return _RANK[status]
