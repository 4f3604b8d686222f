"""Tasks and where they are kept.

A :class:`Task` is an immutable value; a status change stores a new one. The store is
an interface (:class:`TaskStore`) so the in-memory default can be swapped for a
persistent one without touching the API handlers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
from dataclasses import dataclass
from typing import Any, Final, Protocol

__all__ = [
    "COMPLETED",
    "CREATED",
    "FAILED",
    "IN_PROGRESS",
    "STATUSES",
    "TERMINAL_STATUSES",
    "InMemoryTaskStore",
    "Task",
    "TaskStore",
    "owner_of",
    "status_rank",
]

CREATED: Final = "CREATED"
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETED: Final = "COMPLETED"
FAILED: Final = "FAILED"
STATUSES: Final = (CREATED, IN_PROGRESS, COMPLETED, FAILED)
TERMINAL_STATUSES: Final = frozenset({COMPLETED, FAILED})
_RANK: Final = {CREATED: 0, IN_PROGRESS: 1, COMPLETED: 2, FAILED: 2}


def status_rank(status: str) -> int:
    """Position in the lifecycle; a task's rank never decreases."""
    return _RANK[status]


def owner_of(api_key: str) -> str:
    """The account a key stands for, as a digest: tasks never hold the key itself."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Task:
    task_id: str
    owner: str
    status: str
    created_at: float
    updated_at: float
    # The terminal status this task is headed for, decided at creation.
    outcome: str
    aspect_ratio: str | None
    webhook_url: str | None
    # Scheme and host the task was created through: result URLs are built from it.
    base_url: str
    generated: tuple[str, ...] = ()
    # The validated request body as JSON text, kept for checks that read the media.
    request_json: str = "{}"
    # Why the task failed, when the fake knows; never part of an API response.
    failure_reason: str | None = None

    def replace(self, **changes: object) -> Task:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_row(self) -> tuple[object, ...]:
        return (
            self.task_id,
            self.owner,
            self.status,
            self.created_at,
            self.updated_at,
            self.outcome,
            self.aspect_ratio,
            self.webhook_url,
            self.base_url,
            self.generated,
            self.request_json,
            self.failure_reason,
        )

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> Task:
        return cls(*row)  # type: ignore[arg-type]


class TaskStore(Protocol):
    """Where tasks live. Implementations keep insertion order per owner."""

    def add(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def put(self, task: Task) -> None:
        """Replace a stored task with a newer version of itself."""
        ...

    def list_for_owner(self, owner: str, offset: int, limit: int) -> list[Task]:
        """The owner's tasks, newest first."""
        ...

    def all(self) -> list[Task]: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


class InMemoryTaskStore:
    """Tasks in a dict, each packed into one ``bytes`` value.

    The garbage collector never looks inside bytes, so 100,000 stored tasks add nothing
    to collection pauses, and a packed task takes about half the memory of its tuple.
    Tuples of atoms were not enough: a row holding the tuple of result URLs stays
    tracked through several full collections, and p99 latency climbed with the store
    (performance-notes.md, cost 3).
    """

    def __init__(self) -> None:
        self._rows: dict[str, bytes] = {}
        self._by_owner: dict[str, list[str]] = {}

    def add(self, task: Task) -> None:
        self._rows[task.task_id] = _pack(task)
        self._by_owner.setdefault(task.owner, []).append(task.task_id)

    def get(self, task_id: str) -> Task | None:
        row = self._rows.get(task_id)
        return _unpack(task_id, row) if row is not None else None

    def put(self, task: Task) -> None:
        if task.task_id not in self._rows:
            raise KeyError(task.task_id)
        self._rows[task.task_id] = _pack(task)

    def list_for_owner(self, owner: str, offset: int, limit: int) -> list[Task]:
        ids = self._by_owner.get(owner, [])
        end = len(ids) - offset
        start = max(end - limit, 0)
        return [_unpack(i, self._rows[i]) for i in reversed(ids[start : max(end, 0)])]

    def all(self) -> list[Task]:
        return [_unpack(task_id, row) for task_id, row in self._rows.items()]

    def clear(self) -> None:
        self._rows.clear()
        self._by_owner.clear()

    def __len__(self) -> int:
        return len(self._rows)


def _pack(task: Task) -> bytes:
    # The id is the dict's key already. Every other field is a str, a float, None or a
    # tuple of str, all of which marshal handles.
    row: Any = task.to_row()[1:]
    return marshal.dumps(row)


def _unpack(task_id: str, packed: bytes) -> Task:
    return Task.from_row((task_id, *marshal.loads(packed)))
