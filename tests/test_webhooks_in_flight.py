"""Many webhooks at once: at most 100 attempts in flight, begun one per event-loop turn,
and all delivered."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

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


async def arrival_turns(count: int) -> list[int]:
    """The event-loop turn in which each of ``count`` deliveries reached the receiver,
    counted by a callback that runs once a turn."""
    loop = asyncio.get_running_loop()
    turn = 0
    turns: list[int] = []

    def tick() -> None:
        nonlocal turn
        turn += 1
        loop.call_soon(tick)

    async def receiver(request: httpx.Request) -> httpx.Response:
        turns.append(turn)
        return httpx.Response(204)

    dispatcher = WebhookDispatcher(
        ManualClock(), secrets=["s"], transport=httpx.MockTransport(receiver)
    )
    loop.call_soon(tick)
    for number in range(count):
        dispatcher.on_transition(Transition.of(task(number), "CREATED"))
    assert await dispatcher.drain(timeout=30)
    await dispatcher.aclose()
    return turns


def test_deliveries_begin_one_per_event_loop_turn_even_while_the_client_is_made() -> None:
    """Beginning an attempt takes up to a millisecond of the event loop: begun eight a
    turn, 1,000 deliveries falling due together held every API request answered
    meanwhile for 5-20 ms. The first ones wait for the HTTP client (made in a thread)
    outside the pump, so they do not all go on in the turn it is ready in either."""
    turns = asyncio.run(arrival_turns(30))
    assert len(turns) == 30
    assert len(set(turns)) == 30, turns


_FIRST_DELIVERY = """
import asyncio, sys
from mockserver.clock import ManualClock
from mockserver.tasks import COMPLETED, IN_PROGRESS, Task, Transition
from mockserver.webhooks import WebhookDispatcher

async def answer(reader, writer):
    await reader.readuntil(b"\\r\\n\\r\\n")
    writer.write(b"HTTP/1.1 204 No Content\\r\\nconnection: close\\r\\n\\r\\n")
    await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    dispatcher = WebhookDispatcher(ManualClock(), secrets=["s"])
    dispatcher.prepare()  # as the first create that asks for webhooks does
    while not dispatcher._making.done():  # the client, made in a thread
        await asyncio.sleep(0.01)
    before = set(sys.modules)
    task = Task(task_id="t", owner="o", status=IN_PROGRESS, created_at=0.0, updated_at=0.0,
                outcome=COMPLETED, aspect_ratio=None,
                webhook_url=f"http://127.0.0.1:{port}/hook", base_url="http://127.0.0.1")
    dispatcher.on_transition(Transition.of(task, "CREATED"))
    assert await dispatcher.drain(timeout=10)
    assert [entry["outcome"] for entry in dispatcher.log()] == ["delivered"], dispatcher.log()
    print(" ".join(sorted(set(sys.modules) - before)))
    await dispatcher.aclose()
    server.close()

asyncio.run(main())
"""


def test_the_first_delivery_imports_nothing_on_the_event_loop() -> None:
    """httpcore imports anyio's asyncio backend (some thirty modules, 20-25 ms) at its
    first connection: on the event loop, that held every API request answered
    meanwhile. Run in a fresh interpreter, which has imported none of it yet."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _FIRST_DELIVERY], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []


def test_a_delivery_that_waited_for_a_slot_is_signed_when_it_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind 100 attempts held by a slow receiver, the 101st is signed when a slot
    frees, not when it fell due: signed then, its webhook-timestamp would be as old as
    the wait, and a receiver checking it (300 s by default) would refuse it."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])

    async def run() -> list[int]:
        stamps: list[int] = []
        release = asyncio.Event()

        async def slow_receiver(request: httpx.Request) -> httpx.Response:
            stamps.append(int(request.headers["webhook-timestamp"]))
            await release.wait()
            return httpx.Response(204)

        dispatcher = WebhookDispatcher(
            ManualClock(), secrets=["s"], transport=httpx.MockTransport(slow_receiver)
        )
        for number in range(101):
            dispatcher.on_transition(Transition.of(task(number), "CREATED"))
        for _ in range(300):
            await asyncio.sleep(0)
        assert len(stamps) == 100
        now[0] += 600  # the receiver held them for ten minutes
        release.set()
        assert await dispatcher.drain(timeout=30)
        await dispatcher.aclose()
        return stamps

    stamps = asyncio.run(run())
    assert stamps[:100] == [1_800_000_000] * 100
    assert stamps[100] == 1_800_000_600
