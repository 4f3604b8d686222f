"""The task state machine under a manual clock: exact states at exact times."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from helpers import advance, create, fake, is_result_url, status_of

from mockserver.clock import ManualClock
from mockserver.lifecycle import IllegalTransition, Lifecycle
from mockserver.tasks import InMemoryTaskStore, Task, status_rank

pytestmark = pytest.mark.anyio


def make_lifecycle(**kwargs: Any) -> tuple[Lifecycle, ManualClock, list[tuple[str, str]]]:
    clock = ManualClock(start=1_000_000.0)
    kwargs.setdefault("in_progress_after", 1.0)
    kwargs.setdefault("complete_after", 3.0)
    lifecycle = Lifecycle(InMemoryTaskStore(), clock, **kwargs)
    changes: list[tuple[str, str]] = []
    lifecycle.subscribe(lambda change: changes.append((change.previous, change.status)))
    return lifecycle, clock, changes


def status_at(lifecycle: Lifecycle, clock: ManualClock, task: Task, at: float) -> str:
    clock.advance(at - (clock.now() - 1_000_000.0))
    lifecycle.process_due()
    stored = lifecycle.store.get(task.task_id)
    assert stored is not None
    return stored.status


def test_exact_states_at_exact_times() -> None:
    lifecycle, clock, changes = make_lifecycle()
    task = lifecycle.create("owner", "http://127.0.0.1:8080", {})
    assert task.status == "CREATED"
    timeline = [
        (0.0, "CREATED"),
        (0.999, "CREATED"),
        (1.0, "IN_PROGRESS"),
        (2.999, "IN_PROGRESS"),
        (3.0, "COMPLETED"),
        (100.0, "COMPLETED"),
    ]
    for at, expected in timeline:
        assert status_at(lifecycle, clock, task, at) == expected, at
    assert changes == [("CREATED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]
    done = lifecycle.store.get(task.task_id)
    assert done is not None and done.status == "COMPLETED"


def test_a_long_jump_still_passes_through_every_status_in_order() -> None:
    lifecycle, clock, changes = make_lifecycle()
    first = lifecycle.create("owner", "http://h", {})
    clock.advance(0.5)
    second = lifecycle.create("owner", "http://h", {})
    clock.advance(60)
    lifecycle.process_due()
    assert changes == [("CREATED", "IN_PROGRESS")] * 2 + [("IN_PROGRESS", "COMPLETED")] * 2
    assert {lifecycle.store.get(t.task_id).status for t in (first, second)} == {  # type: ignore[union-attr]
        "COMPLETED"
    }


def test_failure_rate_is_reproducible_with_a_seed() -> None:
    def outcomes(seed: int) -> list[str]:
        lifecycle, clock, _ = make_lifecycle(failure_rate=0.5, seed=seed)
        tasks = [lifecycle.create("o", "http://h", {}) for _ in range(40)]
        clock.advance(10)
        lifecycle.process_due()
        return [lifecycle.store.get(t.task_id).status for t in tasks]  # type: ignore[union-attr]

    first, again, other = outcomes(7), outcomes(7), outcomes(8)
    assert first == again
    assert first != other
    assert 5 < first.count("FAILED") < 35
    assert set(first) == {"COMPLETED", "FAILED"}


def test_failed_tasks_have_no_results() -> None:
    lifecycle, clock, _ = make_lifecycle(failure_rate=1.0)
    task = lifecycle.create("o", "http://h", {})
    clock.advance(3)
    lifecycle.process_due()
    stored = lifecycle.store.get(task.task_id)
    assert stored is not None
    assert stored.status == "FAILED"


def test_forcing_moves_forward_through_in_progress() -> None:
    lifecycle, clock, changes = make_lifecycle()
    task = lifecycle.create("o", "http://h", {})
    forced = lifecycle.force(task.task_id, "FAILED", reason="test said so")
    assert forced.status == "FAILED"
    assert forced.failure_reason == "test said so"
    assert changes == [("CREATED", "IN_PROGRESS"), ("IN_PROGRESS", "FAILED")]
    clock.advance(10)
    lifecycle.process_due()
    assert changes[-1] == ("IN_PROGRESS", "FAILED")  # the schedule does not move it again


def test_forced_in_progress_still_completes_on_schedule() -> None:
    lifecycle, clock, changes = make_lifecycle()
    task = lifecycle.create("o", "http://h", {})
    lifecycle.force(task.task_id, "IN_PROGRESS")
    assert status_at(lifecycle, clock, task, 2.9) == "IN_PROGRESS"
    assert status_at(lifecycle, clock, task, 3.0) == "COMPLETED"
    assert changes == [("CREATED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("COMPLETED", "IN_PROGRESS"),
        ("COMPLETED", "FAILED"),
        ("IN_PROGRESS", "IN_PROGRESS"),
        ("IN_PROGRESS", "CREATED"),
    ],
)
def test_illegal_transitions_are_refused(first: str, then: str) -> None:
    lifecycle, _, _ = make_lifecycle()
    task = lifecycle.create("o", "http://h", {})
    lifecycle.force(task.task_id, first)
    with pytest.raises(IllegalTransition):
        lifecycle.force(task.task_id, then)


def test_time_scale_multiplies_durations() -> None:
    lifecycle, clock, _ = make_lifecycle(in_progress_after=0.1, complete_after=0.3)
    task = lifecycle.create("o", "http://h", {})
    assert status_at(lifecycle, clock, task, 0.1) == "IN_PROGRESS"
    assert status_at(lifecycle, clock, task, 0.3) == "COMPLETED"


def test_status_never_goes_backwards_under_random_forcing() -> None:
    lifecycle, clock, changes = make_lifecycle()
    tasks = [lifecycle.create("o", "http://h", {}) for _ in range(10)]
    for step, task in enumerate(tasks):
        clock.advance(0.4)
        lifecycle.process_due()
        with contextlib.suppress(IllegalTransition):
            lifecycle.force(task.task_id, ("IN_PROGRESS", "COMPLETED", "FAILED")[step % 3])
    clock.advance(10)
    lifecycle.process_due()
    assert all(status_rank(new) > status_rank(old) for old, new in changes)


async def test_over_http_with_the_manual_clock() -> None:
    async with fake() as client:
        task = await create(client)
        await advance(client, 0.999)
        assert (await status_of(client, task["task_id"]))["status"] == "CREATED"
        await advance(client, 0.001)
        assert (await status_of(client, task["task_id"]))["status"] == "IN_PROGRESS"
        await advance(client, 2)
        done = await status_of(client, task["task_id"])
    assert done["status"] == "COMPLETED"
    [url] = done["generated"]
    assert is_result_url(url, "http://127.0.0.1:8080", task["task_id"])


async def test_time_scale_option_over_http() -> None:
    async with fake(time_scale=10) as client:
        task = await create(client)
        await advance(client, 9.9)
        assert (await status_of(client, task["task_id"]))["status"] == "CREATED"
        await advance(client, 20.1)
        assert (await status_of(client, task["task_id"]))["status"] == "COMPLETED"


async def test_forced_status_over_http_and_409_for_an_illegal_one() -> None:
    async with fake() as client:
        task = await create(client)
        path = f"/_mock/tasks/{task['task_id']}/status"
        forced = await client.post(path, json={"status": "FAILED"})
        again = await client.post(path, json={"status": "COMPLETED"})
        bad = await client.post(path, json={"status": "DONE"})
        missing = await client.post("/_mock/tasks/nope/status", json={"status": "FAILED"})
        seen = await status_of(client, task["task_id"])
    assert forced.status_code == 200
    assert seen == {"task_id": task["task_id"], "status": "FAILED", "generated": []}
    assert again.status_code == 409
    assert again.json() == {"message": "cannot move task from FAILED to COMPLETED"}
    assert bad.status_code == 400
    assert missing.status_code == 404


async def test_advancing_a_system_clock_is_refused() -> None:
    async with fake(clock="system") as client:
        response = await client.post("/_mock/clock/advance", json={"seconds": 1})
    assert response.status_code == 409


async def test_system_clock_moves_tasks_on_its_own() -> None:
    # Tiny durations on the real clock: the timer loop, not a GET, moves the task.
    async with fake(clock="system", time_scale=0.01) as client:
        task = await create(client)
        for _ in range(200):
            await asyncio.sleep(0.01)
            log = (await client.get("/_mock/requests", params={"kind": "transition"})).json()
            if any(e["status"] == "COMPLETED" for e in log["data"]):
                break
        statuses = [e["status"] for e in log["data"] if e["task_id"] == task["task_id"]]
    assert statuses == ["IN_PROGRESS", "COMPLETED"]


async def test_auth_header_key_needed_for_status() -> None:
    async with fake() as client:
        task = await create(client)
        response = await client.get(
            f"/v1/ai/reference-to-video/kling-v3-omni/{task['task_id']}", headers={}
        )
    assert response.status_code == 401


def test_task_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    lifecycle, _, _ = make_lifecycle()
    ids = [lifecycle.create("owner", "http://x", {}).task_id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for task_id in ids[:200]:
        parsed = uuid.UUID(task_id)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == task_id


def test_a_created_task_belongs_to_the_family_it_was_created_in() -> None:
    lifecycle, _, _ = make_lifecycle()
    task = lifecycle.create("o", "http://h", {}, family="/v1/ai/video/kling-v3-omni")
    other = lifecycle.create("o", "http://h", {})
    assert task.family == "/v1/ai/video/kling-v3-omni" and other.family == ""
    assert lifecycle.store.get(task.task_id) == task
    listed = lifecycle.store.statuses_for_owner("o", "/v1/ai/video/kling-v3-omni", 0, 10)
    assert listed == [(task.task_id, "CREATED")]
