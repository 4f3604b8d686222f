"""Tasks and where they are kept.

A :class:`Task` is an immutable value; a status change stores a new one. The store is
an interface (:class:`TaskStore`) so the in-memory default can be swapped for a
persistent one without touching the API handlers.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import struct
from array import array
from typing import Any, Final, NamedTuple, Protocol

from .constants import RESULT_PATH

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
    "Transition",
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


@functools.lru_cache(maxsize=256)
def owner_of(api_key: str) -> str:
    """The account a key stands for, as a digest: tasks never hold the key itself.

    Cached: a test session uses a handful of keys, and a sha256 per request was 2% of
    a create's time."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class Task(NamedTuple):
    """One task, immutable: a change is a new value (:meth:`replace`, :meth:`moved`).

    A named tuple rather than a frozen dataclass: a task is made for every transition
    and every read, and a tuple is built five times faster.
    """

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
    # The validated request body as JSON text, kept for checks that read the media.
    request_json: str = "{}"
    # Why the task failed, when the fake knows; never part of an API response.
    failure_reason: str | None = None

    @property
    def generated(self) -> tuple[str, ...]:
        """The result URLs: one video once the task has COMPLETED, none before or on failure."""
        return _generated(self.task_id, self.status, self.base_url)

    def replace(self, **changes: Any) -> Task:
        return self._replace(**changes)

    def moved(self, status: str, at: float) -> Task:
        """This task with a new status since ``at`` (a faster :meth:`replace` for the hot path)."""
        return Task(
            self.task_id,
            self.owner,
            status,
            self.created_at,
            at,
            self.outcome,
            self.aspect_ratio,
            self.webhook_url,
            self.base_url,
            self.request_json,
            self.failure_reason,
        )

    def to_row(self) -> tuple[object, ...]:
        return tuple(self)

    @classmethod
    def from_row(cls, row: tuple[object, ...]) -> Task:
        return cls(*row)  # type: ignore[arg-type]


class Transition(NamedTuple):
    """One status change of a task, as the lifecycle's listeners hear of it: what they
    need, not the whole task (building that was half the cost of a transition)."""

    task_id: str
    previous: str
    status: str
    # When the change happened (the task's new ``updated_at``).
    at: float
    failure_reason: str | None
    webhook_url: str | None
    base_url: str

    @property
    def generated(self) -> tuple[str, ...]:
        """The task's result URLs after this change (see :attr:`Task.generated`)."""
        return _generated(self.task_id, self.status, self.base_url)

    @classmethod
    def of(cls, task: Task, previous: str) -> Transition:
        """The change that left ``task`` as it is, from ``previous``."""
        return cls(
            task.task_id,
            previous,
            task.status,
            task.updated_at,
            task.failure_reason,
            task.webhook_url,
            task.base_url,
        )


def _generated(task_id: str, status: str, base_url: str) -> tuple[str, ...]:
    if status != COMPLETED:
        return ()
    return (base_url + RESULT_PATH.format(task_id=task_id),)


class _ReadWrite(Protocol):
    def get(self, task_id: str) -> Task | None: ...

    def put(self, task: Task) -> None: ...


def advance_task(store: _ReadWrite, task_id: str, finish: bool, at: float) -> Transition | None:
    """:meth:`TaskStore.advance` in terms of ``get`` and ``put``, for any store."""
    task = store.get(task_id)
    if task is None:
        return None
    if finish:
        if task.status in TERMINAL_STATUSES:
            return None
        status = task.outcome
    elif task.status == CREATED:
        status = IN_PROGRESS
    else:
        return None
    moved = task.moved(status, at)
    store.put(moved)
    return Transition.of(moved, task.status)


class TaskStore(Protocol):
    """Where tasks live. Implementations keep insertion order per owner.

    Of a stored task, only ``status``, ``updated_at``, ``outcome`` and ``failure_reason``
    ever change (:meth:`put`); the rest is fixed when it is added.
    """

    def add(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def put(self, task: Task) -> None:
        """Store the new status, times, outcome and failure reason of a stored task."""
        ...

    def advance(self, task_id: str, finish: bool, at: float) -> Transition | None:
        """Take a stored task one lifecycle step at ``at``: a CREATED task to IN_PROGRESS,
        or (``finish``) a task not yet ended to its outcome. None when there is no such
        task or it is past that step already (a forced change came first)."""
        ...

    def list_for_owner(self, owner: str, offset: int, limit: int) -> list[Task]:
        """The owner's tasks, newest first."""
        ...

    def statuses_for_owner(self, owner: str, offset: int, limit: int) -> list[tuple[str, str]]:
        """``(task_id, status)`` of the owner's tasks, newest first (the list endpoint)."""
        ...

    def all(self) -> list[Task]: ...

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


_SERIAL: Final = struct.Struct("<I")
_OUTCOME_SHIFT: Final = 2


class InMemoryTaskStore:
    """Tasks in a dict, each packed into one ``bytes`` value written once.

    The garbage collector never looks inside bytes, so 100,000 stored tasks add nothing
    to collection pauses (performance-notes.md, cost 3). What changes over a task's life
    (status, outcome, update time) lives in flat arrays indexed by the task's serial
    number, so a status change rewrites two array cells instead of the packed task:
    nothing is reallocated, and memory does not fragment as tasks move on. Owners and
    base URLs, the same for thousands of tasks, are kept once each. What a transition
    tells its listeners (base URL, webhook URL, failure reason) is kept beside the
    packed fields, so that :meth:`advance` never unpacks them.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # task id -> serial (4 bytes) + marshal of the fixed fields
        self._rows: dict[str, bytes] = {}
        # Indexed by serial:
        self._ids: list[str] = []
        self._states = bytearray()  # status index | outcome index << 2
        self._updated = array("d")
        self._base_of = array("I")
        self._reasons: dict[int, str] = {}
        self._webhooks: dict[int, str] = {}
        self._by_owner: dict[str, array[int]] = {}
        self._owner_index: dict[str, int] = {}
        self._owners: list[str] = []
        self._base_index: dict[str, int] = {}
        self._bases: list[str] = []

    def add(self, task: Task) -> None:
        if task.task_id in self._rows:
            raise KeyError(f"task {task.task_id} is stored already")
        serial = len(self._ids)
        owner = self._owner_index.get(task.owner)
        if owner is None:
            owner = self._keep(task.owner, self._owner_index, self._owners)
        base = self._base_index.get(task.base_url)
        if base is None:
            base = self._keep(task.base_url, self._base_index, self._bases)
        fixed = (owner, task.created_at, task.aspect_ratio, task.request_json)
        self._rows[task.task_id] = _SERIAL.pack(serial) + marshal.dumps(fixed)
        self._ids.append(task.task_id)
        self._states.append(_state(task))
        self._updated.append(task.updated_at)
        self._base_of.append(base)
        if task.failure_reason is not None:
            self._reasons[serial] = task.failure_reason
        if task.webhook_url is not None:
            self._webhooks[serial] = task.webhook_url
        self._by_owner.setdefault(task.owner, array("I")).append(serial)

    def get(self, task_id: str) -> Task | None:
        row = self._rows.get(task_id)
        return self._unpack(task_id, row) if row is not None else None

    def put(self, task: Task) -> None:
        row = self._rows.get(task.task_id)
        if row is None:
            raise KeyError(task.task_id)
        serial = _SERIAL.unpack_from(row)[0]
        self._states[serial] = _state(task)
        self._updated[serial] = task.updated_at
        if task.failure_reason is None:
            self._reasons.pop(serial, None)
        else:
            self._reasons[serial] = task.failure_reason

    def advance(self, task_id: str, finish: bool, at: float) -> Transition | None:
        row = self._rows.get(task_id)
        if row is None:
            return None
        serial = _SERIAL.unpack_from(row)[0]
        state = self._states[serial]
        status = state & _STATUS_BITS
        if finish:
            if status >= _FIRST_FINAL:
                return None
            new_status = state >> _OUTCOME_SHIFT
        elif status == _CREATED_CODE:
            new_status = _IN_PROGRESS_CODE
        else:
            return None
        self._states[serial] = state & ~_STATUS_BITS | new_status
        self._updated[serial] = at
        return Transition(
            task_id,
            STATUSES[status],
            STATUSES[new_status],
            at,
            self._reasons.get(serial),
            self._webhooks.get(serial),
            self._bases[self._base_of[serial]],
        )

    def list_for_owner(self, owner: str, offset: int, limit: int) -> list[Task]:
        ids = self._ids
        return [self._unpack(ids[s], self._rows[ids[s]]) for s in self._page(owner, offset, limit)]

    def statuses_for_owner(self, owner: str, offset: int, limit: int) -> list[tuple[str, str]]:
        ids, states, bits = self._ids, self._states, _STATUS_BITS
        return [(ids[s], STATUSES[states[s] & bits]) for s in self._page(owner, offset, limit)]

    def all(self) -> list[Task]:
        return [self._unpack(task_id, self._rows[task_id]) for task_id in self._ids]

    def __len__(self) -> int:
        return len(self._rows)

    def _page(self, owner: str, offset: int, limit: int) -> list[int]:
        serials = self._by_owner.get(owner)
        if not serials or offset < 0 or limit <= 0:
            return []
        end = len(serials) - offset
        if end <= 0:
            return []
        page = serials[max(end - limit, 0) : end].tolist()
        page.reverse()
        return page

    def _unpack(self, task_id: str, row: bytes) -> Task:
        serial = _SERIAL.unpack_from(row)[0]
        owner, created_at, aspect_ratio, request_json = marshal.loads(memoryview(row)[4:])
        state = self._states[serial]
        return Task(
            task_id,
            self._owners[owner],
            STATUSES[state & _STATUS_BITS],
            created_at,
            self._updated[serial],
            STATUSES[state >> _OUTCOME_SHIFT],
            aspect_ratio,
            self._webhooks.get(serial),
            self._bases[self._base_of[serial]],
            request_json,
            self._reasons.get(serial),
        )

    @staticmethod
    def _keep(value: str, index: dict[str, int], values: list[str]) -> int:
        """Keep a value not kept yet (the caller looked it up); its index."""
        found = index[value] = len(values)
        values.append(value)
        return found


_CODES: Final = {status: code for code, status in enumerate(STATUSES)}
_STATUS_BITS: Final = 3
_CREATED_CODE: Final = _CODES[CREATED]
_IN_PROGRESS_CODE: Final = _CODES[IN_PROGRESS]
# STATUSES lists the final ones last: a code this high means the task has ended.
_FIRST_FINAL: Final = min(_CODES[COMPLETED], _CODES[FAILED])


def _state(task: Task) -> int:
    return _CODES[task.status] | _CODES[task.outcome] << _OUTCOME_SHIFT
