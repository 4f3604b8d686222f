"""InMemoryTaskStore keeps every field of a task, in order, out of the GC's sight."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.tasks import (
    COMPLETED,
    CREATED,
    FAILED,
    IN_PROGRESS,
    STATUSES,
    InMemoryTaskStore,
    Task,
    Transition,
    advance_task,
)


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
        webhook_url="http://127.0.0.1:9/hook",
        failure_reason="forced by a test",
        aspect_ratio=None,
    )
    store.add(task)
    store.add(make_task(2, owner="owner-b", base_url="https://other.example"))
    assert store.get("task-1") == task
    assert store.get("task-2") == make_task(2, owner="owner-b", base_url="https://other.example")
    assert store.get("missing") is None


def test_put_stores_the_new_status_times_outcome_and_reason() -> None:
    store = InMemoryTaskStore()
    store.add(make_task(1))
    store.add(make_task(2))
    moving = make_task(1, status=IN_PROGRESS, updated_at=1005.0, outcome=FAILED)
    store.put(moving.replace(failure_reason="media check"))
    assert store.get("task-1") == moving.replace(failure_reason="media check")
    store.put(moving.replace(status=FAILED, updated_at=1010.0))
    assert store.get("task-1") == moving.replace(status=FAILED, updated_at=1010.0)
    assert store.get("task-2") == make_task(2)  # its neighbour untouched
    with pytest.raises(KeyError):
        store.put(make_task(3))


def test_a_task_cannot_be_added_twice() -> None:
    store = InMemoryTaskStore()
    store.add(make_task(1))
    with pytest.raises(KeyError):
        store.add(make_task(1, status=COMPLETED))
    assert store.get("task-1") == make_task(1) and len(store) == 1


def test_a_completed_task_keeps_the_url_it_was_created_through() -> None:
    # Webhooks sign their result URLs from it (results.py).
    store = InMemoryTaskStore()
    store.add(make_task(1, base_url="https://other.example"))
    store.put(make_task(1, base_url="https://other.example", status=COMPLETED))
    stored = store.get("task-1")
    assert stored is not None and stored.base_url == "https://other.example"


def test_listing_is_per_owner_newest_first_and_paged() -> None:
    store = InMemoryTaskStore()
    for number in range(5):
        store.add(make_task(number))
    store.add(make_task(99, owner="owner-b"))
    store.put(make_task(3, status=IN_PROGRESS))
    assert [t.task_id for t in store.list_for_owner("owner-a", "", 0, 2)] == ["task-4", "task-3"]
    assert [t.task_id for t in store.list_for_owner("owner-a", "", 4, 10)] == ["task-0"]
    assert store.list_for_owner("owner-a", "", 5, 10) == []
    assert [t.task_id for t in store.list_for_owner("owner-b", "", 0, 10)] == ["task-99"]
    assert store.statuses_for_owner("owner-a", "", 0, 2) == [
        ("task-4", CREATED),
        ("task-3", IN_PROGRESS),
    ]
    assert store.statuses_for_owner("owner-a", "", 3, 5) == [
        ("task-1", CREATED),
        ("task-0", CREATED),
    ]
    assert store.statuses_for_owner("nobody", "", 0, 5) == []
    assert len(store) == 6 and len(store.all()) == 6
    assert [t.task_id for t in store.all()][:2] == ["task-0", "task-1"]
    store.clear()
    assert len(store) == 0 and store.list_for_owner("owner-a", "", 0, 10) == []
    store.add(make_task(1))
    assert store.get("task-1") == make_task(1)


def test_stored_tasks_add_nothing_for_the_garbage_collector_to_scan() -> None:
    """What keeps p99 flat with 100,000 tasks stored (performance-notes.md, cost 3)."""
    store = InMemoryTaskStore()
    store.add(make_task(0))
    gc.collect()
    before = len(gc.get_objects())
    for number in range(1, 2000):
        store.add(make_task(number))
        store.put(make_task(number, status=IN_PROGRESS))
    gc.collect()
    # A handful of containers, whatever the number of tasks.
    assert len(gc.get_objects()) - before < 20


def test_advance_takes_one_step_and_says_what_listeners_need() -> None:
    store = InMemoryTaskStore()
    hook = "http://127.0.0.1:9/hook"
    store.add(make_task(1, webhook_url=hook, outcome=FAILED, failure_reason="media check"))
    store.add(make_task(2, base_url="https://other.example"))
    assert store.advance("task-1", True, 1001.5) == Transition(
        "task-1", CREATED, FAILED, 1001.5, "media check", hook, "http://127.0.0.1:8080"
    )  # a finish step straight from CREATED (the start step came to nothing)
    assert store.advance("task-1", False, 1002.0) is None  # past the start step
    assert store.advance("task-1", True, 1003.0) is None  # ended already
    assert store.get("task-1") == make_task(
        1, webhook_url=hook, status=FAILED, updated_at=1001.5, outcome=FAILED,
        failure_reason="media check",
    )  # fmt: skip
    started = store.advance("task-2", False, 1003.0)
    assert started == Transition(
        "task-2", CREATED, IN_PROGRESS, 1003.0, None, None, "https://other.example"
    )
    finished = store.advance("task-2", True, 1005.0)
    assert finished is not None and finished.previous == IN_PROGRESS
    assert finished.base_url == "https://other.example"
    assert store.get("task-2") == make_task(
        2, base_url="https://other.example", status=COMPLETED, updated_at=1005.0
    )
    assert store.advance("missing", False, 1.0) is None


class PlainStore:
    """Tasks as they are, in a dict: what ``advance`` must agree with."""

    def __init__(self) -> None:
        self.tasks: dict[str, Task] = {}

    def get(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id)

    def put(self, task: Task) -> None:
        self.tasks[task.task_id] = task


IDS = st.integers(0, 5)
STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            IDS,
            st.sampled_from([COMPLETED, FAILED]),
            st.sampled_from([None, "http://127.0.0.1:9/hook"]),
            st.sampled_from([None, "a reason"]),
        ),
        st.tuples(st.just("advance"), IDS, st.booleans(), st.floats(1000, 2000)),
        st.tuples(
            st.just("force"),
            IDS,
            st.sampled_from(STATUSES),
            st.sampled_from([COMPLETED, FAILED]),
            st.sampled_from([None, "forced"]),
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS)
def test_advance_agrees_with_get_and_put(steps: list[tuple[Any, ...]]) -> None:
    """The packed store's own ``advance`` against the same step made of get and put,
    over any sequence of creations, steps and forced changes."""
    packed, plain = InMemoryTaskStore(), PlainStore()
    for step in steps:
        kind, number = step[0], step[1]
        task_id = f"task-{number}"
        if kind == "add":
            if plain.get(task_id) is None:
                _, _, outcome, hook, reason = step
                task = make_task(number, outcome=outcome, webhook_url=hook)
                task = task.replace(failure_reason=reason)
                packed.add(task)
                plain.put(task)
        elif kind == "advance":
            _, _, finish, at = step
            expected = advance_task(plain, task_id, finish, at)
            assert packed.advance(task_id, finish, at) == expected
        else:
            found = plain.get(task_id)
            if found is not None:
                _, _, status, outcome, reason = step
                forced = found.replace(status=status, outcome=outcome, failure_reason=reason)
                packed.put(forced)
                plain.put(forced)
    for task_id, task in plain.tasks.items():
        assert packed.get(task_id) == task


def test_listing_is_per_family_as_well_as_per_owner() -> None:
    """A task is listed only through its own family's paths (issue 17, point 1)."""
    store = InMemoryTaskStore()
    video, reference = "/v1/ai/video/kling-v3-omni", "/v1/ai/reference-to-video/kling-v3-omni"
    store.add(make_task(1, family=video))
    store.add(make_task(2, family=reference))
    store.add(make_task(3, family=video))
    store.add(make_task(4, owner="owner-b", family=video))
    store.add(make_task(5))  # created without a family
    assert [t.task_id for t in store.list_for_owner("owner-a", video, 0, 10)] == [
        "task-3",
        "task-1",
    ]
    assert store.statuses_for_owner("owner-a", reference, 0, 10) == [("task-2", CREATED)]
    assert store.statuses_for_owner("owner-a", video, 1, 10) == [("task-1", CREATED)]
    assert store.statuses_for_owner("owner-b", reference, 0, 10) == []
    assert store.statuses_for_owner("owner-a", "/v1/other", 0, 10) == []
    # Tasks created without a family are a family of their own.
    assert store.statuses_for_owner("owner-a", "", 0, 10) == [("task-5", CREATED)]
    assert [t.task_id for t in store.list_for_owner("owner-a", "", 0, 10)] == ["task-5"]
    found = store.get("task-2")
    assert found is not None and found.family == reference
    assert store.get("task-1") == make_task(1, family=video)


def test_status_changes_keep_a_task_in_its_family() -> None:
    store = InMemoryTaskStore()
    store.add(make_task(1, family="/v1/a"))
    store.advance("task-1", False, 1002.0)
    store.put(make_task(1, family="/v1/a", status=COMPLETED, updated_at=1003.0))
    assert store.statuses_for_owner("owner-a", "/v1/a", 0, 5) == [("task-1", COMPLETED)]
    store.clear()
    assert store.statuses_for_owner("owner-a", "/v1/a", 0, 5) == []
