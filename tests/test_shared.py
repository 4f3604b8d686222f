"""Shared state (``shared.py``) on both backends: several runtimes naming one SQLite
file or one Redis database act as one fake, as replicas behind a load balancer do."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, client_for

from mockserver import MockConfig, create_app
from mockserver.runtime import MockRuntime
from mockserver.spec import load_spec
from mockserver.state import open_state
from mockserver.tasks import COMPLETED, CREATED, IN_PROGRESS, Task

HOOK = "http://127.0.0.1:9/hook"

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    url: str = request.getfixturevalue("redis_url")
    return url


class Hooks:
    """A webhook receiver in this process: every POST, by webhook-id."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []

    def transport(self) -> httpx.MockTransport:
        async def receive(request: httpx.Request) -> httpx.Response:
            import json

            self.received.append((request.headers["webhook-id"], json.loads(request.content)))
            return httpx.Response(200)

        return httpx.MockTransport(receive)


@pytest.fixture
async def replicas(state: str) -> AsyncIterator[tuple[list[httpx.AsyncClient], Hooks]]:
    """Two apps on one state, each with its client, and the receiver they deliver to."""
    hooks = Hooks()
    config = MockConfig(state=state, clock="manual", webhook_transport=hooks.transport())
    apps = [create_app(config), create_app(config)]
    clients = [client_for(app) for app in apps]
    try:
        yield clients, hooks
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            await app.state.mock.shutdown()


async def _create(client: httpx.AsyncClient, **body: Any) -> str:
    response = await client.post(CREATE, json={"video_url": VIDEO, **body}, headers=AUTH)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


async def _status(client: httpx.AsyncClient, task_id: str) -> str:
    response = await client.get(f"{TASKS}/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    status: str = response.json()["data"]["status"]
    return status


async def test_a_task_created_through_one_is_read_and_listed_through_another(
    replicas: tuple[list[httpx.AsyncClient], Hooks],
) -> None:
    (one, two), _ = replicas
    task_id = await _create(one)
    assert await _status(two, task_id) == CREATED
    listed = (await two.get(TASKS, headers=AUTH)).json()["data"]
    assert listed == [{"task_id": task_id, "status": CREATED}]
    # The clock is shared: advanced through one, every process reads the time it gives.
    await two.post("/_mock/clock/advance", json={"seconds": 1.5})
    assert await _status(one, task_id) == IN_PROGRESS
    await one.post("/_mock/clock/advance", json={"seconds": 5})
    assert await _status(two, task_id) == COMPLETED
    # A result URL one process signed works through the other.
    url = (await one.get(f"{TASKS}/{task_id}", headers=AUTH)).json()["data"]["generated"][0]
    assert (await two.get(httpx.URL(url).raw_path.decode())).status_code == 200


async def test_each_transition_and_its_webhook_happen_once_across_processes(
    replicas: tuple[list[httpx.AsyncClient], Hooks],
) -> None:
    (one, two), hooks = replicas
    ids = [await _create(one if i % 2 else two, webhook_url=HOOK) for i in range(6)]
    await one.post("/_mock/clock/advance", json={"seconds": 10})
    # Both read every task afterwards (each would apply what is due, if anything were).
    for client in (one, two):
        assert [await _status(client, task_id) for task_id in ids] == [COMPLETED] * 6
        await client.post("/_mock/clock/advance", json={"seconds": 0})
    journal = (await two.get("/_mock/requests", params={"kind": "transition"})).json()["data"]
    moves = Counter((entry["task_id"], entry["status"]) for entry in journal)
    assert moves == {(t, s): 1 for t in ids for s in (IN_PROGRESS, COMPLETED)}
    events = Counter((body["task_id"], body["status"]) for _, body in hooks.received)
    assert events == {(t, s): 1 for t in ids for s in (IN_PROGRESS, COMPLETED)}
    # In order per task, and the shared log shows every delivery through either process.
    for task_id in ids:
        order = [body["status"] for _, body in hooks.received if body["task_id"] == task_id]
        assert order == [IN_PROGRESS, COMPLETED]
    log = (await one.get("/_mock/webhooks")).json()
    assert len(log["data"]) == 12 and log["pending"] == 0
    assert {entry["outcome"] for entry in log["data"]} == {"delivered"}


async def test_a_fault_for_n_requests_answers_n_whichever_process_they_reach(
    replicas: tuple[list[httpx.AsyncClient], Hooks],
) -> None:
    (one, two), _ = replicas
    added = await one.post("/_mock/faults", json={"status": 503, "times": 2})
    assert added.status_code == 201
    statuses = [(await client.get(TASKS, headers=AUTH)).status_code for client in (two, one, two)]
    assert statuses == [503, 503, 200]
    assert (await one.get("/_mock/faults")).json()["data"] == []


async def test_reset_through_one_process_forgets_for_all(
    replicas: tuple[list[httpx.AsyncClient], Hooks],
) -> None:
    (one, two), _ = replicas
    task_id = await _create(one, webhook_url=HOOK)
    await one.post("/_mock/faults", json={"status": 500, "times": 5, "path": "/nowhere"})
    await two.post("/_mock/reset")
    assert (await one.get("/_mock/requests")).json()["data"] == []
    assert (await one.get("/_mock/faults")).json()["data"] == []
    assert (await one.get(f"{TASKS}/{task_id}", headers=AUTH)).status_code == 404


async def test_a_claim_left_by_a_process_that_died_is_taken_over_after_its_lease(
    state: str,
) -> None:
    hooks = Hooks()
    config = MockConfig(state=state, clock="manual", webhook_transport=hooks.transport())
    app = create_app(config)
    async with client_for(app) as client:
        await _create(client, webhook_url=HOOK)
        # Another process claims the IN_PROGRESS webhook, with a short lease, and dies.
        dead = open_state(config.replace(webhook_timeout=0.01), "default").backend
        assert dead is not None
        runtime = app.state.mock
        assert runtime.manual_clock is not None
        runtime.manual_clock.advance(1.5)
        runtime.lifecycle.process_due(runtime.clock.now())
        dead._lease = 0.3  # type: ignore[attr-defined]
        [claimed] = dead.claim(runtime.clock.now(), 10)
        dead.close()
        await client.post("/_mock/clock/advance", json={"seconds": 0})
        assert hooks.received == []  # claimed, and the claim still holds
        time.sleep(0.4)
        await client.post("/_mock/clock/advance", json={"seconds": 0})
        assert [webhook_id for webhook_id, _ in hooks.received] == [claimed.webhook_id]
        [entry] = (await client.get("/_mock/webhooks")).json()["data"]
        assert (entry["webhook_id"], entry["attempt"], entry["outcome"]) == (
            claimed.webhook_id,
            1,
            "delivered",
        )
    await app.state.mock.shutdown()


async def test_namespaces_on_one_state_do_not_disturb_each_other(state: str) -> None:
    config = MockConfig(state=state, clock="manual")
    spec = load_spec(None)
    first = MockRuntime(config, spec, namespace="team-a")
    second = MockRuntime(config, spec, namespace="team-b")
    try:
        task = first.lifecycle.create("owner", "http://h", {}, family=TASKS)
        first.faults.add(status=500)
        first.journal.record({"kind": "note"})
        assert first.manual_clock is not None and second.manual_clock is not None
        first.manual_clock.advance(100)
        assert first.lifecycle.process_due(first.clock.now()) == 2
        assert second.store.get(task.task_id) is None and len(second.store) == 0
        assert second.faults.list() == [] and second.journal.entries() == []
        assert second.clock.now() < first.clock.now()
        second.reset()
        stored = first.store.get(task.task_id)
        assert isinstance(stored, Task) and stored.status == COMPLETED
        assert len(first.faults.list()) == 1
    finally:
        await first.shutdown()
        await second.shutdown()


async def test_a_forced_status_is_seen_by_every_process(
    replicas: tuple[list[httpx.AsyncClient], Hooks],
) -> None:
    (one, two), hooks = replicas
    task_id = await _create(one, webhook_url=HOOK)
    forced = await two.post(
        f"/_mock/tasks/{task_id}/status", json={"status": "FAILED", "reason": "forced"}
    )
    assert forced.status_code == 200, forced.text
    assert await _status(one, task_id) == "FAILED"
    await one.post("/_mock/clock/advance", json={"seconds": 10})  # nothing more to come
    assert [body["status"] for _, body in hooks.received] == [IN_PROGRESS, "FAILED"]
    again = await one.post(f"/_mock/tasks/{task_id}/status", json={"status": "COMPLETED"})
    assert again.status_code == 409


def test_many_runtimes_racing_on_one_task_move_it_once(state: str) -> None:
    config = MockConfig(state=state, clock="manual")
    spec = load_spec(None)
    runtimes = [MockRuntime(config, spec) for _ in range(4)]
    try:
        ids = [runtimes[0].lifecycle.create("o", "http://h", {}, family=TASKS).task_id]
        ids += [runtimes[1].lifecycle.create("o", "http://h", {}, family=TASKS).task_id]
        assert runtimes[2].manual_clock is not None
        runtimes[2].manual_clock.advance(10)

        async def race() -> list[int]:
            return await asyncio.gather(
                *(
                    asyncio.to_thread(runtime.lifecycle.process_due, runtime.clock.now())
                    for runtime in runtimes
                )
            )

        assert sum(asyncio.run(race())) == 4  # two steps of two tasks, once each
        transitions = runtimes[3].journal.entries(kind="transition")
        assert Counter(e["task_id"] for e in transitions) == dict.fromkeys(ids, 2)
    finally:
        for runtime in runtimes:
            asyncio.run(runtime.shutdown())
