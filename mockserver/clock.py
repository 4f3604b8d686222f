"""Time as the fake sees it: the wall clock, or a manual clock tests move by hand.

Everything time-dependent (task transitions, webhook retries, rate limits, webhook
timestamps) reads one clock, so a manual clock makes all of it deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Literal, Protocol

__all__ = [
    "Clock",
    "ClockMode",
    "ManualClock",
    "SystemClock",
    "TimedWork",
    "TimerLoop",
    "make_clock",
]

ClockMode = Literal["system", "manual"]


class Clock(Protocol):
    """Unix time in seconds."""

    @property
    def mode(self) -> ClockMode: ...

    def now(self) -> float: ...


class SystemClock:
    """The wall clock."""

    @property
    def mode(self) -> ClockMode:
        return "system"

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A frozen clock that moves only when :meth:`advance` is called.

    It starts at the wall-clock time of its creation, so timestamps it produces
    (webhook-timestamp, for one) stay plausible to a verifier with a tolerance.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start

    @property
    def mode(self) -> ClockMode:
        return "manual"

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now:.3f})"


def make_clock(mode: ClockMode) -> SystemClock | ManualClock:
    return ManualClock() if mode == "manual" else SystemClock()


class TimedWork(Protocol):
    """Something with work scheduled on the clock (task transitions, webhook retries)."""

    def next_due(self) -> float | None: ...

    def process_due(self, now: float | None = None) -> int: ...


class TimerLoop:
    """One coroutine that sleeps until the earliest due work of all sources, then runs it.

    With a manual clock it never sleeps on time: :meth:`run_due` is called when the
    clock is advanced. One loop for everything keeps idle tasks free: nothing waits
    per task.
    """

    def __init__(self, clock: Clock, sources: Sequence[TimedWork]) -> None:
        self.clock = clock
        self.sources = list(sources)
        self._wake: asyncio.Event | None = None
        self._sleeping_until: float | None = None
        self._task: asyncio.Task[None] | None = None

    def run_due(self) -> int:
        """Run all due work, in time order across sources, and return how much ran."""
        now = self.clock.now()
        ran = 0
        while True:
            dues = [
                (due, i) for i, s in enumerate(self.sources) if (due := s.next_due()) is not None
            ]
            if not dues:
                return ran
            due, index = min(dues)
            if due > now:
                return ran
            # Up to the next source's due time, so work across sources stays in time order.
            later = [d for d, i in dues if i != index]
            step = self.sources[index].process_due(min([now, *later]))
            ran += step
            if step == 0 and self.sources[index].next_due() == due:
                return ran  # nothing moved; avoid spinning on a stuck source

    def wake(self, due: float) -> None:
        """Tell the loop that work is due at ``due``; wakes it if it sleeps past that."""
        if self._wake is None:
            return
        if self._sleeping_until is None or due < self._sleeping_until:
            self._wake.set()

    def start(self) -> None:
        """Start the loop in the running event loop, once."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self.run_due()
            dues = [d for s in self.sources if (d := s.next_due()) is not None]
            if self.clock.mode == "manual" or not dues:
                self._sleeping_until = None
                timeout = None
            else:
                self._sleeping_until = min(dues)
                timeout = max(0.0, self._sleeping_until - self.clock.now())
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
