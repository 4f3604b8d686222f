"""The clocks and the one timer that runs scheduled work."""

from __future__ import annotations

import asyncio
import datetime
import math

import pytest

from mockserver.clock import LATEST_TIME, ClockOutOfRange, ManualClock, SystemClock, TimerLoop

pytestmark = pytest.mark.anyio


class Schedule:
    """Scheduled work for the timer: items due at given clock times, run in order."""

    def __init__(self, dues: list[float]) -> None:
        self.dues = sorted(dues)
        self.ran: list[float] = []

    def next_due(self) -> float | None:
        return self.dues[0] if self.dues else None

    def process_due(self, now: float | None = None) -> int:
        ran = 0
        while self.dues and now is not None and self.dues[0] <= now:
            self.ran.append(self.dues.pop(0))
            ran += 1
        return ran


def test_a_manual_clock_moves_only_forward_and_only_when_told() -> None:
    clock = ManualClock(start=100.0)
    assert clock.now() == 100.0 and clock.advance(2.5) == 102.5 and clock.now() == 102.5
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize("seconds", [math.inf, math.nan, -math.inf, -1.0])
def test_a_manual_clock_refuses_a_move_that_is_not_a_finite_step_forward(seconds: float) -> None:
    clock = ManualClock(start=100.0)
    with pytest.raises(ClockOutOfRange):
        clock.advance(seconds)
    assert clock.now() == 100.0


def test_a_manual_clock_stops_at_the_last_second_a_date_can_be_written_for() -> None:
    # 1e308 twice made the clock infinite: every later due time compared wrongly.
    clock = ManualClock(start=100.0)
    with pytest.raises(ClockOutOfRange, match=r"at most 253402300699 now.*9999-12-31"):
        clock.advance(1e308)
    assert clock.advance(LATEST_TIME - 100.0) == LATEST_TIME
    assert datetime.datetime.fromtimestamp(clock.now(), datetime.UTC).year == 9999
    with pytest.raises(ClockOutOfRange, match="at most 0 now"):
        clock.advance(1.0)
    assert clock.advance(0.0) == LATEST_TIME


def test_run_due_runs_work_of_all_sources_in_time_order() -> None:
    clock = ManualClock(start=0.0)
    first, second = Schedule([1.0, 3.0, 9.0]), Schedule([2.0, 4.0])
    timers = TimerLoop(clock, [first, second])
    clock.advance(3.5)
    assert timers.run_due() == 3
    assert (first.ran, second.ran) == ([1.0, 3.0], [2.0])
    assert (first.next_due(), second.next_due()) == (9.0, 4.0)


async def test_the_timer_fires_on_time_and_coalesces_work_due_close_together() -> None:
    clock = SystemClock()
    now = clock.now()
    # 40 items 1 ms apart: with 20 ms coalescing, a handful of wake-ups run them all.
    work = Schedule([now + 0.05 + i * 0.001 for i in range(40)])
    timers = TimerLoop(clock, [work], granularity=0.02)
    fired = 0
    real_run_due = timers.run_due

    def counting_run_due() -> int:
        nonlocal fired
        fired += 1
        return real_run_due()

    timers.run_due = counting_run_due  # type: ignore[method-assign]
    timers.start()
    try:
        for _ in range(300):
            if not work.dues:
                break
            await asyncio.sleep(0.01)
    finally:
        await timers.stop()
    assert work.ran and not work.dues, "everything ran, with no reader asking"
    assert all(ran <= clock.now() for ran in work.ran)
    assert fired < 20, f"{fired} wake-ups for 40 items due within 40 ms"


async def test_wake_brings_the_timer_forward_for_sooner_work() -> None:
    clock = SystemClock()
    later = Schedule([clock.now() + 60.0])
    sooner = Schedule([])
    timers = TimerLoop(clock, [later, sooner], granularity=0.001)
    timers.start()
    try:
        sooner.dues.append(clock.now() + 0.02)
        timers.wake(sooner.dues[0])
        for _ in range(300):
            if sooner.ran:
                break
            await asyncio.sleep(0.01)
    finally:
        await timers.stop()
    assert len(sooner.ran) == 1 and later.ran == []


async def test_a_stopped_timer_runs_nothing_more() -> None:
    clock = SystemClock()
    work = Schedule([clock.now() + 0.03])
    timers = TimerLoop(clock, [work])
    timers.start()
    await timers.stop()
    await asyncio.sleep(0.06)
    assert work.ran == []
