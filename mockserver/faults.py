"""Injected faults, added latency and the documented rate limits.

Faults are rules a test adds through the control API: the next N requests matching a
method and a path glob answer a given status with the API's own body for it, wait, or
lose their connection. The fault middleware (``middleware.py``) asks the
:class:`FaultGate` first, so a faulted request never reaches validation or the task store.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Final

from .clock import Clock

__all__ = [
    "BODILESS_STATUSES",
    "BodilessStatus",
    "ConnectionDropped",
    "Fault",
    "FaultGate",
    "FaultRegistry",
    "RateLimiter",
    "check_fault_status",
]


class ConnectionDropped(Exception):
    """Raised by the app to lose a connection on purpose (a ``drop`` fault).

    Under a server the client sees the connection close before a complete response;
    in-process, the client sees this exception.
    """


# Statuses whose answer has no body (RFC 9110: 1xx, 204, 205 and 304 end at the head):
# a fault answers with the API's JSON body, which on these would be read as the start
# of the next answer on a keep-alive connection. A real API error is never one of them.
BODILESS_STATUSES: Final = frozenset((*range(100, 200), 204, 205, 304))


class BodilessStatus(ValueError):
    """A fault status that cannot carry the API's JSON body."""


@dataclass(slots=True)
class Fault:
    id: int
    method: str = "*"
    path: str = "*"
    status: int | None = None
    # How many more requests it applies to; None: every one until cleared.
    times: int | None = 1
    delay_ms: int = 0
    drop: bool = False
    matched: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method == "*" or self.method.upper() == method) and fnmatch.fnmatchcase(
            path, self.path
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_fault_status(status: int | None) -> None:
    """Refuse a fault status that cannot carry the API's JSON body."""
    if status in BODILESS_STATUSES:
        raise BodilessStatus(
            f"status {status} cannot be a fault: a {status} answer has no body, and a "
            "fault answers with the API's JSON body (1xx, 204, 205 and 304 are refused)"
        )


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

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
        fault = Fault(next(self._ids), method.upper(), path, status, times, delay_ms, drop)
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first live fault matching the request, counting this use of it."""
        for fault in self._faults:
            if fault.matches(method, path):
                fault.matched += 1
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def list(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()

    def __bool__(self) -> bool:
        return bool(self._faults)


class RateLimiter:
    """Freepik's documented per-IP limits as two token buckets.

    50 requests/s in bursts over 5 s (a bucket of 250 refilling at 50/s) and 10
    requests/s on average over 2 min (a bucket of 1,200 refilling at 10/s). Time comes
    from the fake's clock, so a manual clock makes the limits deterministic.
    """

    BUCKETS = ((250.0, 50.0), (1200.0, 10.0))

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # ip -> (time of last refill, tokens per bucket...)
        self._state: dict[str, tuple[float, ...]] = {}

    def allow(self, client: str) -> bool:
        now = self.clock.now()
        state = self._state.get(client)
        if state is None:
            tokens = [capacity for capacity, _ in self.BUCKETS]
        else:
            elapsed = max(0.0, now - state[0])
            tokens = [
                min(capacity, left + elapsed * rate)
                for (capacity, rate), left in zip(self.BUCKETS, state[1:], strict=True)
            ]
        allowed = all(t >= 1.0 for t in tokens)
        if allowed:
            tokens = [t - 1.0 for t in tokens]
        self._state[client] = (now, *tokens)
        return allowed

    def headers(self, client: str, refused: bool = False) -> list[tuple[bytes, bytes]]:
        """``x-ratelimit-*`` for ``client`` as of its last request, after :meth:`allow`
        (the live API sends them on every answer), and on a refusal ``Retry-After``.

        They describe the bucket closest to running out: its size, the requests left in
        it, and the seconds until it is full again.
        """
        state = self._state.get(client)
        if state is None:
            return []
        elapsed = max(0.0, self.clock.now() - state[0])
        levels = [
            (min(capacity, left + elapsed * rate), capacity, rate)
            for (capacity, rate), left in zip(self.BUCKETS, state[1:], strict=True)
        ]
        tokens, capacity, rate = min(levels, key=lambda level: level[0] / level[1])
        found = [
            (b"x-ratelimit-limit", b"%d" % capacity),
            (b"x-ratelimit-remaining", b"%d" % max(0, math.floor(tokens))),
            (b"x-ratelimit-reset", b"%d" % math.ceil((capacity - tokens) / rate)),
        ]
        short = [(1.0 - left) / rate for left, _, rate in levels if left < 1.0]
        if refused and short:
            found.append((b"retry-after", b"%d" % max(1, math.ceil(max(short)))))
        return found

    def clear(self) -> None:
        self._state.clear()


class FaultGate:
    """Applies rate limits, faults and latency to API requests (not to ``/_mock``)."""

    def __init__(
        self,
        faults: FaultRegistry,
        *,
        latency_ms: int = 0,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.faults = faults
        self.latency_ms = latency_ms
        self.rate_limiter = rate_limiter

    @property
    def active(self) -> bool:
        """Whether any request could be held up or answered here (cheap, asked per request)."""
        return bool(self.faults) or bool(self.latency_ms) or self.rate_limiter is not None

    async def intercept(self, method: str, path: str, client: str) -> int | None:
        """Apply what matches the request: the status to answer it with here, or None
        to serve it. Raises :class:`ConnectionDropped` for a ``drop`` fault."""
        if self.rate_limiter is not None and not self.rate_limiter.allow(client):
            return 429
        fault = self.faults.take(method, path) if self.faults else None
        delay = self.latency_ms + (fault.delay_ms if fault else 0)
        if delay:
            await asyncio.sleep(delay / 1000)
        if fault is not None and fault.drop:
            raise ConnectionDropped(f"fault {fault.id} dropped the connection")
        if fault is not None and fault.status is not None:
            return fault.status
        return None
