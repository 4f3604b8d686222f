"""Many webhooks to a slow receiver: at most 100 attempts at once, and all delivered."""

from __future__ import annotations

import asyncio

import httpx

from mockserver.clock import ManualClock
from mockserver.tasks import COMPLETED, IN_PROGRESS, Task, Transition
from mockserver.webhooks import WebhookDispatcher


def task(number: int) -> Task:
    return Task(
        task_id=f"task-{number}",
        owner="owner",
        status=IN_PROGRESS,
        created_at=0.0,
        updated_at=0.0,
        outcome=COMPLETED,
        aspect_ratio=None,
        webhook_url="http://127.0.0.1:9/hook",
        base_url="http://127.0.0.1:8080",
    )


async def deliver(count: int) -> tuple[int, int, WebhookDispatcher]:
    in_flight = 0
    most = 0
    release = asyncio.Event()

    async def slow_receiver(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await release.wait()
        in_flight -= 1
        return httpx.Response(204)

    dispatcher = WebhookDispatcher(
        ManualClock(), secrets=["s"], transport=httpx.MockTransport(slow_receiver)
    )
    for number in range(count):
        dispatcher.on_transition(Transition.of(task(number), "CREATED"))
    for _ in range(200):  # let every attempt that can start, start
        await asyncio.sleep(0)
    held = most
    release.set()
    assert await dispatcher.drain(timeout=30)
    await dispatcher.aclose()
    return held, most, dispatcher


def test_at_most_100_attempts_wait_on_a_slow_receiver_and_every_one_is_delivered() -> None:
    """Attempts beyond 100 wait in the dispatcher, not in httpx's connection pool (whose
    hand-out scans every queued request: with 1,000 queued it held the event loop)."""
    held, most, dispatcher = asyncio.run(deliver(150))
    assert held == 100
    assert most == 100
    log = dispatcher.log()
    assert len(log) == 150
    assert {entry["outcome"] for entry in log} == {"delivered"}
    assert dispatcher.pending() == 0
