"""Injected faults, and Freepik's documented rate limits on a manual clock."""

from __future__ import annotations

import time

import pytest

from mockserver.clock import ManualClock
from mockserver.config import ClockMode
from mockserver.faults import (
    BodilessStatus,
    ConnectionDropped,
    FaultGate,
    FaultRegistry,
    RateLimiter,
)

pytestmark = pytest.mark.anyio


# -- FaultRegistry ------------------------------------------------------------------------


def test_a_fault_matches_its_method_and_path_glob() -> None:
    faults = FaultRegistry()
    fault = faults.add(method="get", path="/v1/ai/*/kling-v3-omni/*", status=503, times=None)
    assert fault.method == "GET"
    assert faults.take("POST", "/v1/ai/reference-to-video/kling-v3-omni/t1") is None
    assert faults.take("GET", "/v1/other") is None
    assert faults.take("GET", "/v1/ai/reference-to-video/kling-v3-omni/t1") is fault


@pytest.mark.parametrize("status", [100, 101, 103, 199, 204, 205, 304])
def test_a_status_whose_answer_has_no_body_cannot_be_a_fault(status: int) -> None:
    # The fault's JSON body would be read as the next answer on a keep-alive connection.
    faults = FaultRegistry()
    with pytest.raises(BodilessStatus, match=f"status {status} cannot be a fault"):
        faults.add(status=status)
    assert faults.list() == []


@pytest.mark.parametrize("status", [200, 202, 301, 400, 418, 429, 500, 503, 599])
def test_a_status_that_carries_a_body_can_be_a_fault(status: int) -> None:
    assert FaultRegistry().add(status=status).status == status


def test_a_wildcard_fault_matches_every_request() -> None:
    faults = FaultRegistry()
    fault = faults.add(status=500)
    assert faults.take("DELETE", "/anything") is fault


def test_a_fault_applies_times_times_then_is_gone() -> None:
    faults = FaultRegistry()
    fault = faults.add(status=429, times=2)
    assert faults.take("GET", "/x") is fault
    assert faults.take("GET", "/x") is fault
    assert faults.take("GET", "/x") is None
    assert fault.matched == 2
    assert not faults
    assert faults.list() == []


def test_a_fault_without_times_stays_until_cleared() -> None:
    faults = FaultRegistry()
    fault = faults.add(status=503, times=None)
    for _ in range(50):
        assert faults.take("GET", "/x") is fault
    assert fault.matched == 50
    faults.clear()
    assert faults.take("GET", "/x") is None


def test_the_first_matching_fault_wins_and_ids_count_up() -> None:
    faults = FaultRegistry()
    first = faults.add(path="/a", status=500)
    second = faults.add(status=503, times=None)
    assert (first.id, second.id) == (1, 2)
    assert faults.take("GET", "/a") is first
    assert faults.take("GET", "/a") is second  # the first one is used up
    assert [f.id for f in faults.list()] == [2]


def test_a_fault_as_json_says_all_it_does() -> None:
    fault = FaultRegistry().add(method="POST", path="/v1/*", status=500, times=3, delay_ms=5)
    assert fault.to_json() == {
        "id": 1,
        "method": "POST",
        "path": "/v1/*",
        "status": 500,
        "times": 3,
        "delay_ms": 5,
        "drop": False,
        "matched": 0,
    }


# -- RateLimiter ---------------------------------------------------------------------------


def allowed(limiter: RateLimiter, client: str, count: int) -> int:
    return sum(limiter.allow(client) for _ in range(count))


def test_a_burst_of_250_passes_and_the_next_request_is_refused() -> None:
    limiter = RateLimiter(ManualClock(start=1000.0))
    assert allowed(limiter, "10.0.0.1", 250) == 250
    assert not limiter.allow("10.0.0.1")


def test_the_burst_bucket_refills_at_50_per_second() -> None:
    clock = ManualClock(start=1000.0)
    limiter = RateLimiter(clock)
    allowed(limiter, "ip", 251)
    clock.advance(1.0)
    assert allowed(limiter, "ip", 60) == 50
    clock.advance(0.1)
    assert allowed(limiter, "ip", 10) == 5


def test_a_refused_request_costs_nothing() -> None:
    clock = ManualClock(start=1000.0)
    limiter = RateLimiter(clock)
    allowed(limiter, "ip", 250)
    assert allowed(limiter, "ip", 1000) == 0
    clock.advance(0.03)  # one and a half tokens of refill
    assert allowed(limiter, "ip", 5) == 1


def test_the_two_minute_average_of_10_per_second_is_enforced() -> None:
    clock = ManualClock(start=1000.0)
    limiter = RateLimiter(clock)
    # 20 requests/s, well inside the burst limit: the 2-minute bucket (1,200, refilling
    # at 10/s) empties at 10/s net, so the first refusal comes after 120 s.
    start = clock.now()
    while limiter.allow("ip"):
        clock.advance(0.05)
        assert clock.now() - start < 200, "never limited"
    assert clock.now() - start == pytest.approx(120, abs=0.5)
    # From then on, 10 of every 20 requests a second pass: the average, not the burst.
    passed = 0
    for _ in range(200):
        clock.advance(0.05)
        passed += limiter.allow("ip")
    assert passed == pytest.approx(100, abs=1)


def test_limits_are_per_client() -> None:
    limiter = RateLimiter(ManualClock(start=1000.0))
    allowed(limiter, "10.0.0.1", 250)
    assert not limiter.allow("10.0.0.1")
    assert allowed(limiter, "10.0.0.2", 250) == 250


def test_clear_forgets_every_client() -> None:
    limiter = RateLimiter(ManualClock(start=1000.0))
    allowed(limiter, "ip", 251)
    limiter.clear()
    assert limiter.allow("ip")


class SettableClock:
    """A wall clock a test sets by hand, which (unlike ManualClock) may go back."""

    mode: ClockMode = "system"

    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def test_a_clock_that_goes_back_refills_nothing() -> None:
    clock = SettableClock(2000.0)
    limiter = RateLimiter(clock)
    allowed(limiter, "ip", 250)
    clock.value = 1000.0  # the wall clock was set back
    assert not limiter.allow("ip")
    clock.value = 1000.1  # refills from the last request, not from the future
    assert allowed(limiter, "ip", 10) == 5


# -- FaultGate -----------------------------------------------------------------------------


async def test_the_gate_answers_a_fault_s_status() -> None:
    faults = FaultRegistry()
    faults.add(path="/v1/*", status=503)
    gate = FaultGate(faults)
    assert gate.active
    assert await gate.intercept("GET", "/v1/x", "ip") == 503
    assert await gate.intercept("GET", "/v1/x", "ip") is None  # used up
    assert not gate.active


async def test_the_gate_drops_a_connection_for_a_drop_fault() -> None:
    faults = FaultRegistry()
    faults.add(drop=True)
    with pytest.raises(ConnectionDropped, match="fault 1 dropped"):
        await FaultGate(faults).intercept("POST", "/v1/x", "ip")


async def test_the_gate_adds_latency_and_a_fault_s_delay() -> None:
    faults = FaultRegistry()
    faults.add(delay_ms=40)
    gate = FaultGate(faults, latency_ms=20)
    began = time.monotonic()
    assert await gate.intercept("GET", "/v1/x", "ip") is None  # delayed, then served
    assert time.monotonic() - began >= 0.055


async def test_the_gate_answers_429_past_the_rate_limit() -> None:
    gate = FaultGate(FaultRegistry(), rate_limiter=RateLimiter(ManualClock(start=0.0)))
    assert gate.active
    statuses = [await gate.intercept("GET", "/v1/x", "ip") for _ in range(251)]
    assert statuses[:250] == [None] * 250
    assert statuses[250] == 429


def test_an_idle_gate_is_not_active() -> None:
    assert not FaultGate(FaultRegistry()).active
