"""Tasks and where they are kept.

A :class:`Task` is an immutable value: one task as a store handed it out. Stores change
what they keep in place (the in-memory store rewrites two array cells on a status
change; the SQLite store in ``persistence.py`` also updates a row), so a status change
does not store a new Task. The store is an interface (:class:`TaskStore`) so the
in-memory default can be swapped for a persistent one without touching the API
handlers. Which status a task may move to is not decided here: every store asks
:mod:`mockserver.states`.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import struct
from array import array
from typing import Any, Final, NamedTuple, Protocol

from .states import (
    COMPLETED,
    CREATED,
    FAILED,
    FINISH,
    IN_PROGRESS,
    START,
    STATUSES,
    TERMINAL_STATUSES,
    next_status,
    status_rank,
)

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


@functools.lru_cache(maxsize=256)
def owner_of(api_key: str) -> str:
    """The account a key stands for, as a digest: tasks never hold the key itself.

    Cached: a test session uses a handful of keys, and a sha256 per request was 2% of
    a create's time."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


class Task(NamedTuple):
    """One task as a store handed it out, immutable: a change is a new value
    (:meth:`replace`, :meth:`moved`) for :meth:`TaskStore.put` to store.

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
    # The route prefix of the operations the task is read and listed through (the
    # creator passes it, e.g. the GET-by-id path template): tasks of other families are
    # not theirs to show. Last, with a default, so that older callers keep working.
    family: str = ""

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
            self.family,
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


class _ReadWrite(Protocol):
    def get(self, task_id: str) -> Task | None: ...

    def put(self, task: Task) -> None: ...


def advance_task(store: _ReadWrite, task_id: str, finish: bool, at: float) -> Transition | None:
    """:meth:`TaskStore.advance` in terms of ``get`` and ``put``, for any store."""
    task = store.get(task_id)
    if task is None:
        return None
    status = next_status(task.status, FINISH if finish else START, task.outcome)
    if status is None:
        return None
    moved = task.moved(status, at)
    store.put(moved)
    return Transition.of(moved, task.status)


class TaskStore(Protocol):
    """Where tasks live. Implementations keep insertion order per owner and family.

    Of a stored task, only ``status``, ``updated_at``, ``outcome`` and ``failure_reason``
    ever change (:meth:`put`); the rest is fixed when it is added.
    """

    def add(self, task: Task) -> None: ...

    def get(self, task_id: str) -> Task | None: ...

    def put(self, task: Task) -> None:
        """Store the new status, times, outcome and failure reason of a stored task."""
        ...

    def advance(self, task_id: str, finish: bool, at: float) -> Transition | None:
        """Take a stored task one lifecycle step at ``at``: the START event, or (``finish``)
        the FINISH event of :data:`mockserver.states.TRANSITIONS`. None when there is no
        such task or the table has no such move for it (a forced change came first)."""
        ...

    def list_for_owner(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        """The owner's tasks of one family, newest first."""
        ...

    def statuses_for_owner(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        """``(task_id, status)`` of the owner's tasks of one family, newest first (the
        list endpoint)."""
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
    nothing is reallocated, and memory does not fragment as tasks move on. Owners,
    families and base URLs, the same for thousands of tasks, are kept once each. What a
    transition tells its listeners (base URL, webhook URL, failure reason) is kept beside
    the packed fields, so that :meth:`advance` never unpacks them.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        # task id -> serial (4 bytes) + marshal of the fixed fields
        self._rows: dict[str, bytes] = {}
        # Indexed by serial:
        self._ids: list[str] = []
        self._states = bytearray()  # status code | outcome code << 2
        self._updated = array("d")
        self._base_of = array("I")
        self._reasons: dict[int, str] = {}
        self._webhooks: dict[int, str] = {}
        # (owner, family) -> serials of its tasks, oldest first
        self._listed: dict[tuple[str, str], array[int]] = {}
        self._owner_index: dict[str, int] = {}
        self._owners: list[str] = []
        self._family_index: dict[str, int] = {}
        self._families: list[str] = []
        self._base_index: dict[str, int] = {}
        self._bases: list[str] = []

    def add(self, task: Task) -> None:
        if task.task_id in self._rows:
            raise KeyError(f"task {task.task_id} is stored already")
        serial = len(self._ids)
        owner = self._owner_index.get(task.owner)
        if owner is None:
            owner = self._keep(task.owner, self._owner_index, self._owners)
        family = self._family_index.get(task.family)
        if family is None:
            family = self._keep(task.family, self._family_index, self._families)
        base = self._base_index.get(task.base_url)
        if base is None:
            base = self._keep(task.base_url, self._base_index, self._bases)
        fixed = (owner, family, task.created_at, task.aspect_ratio, task.request_json)
        self._rows[task.task_id] = _SERIAL.pack(serial) + marshal.dumps(fixed)
        self._ids.append(task.task_id)
        self._states.append(_state(task))
        self._updated.append(task.updated_at)
        self._base_of.append(base)
        if task.failure_reason is not None:
            self._reasons[serial] = task.failure_reason
        if task.webhook_url is not None:
            self._webhooks[serial] = task.webhook_url
        key = (self._owners[owner], self._families[family])
        self._listed.setdefault(key, array("I")).append(serial)

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
        moved = _CODED_MOVES[finish][state]
        if moved == _NO_MOVE:
            return None
        self._states[serial] = moved
        self._updated[serial] = at
        return Transition(
            task_id,
            _STATUS_OF[state],
            _STATUS_OF[moved],
            at,
            self._reasons.get(serial),
            self._webhooks.get(serial),
            self._bases[self._base_of[serial]],
        )

    def list_for_owner(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        ids, rows = self._ids, self._rows
        page = self._page(owner, family, offset, limit)
        return [self._unpack(ids[s], rows[ids[s]]) for s in page]

    def statuses_for_owner(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        ids, states, status_of = self._ids, self._states, _STATUS_OF
        page = self._page(owner, family, offset, limit)
        return [(ids[s], status_of[states[s]]) for s in page]

    def all(self) -> list[Task]:
        return [self._unpack(task_id, self._rows[task_id]) for task_id in self._ids]

    def __len__(self) -> int:
        return len(self._rows)

    def _page(self, owner: str, family: str, offset: int, limit: int) -> list[int]:
        serials = self._listed.get((owner, family))
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
        owner, family, created_at, aspect_ratio, request_json = marshal.loads(memoryview(row)[4:])
        state = self._states[serial]
        return Task(
            task_id,
            self._owners[owner],
            _STATUS_OF[state],
            created_at,
            self._updated[serial],
            STATUSES[state >> _OUTCOME_SHIFT],
            aspect_ratio,
            self._webhooks.get(serial),
            self._bases[self._base_of[serial]],
            request_json,
            self._reasons.get(serial),
            self._families[family],
        )

    @staticmethod
    def _keep(value: str, index: dict[str, int], values: list[str]) -> int:
        """Keep a value not kept yet (the caller looked it up); its index."""
        found = index[value] = len(values)
        values.append(value)
        return found


# A packed state is a byte: the status's code (its index in STATUSES) in the low bits,
# the outcome's code above them.
_CODES: Final = {status: code for code, status in enumerate(STATUSES)}
_STATUS_BITS: Final = (1 << _OUTCOME_SHIFT) - 1
_PACKED_STATES: Final = range(len(STATUSES) << _OUTCOME_SHIFT)
# The status of each packed state.
_STATUS_OF: Final = tuple(STATUSES[state & _STATUS_BITS] for state in _PACKED_STATES)
_NO_MOVE: Final = 0xFF


def _state(task: Task) -> int:
    return _CODES[task.status] | _CODES[task.outcome] << _OUTCOME_SHIFT


def _coded_moves(event: str) -> bytes:
    """The states table's ``event`` column in packed states: for each packed state, the
    one the event leaves it in, or ``_NO_MOVE``. Derived from the table at import, so
    that :meth:`InMemoryTaskStore.advance` is one index, not a second copy of the rule."""
    moves = bytearray([_NO_MOVE]) * len(_PACKED_STATES)
    for status in STATUSES:
        for outcome in STATUSES:
            target = next_status(status, event, outcome)
            if target is not None:
                state = _CODES[status] | _CODES[outcome] << _OUTCOME_SHIFT
                moves[state] = _CODES[target] | _CODES[outcome] << _OUTCOME_SHIFT
    return bytes(moves)


# Indexed by ``finish``: the START column, then the FINISH column.
_CODED_MOVES: Final = (_coded_moves(START), _coded_moves(FINISH))
