"""The task state machine: CREATED -> IN_PROGRESS -> COMPLETED | FAILED.

This is the one place where a task's status changes; which changes are allowed is
:data:`mockserver.states.TRANSITIONS`, asked here and by the stores. Nothing runs per
task: every task takes the same time to start and to finish, so the tasks still under
way, kept in the order they were created, are also in the order their transitions fall
due. Two cursors into that queue (the next task to start, the next to finish) are the
whole schedule; creating a task appends to it and nothing else. Whoever holds the clock
(the timer loop, a GET, a manual clock advance) calls :meth:`Lifecycle.process_due` to
apply every transition whose time has come, in time order. Listeners hear of each change
(webhooks, the journal).
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from .clock import Clock
from .states import (
    COMPLETED,
    CREATED,
    FAILED,
    FINISH,
    FORCED,
    STATUSES,
    TERMINAL_STATUSES,
    next_status,
)
from .tasks import Task, TaskStore, Transition

__all__ = ["IllegalTransition", "Lifecycle", "TransitionListener"]

# Called with each status change, in time order.
TransitionListener = Callable[[Transition], None]


def _uuid4_source() -> Callable[[], str]:
    """Random version-4 UUID strings, as ``str(uuid.uuid4())`` gives them, cheaper.

    Task ids must be unique, not secret: one generator seeded from the OS replaces a
    system call and a UUID object per task.
    """
    bits = random.Random().getrandbits
    clear = ~((0xF000 << 64) | (0xC000 << 48))
    marks = (0x4000 << 64) | (0x8000 << 48)

    def next_id() -> str:
        h = f"{bits(128) & clear | marks:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    return next_id


class IllegalTransition(Exception):
    """A change the states table does not allow: a forced status that would move a task
    backwards or out of a final state, or a new outcome for a task that has ended."""


class Lifecycle:
    def __init__(
        self,
        store: TaskStore,
        clock: Clock,
        *,
        in_progress_after: float,
        complete_after: float,
        failure_rate: float = 0.0,
        seed: int | None = None,
        on_schedule: Callable[[float], None] | None = None,
        on_create: Callable[[Task], None] | None = None,
    ) -> None:
        if not 0 <= in_progress_after <= complete_after:
            raise ValueError("need 0 <= in_progress_after <= complete_after")
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        self.store = store
        self.clock = clock
        self.in_progress_after = in_progress_after
        self.complete_after = complete_after
        self.failure_rate = failure_rate
        self._seed = seed
        self._rng = random.Random(seed)
        self._on_schedule = on_schedule
        # Told of each new task (the webhooks get ready before its first delivery).
        self._on_create = on_create
        self._new_id = _uuid4_source()
        # Tasks under way in creation order, with their creation times. Before
        # ``_started`` they have had their IN_PROGRESS step; before ``_finished`` their
        # final one too (those are dropped from the front now and then).
        self._queue: list[str] = []
        self._created = array("d")
        self._started = 0
        self._finished = 0
        self._listeners: list[TransitionListener] = []

    def subscribe(self, listener: TransitionListener) -> None:
        self._listeners.append(listener)

    def create(
        self,
        owner: str,
        base_url: str,
        params: Mapping[str, Any],
        *,
        aspect_ratio: str | None = None,
        webhook_url: str | None = None,
        family: str = "",
    ) -> Task:
        now = self.clock.now()
        failed = self.failure_rate > 0 and self._rng.random() < self.failure_rate
        task = Task(
            task_id=self._new_id(),
            owner=owner,
            status=CREATED,
            created_at=now,
            updated_at=now,
            outcome=FAILED if failed else COMPLETED,
            aspect_ratio=aspect_ratio,
            webhook_url=webhook_url,
            base_url=base_url,
            request_json=orjson.dumps(params).decode(),
            family=family,
        )
        self._admit(task)
        if self._on_create is not None:
            self._on_create(task)
        return task

    def _admit(self, task: Task) -> None:
        """Store a new task and put it on the schedule."""
        self.store.add(task)
        self._enqueue(task)

    def restore(self, task: Task) -> None:
        """Re-arm the schedule of a task loaded from persistent storage (oldest first)."""
        if _finish_to_come(task):
            self._enqueue(task)

    def set_outcome(self, task_id: str, outcome: str, reason: str | None = None) -> Task:
        """Decide how a not-yet-finished task will end, without changing its status now."""
        if outcome not in TERMINAL_STATUSES:
            raise ValueError(f"an outcome is COMPLETED or FAILED, not {outcome!r}")
        task = self._get(task_id)
        if not _finish_to_come(task):
            raise IllegalTransition(f"task {task_id} already ended as {task.status}")
        task = task.replace(outcome=outcome, failure_reason=reason)
        self.store.put(task)
        return task

    def next_due(self) -> float | None:
        due = min(self._start_due(), self._finish_due())
        return None if due == math.inf else due

    def process_due(self, now: float | None = None) -> int:
        """Apply every transition due at or before ``now``; return how many were applied."""
        now = self.clock.now() if now is None else now
        applied = 0
        # Every read calls this: locals, and no method call when nothing is due.
        queue, created, advance = self._queue, self._created, self.store.advance
        start_after, finish_after = self.in_progress_after, self.complete_after
        listeners = self._listeners
        while True:
            started, finished = self._started, self._finished
            start_due = created[started] + start_after if started < len(queue) else math.inf
            finish_due = created[finished] + finish_after if finished < started else math.inf
            if start_due <= finish_due:
                if start_due > now:
                    break
                self._started = started + 1
                change = advance(queue[started], False, start_due)
            else:
                if finish_due > now:
                    break
                self._finished = finished + 1
                # To the outcome as it is now: set_outcome may have changed it.
                change = advance(queue[finished], True, finish_due)
            # None: the task is gone, or a forced change took it past this step.
            if change is not None:
                for listener in listeners:
                    listener(change)
                applied += 1
        if applied:
            self._drop_finished()
        return applied

    def force(self, task_id: str, status: str, reason: str | None = None) -> Task:
        """Move a task forward to ``status`` now, through IN_PROGRESS if it skips it.

        ``status``'s forced event of the states table is applied until the task is
        there; listeners hear of each step. Forcing a final status makes it the task's
        outcome, with ``reason`` as its failure reason."""
        task = self._get(task_id)
        event, step = self._forced_start(task, status)
        if status in TERMINAL_STATUSES:
            # Before the first step, so that every listener sees the outcome and reason.
            task = task.replace(outcome=status, failure_reason=reason)
            self.store.put(task)
        now = self.clock.now()
        # Bounded: every move raises a task's rank (states.status_rank).
        for _ in STATUSES:
            task = self._move(task, step, now)
            if task.status == status:
                return task
            found = next_status(task.status, event, task.outcome)
            if found is None:
                break
            step = found
        raise AssertionError(f"the states table leaves {event} short of {status}")

    @staticmethod
    def _forced_start(task: Task, status: str) -> tuple[str, str]:
        """The forced event that leads ``task`` to ``status`` and its first step, or
        :class:`IllegalTransition` (every store's ``force`` asks this first)."""
        event = FORCED.get(status)
        if event is None:
            raise IllegalTransition(f"cannot force status {status!r}")
        step = next_status(task.status, event, task.outcome)
        if step is None:
            raise IllegalTransition(f"cannot move task from {task.status} to {status}")
        return event, step

    def clear(self) -> None:
        self._queue.clear()
        del self._created[:]
        self._started = self._finished = 0
        self._rng = random.Random(self._seed)

    def pending(self) -> int:
        """How many tasks have a transition still to come."""
        return len(self._queue) - self._finished

    def _get(self, task_id: str) -> Task:
        task = self.store.get(task_id)
        if task is None:
            raise KeyError(task_id)
        return task

    def _enqueue(self, task: Task) -> None:
        # Only a queue with no task waiting to start can hold a due time later than this
        # task's start; otherwise the timer is already set for something sooner.
        nothing_waiting = self._started == len(self._queue)
        self._queue.append(task.task_id)
        self._created.append(task.created_at)
        if nothing_waiting and self._on_schedule is not None:
            self._on_schedule(task.created_at + self.in_progress_after)

    def _start_due(self) -> float:
        if self._started < len(self._queue):
            return self._created[self._started] + self.in_progress_after
        return math.inf

    def _finish_due(self) -> float:
        if self._finished < self._started:
            return self._created[self._finished] + self.complete_after
        return math.inf

    def _drop_finished(self) -> None:
        # Drop the finished front of the queue once it is most of it: amortised O(1).
        if self._finished > 1024 and self._finished * 2 > len(self._queue):
            del self._queue[: self._finished]
            del self._created[: self._finished]
            self._started -= self._finished
            self._finished = 0

    def _move(self, task: Task, status: str, at: float) -> Task:
        # ``status`` is a move the states table allowed (force checks it).
        previous = task.status
        task = task.moved(status, at)
        self.store.put(task)
        change = Transition.of(task, previous)
        for listener in self._listeners:
            listener(change)
        return task


def _finish_to_come(task: Task) -> bool:
    """Whether the schedule's last step is still ahead of ``task``: it has not ended."""
    return next_status(task.status, FINISH, task.outcome) is not None
