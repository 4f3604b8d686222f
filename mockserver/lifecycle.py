"""The task state machine: CREATED -> IN_PROGRESS -> COMPLETED | FAILED.

This is the one place where a task's status changes. Nothing runs per task: each
pending task has one entry in a heap keyed by the time of its next transition, and
whoever holds the clock (the timer loop, a GET, a manual clock advance) calls
:meth:`Lifecycle.process_due` to apply every transition whose time has come, in time
order. Listeners hear of each change (webhooks, the journal).
"""

from __future__ import annotations

import heapq
import itertools
import json
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .clock import Clock
from .tasks import (
    COMPLETED,
    CREATED,
    FAILED,
    IN_PROGRESS,
    TERMINAL_STATUSES,
    Task,
    TaskStore,
    status_rank,
)

__all__ = ["IllegalTransition", "Lifecycle", "TransitionListener"]

# Called with the task after the change and the status it had before.
TransitionListener = Callable[[Task, str], None]


class IllegalTransition(Exception):
    """A forced status change that would move a task backwards or out of a final state."""


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
        result_urls: Callable[[Task], tuple[str, ...]] | None = None,
        on_schedule: Callable[[float], None] | None = None,
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
        self._result_urls = result_urls or (lambda task: ())
        self._on_schedule = on_schedule
        # (due time, tie-breaker, task id, status it moves to then)
        self._heap: list[tuple[float, int, str, str]] = []
        self._sequence = itertools.count()
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
    ) -> Task:
        now = self.clock.now()
        failed = self.failure_rate > 0 and self._rng.random() < self.failure_rate
        task = Task(
            task_id=str(uuid.uuid4()),
            owner=owner,
            status=CREATED,
            created_at=now,
            updated_at=now,
            outcome=FAILED if failed else COMPLETED,
            aspect_ratio=aspect_ratio,
            webhook_url=webhook_url,
            base_url=base_url,
            request_json=json.dumps(params, separators=(",", ":"), ensure_ascii=False),
        )
        self.store.add(task)
        self._schedule(now + self.in_progress_after, task.task_id, IN_PROGRESS)
        return task

    def restore(self, task: Task) -> None:
        """Re-arm the schedule of a task loaded from persistent storage."""
        if task.status == CREATED:
            self._schedule(task.created_at + self.in_progress_after, task.task_id, IN_PROGRESS)
        elif task.status == IN_PROGRESS:
            self._schedule(task.created_at + self.complete_after, task.task_id, task.outcome)

    def set_outcome(self, task_id: str, outcome: str, reason: str | None = None) -> Task:
        """Decide how a not-yet-finished task will end, without changing its status now."""
        if outcome not in TERMINAL_STATUSES:
            raise ValueError(f"an outcome is COMPLETED or FAILED, not {outcome!r}")
        task = self._get(task_id)
        if task.status in TERMINAL_STATUSES:
            raise IllegalTransition(f"task {task_id} already ended as {task.status}")
        task = task.replace(outcome=outcome, failure_reason=reason)
        self.store.put(task)
        return task

    def next_due(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def process_due(self, now: float | None = None) -> int:
        """Apply every transition due at or before ``now``; return how many were applied."""
        now = self.clock.now() if now is None else now
        applied = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, task_id, target = heapq.heappop(heap)
            task = self.store.get(task_id)
            if task is None or task.status in TERMINAL_STATUSES:
                continue
            if status_rank(task.status) < status_rank(target):
                # A terminal entry's target is re-read: set_outcome may have changed it.
                self._move(task, target if target == IN_PROGRESS else task.outcome, due)
                applied += 1
            if target == IN_PROGRESS:
                self._schedule(
                    task.created_at + self.complete_after, task_id, COMPLETED, notify=False
                )
        return applied

    def force(self, task_id: str, status: str, reason: str | None = None) -> Task:
        """Move a task forward to ``status`` now, through IN_PROGRESS if it skips it."""
        task = self._get(task_id)
        if status not in (IN_PROGRESS, COMPLETED, FAILED):
            raise IllegalTransition(f"cannot force status {status!r}")
        if task.status in TERMINAL_STATUSES or status_rank(status) <= status_rank(task.status):
            raise IllegalTransition(f"cannot move task from {task.status} to {status}")
        now = self.clock.now()
        if status in TERMINAL_STATUSES:
            task = task.replace(outcome=status, failure_reason=reason)
            self.store.put(task)
            if task.status == CREATED:
                task = self._move(task, IN_PROGRESS, now)
        return self._move(task, status, now)

    def clear(self) -> None:
        self._heap.clear()
        self._rng = random.Random(self._seed)

    def pending(self) -> int:
        return len(self._heap)

    def _get(self, task_id: str) -> Task:
        task = self.store.get(task_id)
        if task is None:
            raise KeyError(task_id)
        return task

    def _schedule(self, due: float, task_id: str, target: str, notify: bool = True) -> None:
        heapq.heappush(self._heap, (due, next(self._sequence), task_id, target))
        if notify and self._on_schedule is not None:
            self._on_schedule(due)

    def _move(self, task: Task, status: str, at: float) -> Task:
        previous = task.status
        generated = self._result_urls(task) if status == COMPLETED else ()
        task = task.replace(status=status, updated_at=at, generated=generated)
        self.store.put(task)
        for listener in self._listeners:
            listener(task, previous)
        return task
