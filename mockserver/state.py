"""Where a fake keeps its state: the one place a backend is chosen (``--state``).

Memory (the default) keeps everything in this process. A SQLite file (``--state PATH``,
``persistence.py``) or a Redis server (``--state redis://host:port/db``,
``redis_state.py``) is a :class:`SharedBackend`: tasks, the lifecycle schedule, the
webhook outbox and delivery log, faults, the journal and the manual clock live there,
shared by every process (``--workers``, replicas) that names it, and
:mod:`mockserver.shared` builds the runtime's parts over it. Every backend keeps each
namespace apart (Redis keys ``fm:{namespace}:...``, SQLite rows with a namespace column).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeAlias

from .config import MockConfig
from .constants import DEFAULT_NAMESPACE
from .tasks import Task
from .webhooks import Delivery

__all__ = [
    "DEFAULT_NAMESPACE",
    "DUE_ALREADY",
    "LEASE_MARGIN",
    "Move",
    "SharedBackend",
    "State",
    "StateError",
    "StateLink",
    "connect_state",
    "is_redis_url",
    "lease_seconds",
    "open_state",
]

# When a delivery whose claim ran out is due: before any time a caller compares it with.
DUE_ALREADY: Final = -math.inf
# A claimed delivery is taken over when its claim is this much older than the webhook
# timeout: its process died (or hung) in the middle of the attempt.
LEASE_MARGIN: Final = 2.0


# One compare-and-set move (SharedBackend.move's arguments): before, after, the task's
# next due time, its webhook, its journal entry.
Move: TypeAlias = tuple[Task, Task, float | None, Delivery | None, dict[str, Any] | None]


class StateError(ValueError):
    """The state cannot be used: a file that is not ours, a server that does not answer."""


def is_redis_url(state: str) -> bool:
    return state.startswith(("redis://", "rediss://", "unix://"))


def lease_seconds(config: MockConfig) -> float:
    """How long a claim on a delivery holds before another process may take it over."""
    return config.webhook_timeout + LEASE_MARGIN


class SharedBackend(Protocol):
    """State shared by every process that opens the same place, for one namespace.

    Every call is one short round trip (or one transaction). A change that another
    process may race is a compare-and-set: :meth:`move` applies a transition only from
    the status it was computed from, so each transition, its journal entry and its
    webhook happen once, whichever process gets there first.
    """

    namespace: str
    where: str

    # Tasks and the schedule: ``due`` is when the task's next step falls due (None: ended).
    def add_task(self, task: Task, due: float | None) -> None: ...

    def get_task(self, task_id: str) -> Task | None: ...

    def set_outcome(self, task_id: str, outcome: str, reason: str | None) -> bool:
        """Set how an unfinished task ends; False if it has ended (KeyError if unknown)."""
        ...

    def move(
        self,
        before: Task,
        after: Task,
        due: float | None,
        delivery: Delivery | None,
        journal_entry: dict[str, Any] | None,
    ) -> bool:
        """``after``'s status and time, if the task still has ``before``'s status; with
        its next due time, its webhook queued and its journal entry, all or nothing."""
        ...

    def move_many(self, moves: Sequence[Move]) -> list[bool]:
        """:meth:`move` for each of ``moves``, in one round trip; whether each moved."""
        ...

    def get_tasks(self, task_ids: Sequence[str]) -> list[Task | None]:
        """:meth:`get_task` for each of ``task_ids``, in one round trip."""
        ...

    def due_tasks(self, now: float, limit: int) -> list[str]:
        """Tasks whose next step is due by ``now``, earliest first."""
        ...

    def next_task_due(self) -> float | None: ...

    def page(self, owner: str, family: str, offset: int, limit: int) -> list[Task]: ...

    def status_page(
        self, owner: str, family: str, offset: int, limit: int
    ) -> list[tuple[str, str]]: ...

    def all_tasks(self) -> list[Task]: ...

    def task_count(self) -> int: ...

    def clear_tasks(self) -> None: ...

    # Webhook deliveries: a task's go out one at a time, in order; one process claims the
    # task's next one for a lease, and another takes it over when the lease runs out.
    def claim(self, now: float, limit: int) -> list[Delivery]: ...

    def next_delivery_due(self) -> float | None:
        """When a delivery may next be claimed: :data:`DUE_ALREADY` if a claim's lease
        ran out (not "now": the caller's now is earlier than any the backend reads)."""
        ...

    def finish_delivery(self, delivery: Delivery, at: float, log_entry: dict[str, Any]) -> bool:
        """Done with ``delivery`` (delivered, refused, given up on); False if another
        process had taken the claim over."""
        ...

    def retry_delivery(self, delivery: Delivery, log_entry: dict[str, Any]) -> bool: ...

    def pending_deliveries(self) -> int: ...

    def delivery_log(self, task_id: str | None) -> list[dict[str, Any]]: ...

    def clear_deliveries(self) -> None: ...

    # The journal, most recent last; entries get their ids here.
    def journal_append(self, entry: dict[str, Any]) -> None: ...

    def journal_entries(self) -> list[dict[str, Any]]: ...

    def clear_journal(self) -> None: ...

    # Fault rules, as the JSON of ``faults.Fault`` without its id.
    def fault_add(self, fault: dict[str, Any]) -> dict[str, Any]: ...

    def faults(self) -> list[dict[str, Any]]: ...

    def fault_count(self) -> int: ...

    def fault_use(self, fault_id: int) -> dict[str, Any] | None:
        """Count one use of a fault (dropping it when used up): as it was, or None if gone."""
        ...

    def clear_faults(self) -> None: ...

    # The manual clock and the result-URL key, one per namespace.
    def clock_now(self) -> float: ...

    def clock_advance(self, seconds: float) -> float: ...

    def result_key(self) -> bytes: ...

    def close(self) -> None:
        """Let go of connections; a later call opens them again (after a fork, say)."""
        ...


class StateLink(Protocol):
    """One process's connection to the place ``--state`` names, which every namespace
    of an app shares (Redis: one connection pool, scripts loaded once, one memory of
    tracked reads), so that a hundred namespaces do not open a hundred pools."""

    def close(self) -> None:
        """Let go of the connections; they open again when next used (after a fork)."""
        ...


def connect_state(config: MockConfig) -> StateLink | None:
    """The link an app's namespaces share, for state kept on a server (Redis); None
    for memory and SQLite, whose namespaces each open the file themselves."""
    if config.state is None or not is_redis_url(config.state):
        return None
    link: StateLink = _redis_state(config.state).RedisLink(config.state)
    return link


def _redis_state(url: str) -> Any:
    try:
        from . import redis_state  # redis-py: only Redis state needs it
    except ImportError as exc:
        raise StateError(
            f"--state {url} needs redis-py ({exc}): pip install 'freepik-mock[redis]'"
        ) from None
    return redis_state


@dataclass
class State:
    """What :func:`open_state` opened: nothing (memory), or a shared backend."""

    backend: SharedBackend | None

    @property
    def shared(self) -> bool:
        return self.backend is not None

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def open_state(
    config: MockConfig, namespace: str = DEFAULT_NAMESPACE, link: StateLink | None = None
) -> State:
    """The state ``config.state`` names, for ``namespace``: memory, SQLite or Redis,
    over ``link`` (:func:`connect_state`) if given, else a connection of its own."""
    if config.state is None:
        return State(None)
    sizes: dict[str, Any] = {
        "lease": lease_seconds(config),
        "journal_size": config.journal_size,
        "log_size": config.webhook_log_size,
    }
    if is_redis_url(config.state):
        redis_state = _redis_state(config.state)
        if isinstance(link, redis_state.RedisLink):
            sizes["link"] = link
        return State(redis_state.RedisBackend(config.state, namespace, **sizes))
    from .persistence import SQLiteBackend  # sqlite3: start-up time only --state needs

    return State(SQLiteBackend(config.state, namespace, **sizes))
