"""InMemoryTaskStore keeps every field of a task, in order, out of the GC's sight."""

from __future__ import annotations

import gc

import pytest

from mockserver.tasks import COMPLETED, CREATED, FAILED, InMemoryTaskStore, Task


def make_task(number: int, owner: str = "owner-a", **changes: object) -> Task:
    task = Task(
        task_id=f"task-{number}",
        owner=owner,
        status=CREATED,
        created_at=1000.0 + number,
        updated_at=1000.0 + number,
        outcome=COMPLETED,
        aspect_ratio="9:16",
        webhook_url=None,
        base_url="http://127.0.0.1:8080",
        request_json='{"video_url":"https://example.com/a.mp4","prompt":"é @Video1"}',
    )
    return task.replace(**changes)


def test_a_stored_task_comes_back_equal_field_for_field() -> None:
    store = InMemoryTaskStore()
    task = make_task(
        1,
        status=FAILED,
        outcome=FAILED,
        generated=("http://127.0.0.1:8080/_mock/media/task-1.mp4", "second"),
        webhook_url="http://127.0.0.1:9/hook",
        failure_reason="forced by a test",
        aspect_ratio=None,
    )
    store.add(task)
    assert store.get("task-1") == task
    assert store.get("missing") is None


def test_put_replaces_and_refuses_unknown_tasks() -> None:
    store = InMemoryTaskStore()
    store.add(make_task(1))
    newer = make_task(1, status=COMPLETED, generated=("http://x/_mock/media/task-1.mp4",))
    store.put(newer)
    assert store.get("task-1") == newer
    with pytest.raises(KeyError):
        store.put(make_task(2))


def test_listing_is_per_owner_newest_first_and_paged() -> None:
    store = InMemoryTaskStore()
    for number in range(5):
        store.add(make_task(number))
    store.add(make_task(99, owner="owner-b"))
    assert [t.task_id for t in store.list_for_owner("owner-a", 0, 2)] == ["task-4", "task-3"]
    assert [t.task_id for t in store.list_for_owner("owner-a", 4, 10)] == ["task-0"]
    assert store.list_for_owner("owner-a", 5, 10) == []
    assert [t.task_id for t in store.list_for_owner("owner-b", 0, 10)] == ["task-99"]
    assert len(store) == 6 and len(store.all()) == 6
    store.clear()
    assert len(store) == 0 and store.list_for_owner("owner-a", 0, 10) == []


def test_stored_tasks_add_nothing_for_the_garbage_collector_to_scan() -> None:
    """What keeps p99 flat with 100,000 tasks stored (performance-notes.md, cost 3)."""
    store = InMemoryTaskStore()
    for number in range(100):
        store.add(make_task(number, generated=("http://x/a.mp4",)))
    assert not any(gc.is_tracked(row) for row in store._rows.values())
