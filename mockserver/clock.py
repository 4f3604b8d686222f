"""Time as the fake sees it: the wall clock, or a manual clock tests move by hand.

Everything time-dependent (task transitions, webhook retries, rate limits, webhook
timestamps) reads one clock, so a manual clock makes all of it deterministic.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import Final, Protocol

from .config import ClockMode

__all__ = [
    "LATEST_TIME",
    "Clock",
    "ClockOutOfRange",
    "ManualClock",
    "SystemClock",
    "TimedWork",
    "TimerLoop",
    "make_clock",
]


# The last second of year 9999 (Unix time): datetime, ISO 8601 and HTTP dates go no further.
# Up to it a float keeps the time to a few microseconds.
LATEST_TIME: Final = 253_402_300_799.0


class ClockOutOfRange(ValueError):
    """A move of the manual clock that would take it backwards, or past :data:`LATEST_TIME`."""


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
        """Move the clock ``seconds`` on; :class:`ClockOutOfRange` if that cannot be."""
        if not math.isfinite(seconds):
            raise ClockOutOfRange(f"seconds must be a finite number, not {seconds!r}")
        if seconds < 0:
            raise ClockOutOfRange("a clock cannot go backwards: seconds must be >= 0")
        if self._now + seconds > LATEST_TIME:
            raise ClockOutOfRange(
                f"seconds must be at most {LATEST_TIME - self._now:.0f} now: the clock stops at "
                f"{LATEST_TIME:.0f} (9999-12-31T23:59:59Z), the last second a date can be "
                "written for, so that every time the fake gives out stays one"
            )
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
    """One timer for all scheduled work: it fires at the earliest due item of all sources.

    A callback on the event loop, not a coroutine per task: 100,000 idle tasks cost no
    timer. Work falling due within ``granularity`` seconds of the last run waits for
    the next one, so thousands of creates a second wake the loop hundreds of times a
    second, not thousands; a reader never sees a stale status, since the API applies
    due transitions before every read. With a manual clock it never fires on time:
    :meth:`run_due` is called when the clock is advanced.
    """

    def __init__(
        self, clock: Clock, sources: Sequence[TimedWork], granularity: float = 0.005
    ) -> None:
        self.clock = clock
        self.sources = list(sources)
        self.granularity = granularity
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Clock time the timer fires at, while it is set.
        self._fires_at: float | None = None
        self._last_run = -math.inf

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
        """Tell the loop that work is due at ``due``; sets the timer sooner if need be."""
        if self._loop is None or self.clock.mode == "manual":
            return
        if self._fires_at is None or due < self._fires_at:
            self._arm(due)

    def start(self) -> None:
        """Start firing in the running event loop (again, if it was started in another)."""
        self._cancel()
        self._loop = asyncio.get_running_loop()
        self._fire()

    async def stop(self) -> None:
        self._cancel()
        self._loop = None

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._fires_at = None

    def _arm(self, due: float) -> None:
        assert self._loop is not None
        self._cancel()
        due = max(due, self._last_run + self.granularity)
        self._fires_at = due
        self._timer = self._loop.call_later(max(0.0, due - self.clock.now()), self._fire)

    def _fire(self) -> None:
        self._timer = self._fires_at = None
        self._last_run = self.clock.now()
        try:
            self.run_due()
        finally:
            # Set again even if a listener failed, or every later transition would stall.
            dues = [d for s in self.sources if (d := s.next_due()) is not None]
            if dues and self.clock.mode != "manual" and self._loop is not None:
                self._arm(min(dues))
