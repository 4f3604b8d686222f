"""The runtime's parts over a :class:`~mockserver.state.SharedBackend`: what several
processes (``--workers``, replicas behind a load balancer) hold in common.

No timer owns a task. A task's status follows from what is stored of it (its creation
time, the lifecycle's delays, its outcome, forced moves) and the clock when it is read:
whoever reads, polls or advances the clock applies the steps that fell due, each one a
compare-and-set (:meth:`SharedBackend.move`), so each transition, its journal entry and
its webhook happen once, whichever process notices first. A due-set (the backend's
schedule, by due time) lets tasks nobody reads still move: every process polls it.

Webhooks go out exactly once across processes: one process claims a task's next
delivery for a lease, sends it, and releases it (delivered, retry due, given up on);
a claim whose process died is taken over once its lease runs out, with the same
``webhook-id``. What stays per process: the rate limiter's buckets, in-flight media
probes, and the HTTP connections.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from starlette.types import Scope

from .clock import LATEST_TIME, Clock, ClockOutOfRange, ManualClock
from .constants import REQUEST_ID_KEY
from .faults import Fault, FaultRegistry, check_fault_status
from .journal import BODY_LIMIT, Journal
from .lifecycle import IllegalTransition, Lifecycle
from .state import Move, SharedBackend
from .states import (
    FINISH,
    START,
    STATUSES,
    TERMINAL_STATUSES,
    next_status,
)
from .tasks import Task, Transition
from .webhooks import _MAX_IN_FLIGHT, Delivery, WebhookDispatcher

__all__ = [
    "POLL_INTERVAL",
    "SharedFaults",
    "SharedJournal",
    "SharedLifecycle",
    "SharedManualClock",
    "SharedTaskStore",
    "SharedWebhooks",
]

# How often a process looks at the shared schedule for work other processes left due
# (system clock only: a manual clock moves only when someone advances it, who runs it).
POLL_INTERVAL: Final = 0.05
# At most this many due tasks moved per look, the earliest first, read in one round trip
# and moved in another. A read never waits for the scan (it applies its own task's due
# steps), so a backlog is worked through a batch at a time with a pause between batches
# for the API's requests: 256 moves at once held the event loop for 25 ms.
_SCAN_LIMIT: Final = 64
_SCAN_PAUSE: Final = 0.002
# How long the schedule's head, once read, answers the timer's questions (system clock).
_DUE_MEMO_S: Final = 0.001


class SharedManualClock(ManualClock):
    """A manual clock every process of a namespace reads and advances alike."""

    def __init__(self, backend: SharedBackend) -> None:
        super().__init__(0.0)
        self._backend = backend

    def now(self) -> float:
        return self._backend.clock_now()

    def advance(self, seconds: float) -> float:
        if not math.isfinite(seconds):
            raise ClockOutOfRange(f"seconds must be a finite number, not {seconds!r}")
        if seconds < 0:
            raise ClockOutOfRange("a clock cannot go backwards: seconds must be >= 0")
        if self.now() + seconds > LATEST_TIME:
            super().advance(LATEST_TIME)  # the same refusal, worded once (clock.py)
        return self._backend.clock_advance(seconds)

    def __repr__(self) -> str:
        return f"SharedManualClock({self._backend!r})"


class SharedTaskStore:
    """A :class:`~mockserver.tasks.TaskStore` read from the backend. It changes only
    through :class:`SharedLifecycle`, whose moves are compare-and-sets.

    A read is as of the clock: :meth:`get` applies its task's due steps (so that their
    webhooks go out once, from whoever reads first), and lists show each task's status
    as its schedule gives it now, leaving the moves to the due-set scan."""

    def __init__(self, backend: SharedBackend) -> None:
        self._backend = backend
        # Set by SharedLifecycle: bring one task up to date, and what its status is now.
        self.catch_up: Callable[[Task], Task] = lambda task: task
        self.status_now: Callable[[Task], str] = lambda task: task.status

    def add(self, task: Task) -> None:
        self._backend.add_task(task, None)

    def get(self, task_id: str) -> Task | None:
        task = self._backend.get_task(task_id)
        return None if task is None else self.catch_up(task)

    def put(self, task: Task) -> None:
        raise TypeError("a shared task changes through SharedLifecycle only (compare-and-set)")

    def advance(self, task_id: str, finish: bool, at: float) -> Transition | None:
        raise TypeError("a shared task changes through SharedLifecycle only (compare-and-set)")

    def list_for_owner(self, owner: str, family: str, offset: int, limit: int) -> list[Task]:
        return [self._as_now(t) for t in self._backend.page(owner, family, offset, limit)]

    def statuses_for_owner(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]:
        return [
            (task.task_id, self.status_now(task))
            for task in self._backend.page(owner, family, offset, limit)
        ]

    def all(self) -> list[Task]:
        return [self._as_now(task) for task in self._backend.all_tasks()]

    def _as_now(self, task: Task) -> Task:
        status = self.status_now(task)
        return task if status == task.status else task.replace(status=status)

    def clear(self) -> None:
        self._backend.clear_tasks()

    def __len__(self) -> int:
        return self._backend.task_count()


class SharedJournal(Journal):
    """The request journal, kept in the backend (each entry one append)."""

    def __init__(
        self,
        backend: SharedBackend,
        clock: Clock,
        secret_headers: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(clock, 1, secret_headers)
        self._backend = backend

    def record(self, entry: dict[str, Any]) -> None:
        entry.setdefault("at", self.clock.now())
        self._backend.journal_append(entry)

    def record_request(self, scope: Scope, status: int | None, body: bytes) -> None:
        secret = self._secret_headers
        api_key_sent = any(name in secret and value for name, value in scope["headers"])
        self._backend.journal_append(
            {
                "kind": "request",
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode("latin-1"),
                "status": status,
                "api_key": "sent" if api_key_sent else "missing",
                "body": body[:BODY_LIMIT].decode("utf-8", "replace"),
                "at": self.clock.now(),
                "request_id": scope.get(REQUEST_ID_KEY),
            }
        )

    def on_transition(self, change: Transition) -> None:
        self._backend.journal_append(transition_entry(change))

    def entries(self, limit: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        items = [e for e in self._backend.journal_entries() if kind is None or e["kind"] == kind]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        self._backend.clear_journal()


def transition_entry(change: Transition) -> dict[str, Any]:
    """A transition as the journal shows it (without its id)."""
    entry: dict[str, Any] = {
        "kind": "transition",
        "task_id": change.task_id,
        "from": change.previous,
        "status": change.status,
        "at": change.at,
    }
    if change.failure_reason:
        entry["reason"] = change.failure_reason
    return entry


class SharedFaults(FaultRegistry):
    """Fault rules in the backend: a rule for N requests answers N of them, whichever
    processes they reach."""

    def __init__(self, backend: SharedBackend) -> None:
        super().__init__()
        self._backend = backend

    def add(
        self,
        *,
        method: str = "*",
        path: str = "*",
        status: int | None = None,
        times: int | None = 1,
        delay_ms: int = 0,
        drop: bool = False,
    ) -> Fault:
        check_fault_status(status)
        fields = Fault(0, method.upper(), path, status, times, delay_ms, drop).to_json()
        del fields["id"]
        return Fault(**self._backend.fault_add(fields))

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self.list():
            if fault.matches(method, path):
                used = self._backend.fault_use(fault.id)
                if used is not None:  # else another process used it up meanwhile
                    return Fault(**used)
        return None

    def list(self) -> list[Fault]:
        return [Fault(**fields) for fields in self._backend.faults()]

    def clear(self) -> None:
        self._backend.clear_faults()

    def __bool__(self) -> bool:
        return self._backend.fault_count() > 0


class SharedLifecycle(Lifecycle):
    """The schedule as the backend stores it: a task's next step falls due at its
    creation time plus a delay; whoever sees it due first applies it."""

    def __init__(
        self,
        backend: SharedBackend,
        clock: Clock,
        *,
        webhooks: WebhookDispatcher,
        journal_size: int = 1,
        **settings: Any,
    ) -> None:
        """``settings`` (delays, failure rate, seed, callbacks) as for :class:`Lifecycle`."""
        super().__init__(SharedTaskStore(backend), clock, **settings)
        self._backend = backend
        self._webhooks = webhooks
        self._journaled = journal_size > 0
        # Clock time before which the scan takes no next batch (see _SCAN_PAUSE).
        self._scan_after = -math.inf
        # (monotonic time read, the schedule's head then): see _due_head.
        self._due_memo: tuple[float, float | None] | None = None
        store = self.store
        assert isinstance(store, SharedTaskStore)
        store.catch_up = lambda task: self._catch_up(task, self.clock.now())[0]
        store.status_now = self._status_at_now

    def _admit(self, task: Task) -> None:
        due = self._due_of(task)
        self._backend.add_task(task, due)
        memo = self._due_memo
        if memo is not None and due is not None:  # the head after our own add, exactly
            self._due_memo = (memo[0], due if memo[1] is None else min(memo[1], due))
        if due is not None and self._on_schedule is not None:
            self._on_schedule(due)

    def restore(self, task: Task) -> None:
        """Nothing to re-arm: the schedule is stored with the tasks."""

    def set_outcome(self, task_id: str, outcome: str, reason: str | None = None) -> Task:
        if outcome not in TERMINAL_STATUSES:
            raise ValueError(f"an outcome is COMPLETED or FAILED, not {outcome!r}")
        task = self._get(task_id)
        if not self._backend.set_outcome(task_id, outcome, reason):
            raise IllegalTransition(f"task {task_id} already ended as {self._get(task_id).status}")
        return task.replace(outcome=outcome, failure_reason=reason)

    def next_due(self) -> float | None:
        if self.clock.mode == "manual":
            return self._backend.next_task_due()
        due = self._due_head()
        now = self.clock.now()
        if due is not None and due < self._scan_after:
            due = self._scan_after  # a backlog: the next batch after a pause
        # Other processes add work this one hears nothing of: look again soon.
        poll = now + POLL_INTERVAL
        return poll if due is None else min(due, poll)

    def _due_head(self) -> float | None:
        """The schedule's head, read at most once per :data:`_DUE_MEMO_S` (the timer asks
        several times per run): other processes' work is looked for every
        :data:`POLL_INTERVAL` anyway, and this process's adds and moves keep it exact."""
        memo = self._due_memo
        wall = time.monotonic()
        if memo is not None and wall - memo[0] < _DUE_MEMO_S:
            return memo[1]
        head = self._backend.next_task_due()
        self._due_memo = (wall, head)
        return head

    def process_due(self, now: float | None = None) -> int:
        """Apply the steps due by ``now`` (the timer and clock advances pass it), to one
        batch of tasks. Without ``now`` (a handler about to read) nothing: a read is as
        of the clock already (SharedTaskStore), and a backlog of due tasks is the scan's
        to work through, not every request's."""
        if now is None:
            return 0
        due = self._backend.due_tasks(now, _SCAN_LIMIT)
        if not due:
            return 0
        tasks = [task for task in self._backend.get_tasks(due) if task is not None]
        applied = self._catch_up_all(tasks, now)
        if len(due) >= _SCAN_LIMIT and self.clock.mode != "manual":
            self._scan_after = self.clock.now() + _SCAN_PAUSE
        return applied

    def _catch_up_all(self, tasks: list[Task], now: float) -> int:
        """:meth:`_catch_up` for many tasks, each round's moves in one round trip; how
        many moves this process made."""
        applied = 0
        for _ in range(2 * len(STATUSES)):
            moves: list[tuple[Task, Task]] = []
            for task in tasks:
                step = self._step(task)
                if step is None or step[1] > now:
                    continue
                status = next_status(task.status, step[0], task.outcome)
                if status is not None:
                    moves.append((task, task.moved(status, step[1])))
            if not moves:
                break
            done = self._apply_all(moves)
            # A task another process moved meanwhile is left to it (its scan or read goes
            # on to now): two workers scanning one schedule would otherwise both read and
            # try every task again.
            tasks = [after for (_, after), moved in zip(moves, done, strict=True) if moved]
            applied += len(tasks)
        return applied

    def force(self, task_id: str, status: str, reason: str | None = None) -> Task:
        task = self._get(task_id)
        event, step = self._forced_start(task, status)
        if status in TERMINAL_STATUSES:
            if not self._backend.set_outcome(task_id, status, reason):
                raise IllegalTransition(f"cannot move task from {task.status} to {status}")
            task = task.replace(outcome=status, failure_reason=reason)
        now = self.clock.now()
        # Bounded: every move raises a task's rank, ours or another process's.
        for _ in range(2 * len(STATUSES)):
            moved = task.moved(step, now)
            # Else another process moved it meanwhile: go on from where it is now.
            task = moved if self._apply(task, moved) else self._get(task_id)
            if task.status == status:
                return task
            found = next_status(task.status, event, task.outcome)
            if found is None:
                raise IllegalTransition(f"cannot move task from {task.status} to {status}")
            step = found
        raise AssertionError(f"the states table leaves {event} short of {status}")

    def pending(self) -> int:
        return len(self._backend.due_tasks(math.inf, 1 << 30))

    def _step(self, task: Task) -> tuple[str, float] | None:
        """The task's next scheduled step and when it falls due, from the states table."""
        if next_status(task.status, START, task.outcome) is not None:
            return START, task.created_at + self.in_progress_after
        if next_status(task.status, FINISH, task.outcome) is not None:
            return FINISH, task.created_at + self.complete_after
        return None

    def _due_of(self, task: Task) -> float | None:
        step = self._step(task)
        return None if step is None else step[1]

    def _catch_up(self, task: Task, now: float) -> tuple[Task, int]:
        """``task`` with the steps due by ``now`` applied, by this process or another,
        and how many this process applied."""
        applied = 0
        for _ in range(2 * len(STATUSES)):
            step = self._step(task)
            if step is None or step[1] > now:
                break
            event, due = step
            status = next_status(task.status, event, task.outcome)
            if status is None:
                break
            moved = task.moved(status, due)
            if self._apply(task, moved):
                task = moved
                applied += 1
            else:  # another process moved it: go on from where it is now
                found = self._backend.get_task(task.task_id)
                if found is None:
                    break
                task = found
        return task, applied

    def _status_at_now(self, task: Task) -> str:
        """The status ``task``'s schedule gives it now, whether or not it was applied."""
        now = self.clock.now()
        status = task.status
        for _ in range(2 * len(STATUSES)):
            step = self._step(task.replace(status=status))
            if step is None or step[1] > now:
                break
            found = next_status(status, step[0], task.outcome)
            if found is None:
                break
            status = found
        return status

    def _apply(self, before: Task, after: Task) -> bool:
        """One move as a compare-and-set, with its webhook and journal entry; listeners
        here hear of it only if this process made it."""
        return self._apply_all([(before, after)])[0]

    def _apply_all(self, moves: Sequence[tuple[Task, Task]]) -> list[bool]:
        """:meth:`_apply` for each of ``moves``, in one round trip."""
        planned: list[Move] = []
        changes: list[Transition] = []
        for before, after in moves:
            change = Transition.of(after, before.status)
            delivery = self._webhooks.delivery_for(change)
            entry = transition_entry(change) if self._journaled else None
            planned.append((before, after, self._due_of(after), delivery, entry))
            changes.append(change)
        done = self._backend.move_many(planned)
        self._due_memo = None  # a moved task's next step may come later or not at all
        for change, move, moved in zip(changes, planned, done, strict=True):
            if not moved:
                continue
            for listener in self._listeners:
                listener(change)
            delivery = move[3]
            if delivery is not None and self._on_schedule is not None:
                self._on_schedule(delivery.due_at)
        return done


class SharedWebhooks(WebhookDispatcher):
    """Sends the deliveries this process claims from the backend; the same signing,
    HTTP client and log entries as :class:`WebhookDispatcher`."""

    def __init__(self, backend: SharedBackend, clock: Clock, **settings: Any) -> None:
        """``settings`` as for :class:`WebhookDispatcher`."""
        super().__init__(clock, **settings)
        self._backend = backend
        # Claimed here, waiting for the pump to begin their attempt.
        self._claimed: deque[Delivery] = deque()

    def on_transition(self, change: Transition) -> None:
        """Nothing: a shared move queues its webhook itself (SharedLifecycle._apply)."""

    def next_due(self) -> float | None:
        due = self._backend.next_delivery_due()
        if self.clock.mode == "manual":
            return due
        poll = self.clock.now() + POLL_INTERVAL
        return poll if due is None else min(due, poll)

    def process_due(self, now: float | None = None) -> int:
        now = self.clock.now() if now is None else now
        room = _MAX_IN_FLIGHT - len(self._running) - len(self._claimed)
        if room <= 0:
            return 0
        claimed = self._backend.claim(now, room)
        if claimed:
            self._claimed.extend(claimed)
            if self._pumping is None:
                self._pumping = asyncio.get_running_loop().call_soon(self._pump)
        return len(claimed)

    def log(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return self._backend.delivery_log(task_id)

    def pending(self) -> int:
        return self._backend.pending_deliveries()

    def clear(self) -> None:
        self._claimed.clear()
        self._backend.clear_deliveries()

    async def aclose(self) -> None:
        # Unsent claims are left to run out: another process (or this one, restarted)
        # takes them over after the lease.
        self._claimed.clear()
        await super().aclose()

    def _idle(self) -> bool:
        return not self._claimed

    def _next_to_start(self) -> Delivery | None:
        return self._claimed.popleft() if self._claimed else None

    async def _attempt(self, delivery: Delivery) -> None:
        entry, started, verdict = await self._send(delivery)
        due = self._judge(delivery, entry, verdict, started)
        if due is not None:
            self._backend.retry_delivery(delivery, entry)
            if self._on_schedule is not None:
                self._on_schedule(due)
            return
        self._backend.finish_delivery(delivery, started, entry)
        if self._on_schedule is not None:
            self._on_schedule(started)  # the task's next delivery may be due now
