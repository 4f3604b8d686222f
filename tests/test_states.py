"""The states table: what it says, and every store and forced change doing what it says."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mockserver.clock import ManualClock
from mockserver.lifecycle import IllegalTransition, Lifecycle
from mockserver.states import (
    COMPLETED,
    CREATED,
    EVENTS,
    FAILED,
    FINISH,
    FORCE_COMPLETED,
    FORCE_FAILED,
    FORCE_IN_PROGRESS,
    FORCED,
    IN_PROGRESS,
    OUTCOME,
    START,
    STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    next_status,
    status_rank,
)
from mockserver.tasks import InMemoryTaskStore, Task, TaskStore, Transition

OUTCOMES = (COMPLETED, FAILED)
# The lifecycle as the README and the control API describe it, written out independently
# of the table: forward only, COMPLETED and FAILED side by side at the end.
ORDER = {CREATED: 0, IN_PROGRESS: 1, COMPLETED: 2, FAILED: 2}
FORCE_TARGET = {FORCE_IN_PROGRESS: IN_PROGRESS, FORCE_COMPLETED: COMPLETED, FORCE_FAILED: FAILED}


def documented_move(status: str, event: str, outcome: str) -> str | None:
    """The next status by the documented rules, or None for a move they refuse."""
    if status in (COMPLETED, FAILED):
        return None  # never out of a final state
    if event == START:
        return IN_PROGRESS if status == CREATED else None
    if event == FINISH:
        return outcome  # a task not yet ended finishes as its outcome
    target = FORCE_TARGET[event]
    if ORDER[target] <= ORDER[status]:
        return None  # forward only
    return IN_PROGRESS if status == CREATED else target  # through IN_PROGRESS


@pytest.mark.parametrize(("status", "event", "outcome"), list(product(STATUSES, EVENTS, OUTCOMES)))
def test_every_status_and_event_moves_as_documented(status: str, event: str, outcome: str) -> None:
    assert next_status(status, event, outcome) == documented_move(status, event, outcome)


def test_the_table_has_a_row_for_each_status_and_only_known_events_and_targets() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    for moves in TRANSITIONS.values():
        assert set(moves) <= set(EVENTS)
        assert set(moves.values()) <= {*STATUSES, OUTCOME}
    assert set(FORCED) == {IN_PROGRESS, COMPLETED, FAILED}
    assert {FORCE_TARGET[event] for event in FORCED.values()} == set(FORCED)


def test_final_statuses_are_those_nothing_moves_out_of() -> None:
    assert {COMPLETED, FAILED} == TERMINAL_STATUSES
    for status, event, outcome in product(TERMINAL_STATUSES, EVENTS, OUTCOMES):
        assert next_status(status, event, outcome) is None


def test_a_task_never_finishes_as_an_outcome_that_is_not_final() -> None:
    for status, outcome in product((CREATED, IN_PROGRESS), (CREATED, IN_PROGRESS, "DONE")):
        assert next_status(status, FINISH, outcome) is None


def test_every_move_raises_the_rank() -> None:
    assert [status_rank(s) for s in STATUSES] == [0, 1, 2, 2]
    for status, event, outcome in product(STATUSES, EVENTS, OUTCOMES):
        target = next_status(status, event, outcome)
        if target is not None:
            assert status_rank(target) > status_rank(status), (status, event)


def make_task(number: int, status: str = CREATED, outcome: str = COMPLETED) -> Task:
    return Task(
        task_id=f"task-{number}",
        owner="owner",
        status=status,
        created_at=1000.0,
        updated_at=1000.0,
        outcome=outcome,
        aspect_ratio=None,
        webhook_url="http://127.0.0.1:9/hook",
        base_url="http://127.0.0.1:8080",
        failure_reason="a reason" if outcome == FAILED else None,
        family="/v1/family/{task-id}",
    )


@pytest.fixture
def store() -> Iterator[TaskStore]:
    # Shared stores (--state) change only through SharedLifecycle's compare-and-set,
    # never by put or advance: tests/test_shared.py steps them through the table.
    yield InMemoryTaskStore()


@pytest.mark.parametrize(("status", "outcome"), list(product(STATUSES, OUTCOMES)))
@pytest.mark.parametrize("finish", [False, True])
def test_a_store_steps_a_task_as_the_table_says(
    store: TaskStore, status: str, outcome: str, finish: bool
) -> None:
    task = make_task(1, status, outcome)
    store.add(task)
    expected = next_status(status, FINISH if finish else START, outcome)
    change = store.advance(task.task_id, finish, 1001.0)
    if expected is None:
        assert change is None
        assert store.get(task.task_id) == task
    else:
        moved = task.moved(expected, 1001.0)
        assert change == Transition.of(moved, status)
        assert store.get(task.task_id) == moved


def walk(status: str, event: str, outcome: str, target: str) -> list[tuple[str, str]]:
    """The steps the table takes from ``status`` towards ``target`` under ``event``."""
    steps: list[tuple[str, str]] = []
    while status != target:
        moved = next_status(status, event, outcome)
        assert moved is not None
        steps.append((status, moved))
        status = moved
    return steps


@pytest.mark.parametrize(("status", "outcome"), list(product(STATUSES, OUTCOMES)))
@pytest.mark.parametrize("forced", [*STATUSES, "DONE"])
def test_forcing_follows_the_table_in_every_store(
    store: TaskStore, status: str, outcome: str, forced: str
) -> None:
    lifecycle = Lifecycle(store, ManualClock(start=2000.0), in_progress_after=1, complete_after=3)
    heard: list[Transition] = []
    lifecycle.subscribe(heard.append)
    task = make_task(1, status, outcome)
    store.add(task)
    event = FORCED.get(forced)
    if event is None:
        with pytest.raises(IllegalTransition, match="cannot force status"):
            lifecycle.force(task.task_id, forced)
        assert store.get(task.task_id) == task
        return
    if next_status(status, event, outcome) is None:
        with pytest.raises(
            IllegalTransition, match=f"^cannot move task from {status} to {forced}$"
        ):
            lifecycle.force(task.task_id, forced, "forced")
        assert store.get(task.task_id) == task and heard == []
        return
    result = lifecycle.force(task.task_id, forced, "forced")
    assert [(c.previous, c.status) for c in heard] == walk(status, event, outcome, forced)
    assert result.status == forced and result.updated_at == 2000.0
    final = forced in TERMINAL_STATUSES
    assert result.outcome == (forced if final else outcome)
    assert result.failure_reason == ("forced" if final else task.failure_reason)
    assert store.get(task.task_id) == result
    assert all(c.failure_reason == result.failure_reason for c in heard)


@pytest.mark.parametrize("status", STATUSES)
def test_an_outcome_can_change_while_the_table_still_has_a_finish_ahead(
    store: TaskStore, status: str
) -> None:
    lifecycle = Lifecycle(store, ManualClock(), in_progress_after=1, complete_after=3)
    task = make_task(1, status)
    store.add(task)
    if next_status(status, FINISH, COMPLETED) is None:
        with pytest.raises(IllegalTransition, match="already ended"):
            lifecycle.set_outcome(task.task_id, FAILED, "media check")
        assert store.get(task.task_id) == task
    else:
        changed = lifecycle.set_outcome(task.task_id, FAILED, "media check")
        assert (
            store.get(task.task_id)
            == changed
            == task.replace(outcome=FAILED, failure_reason="media check")
        )
    with pytest.raises(ValueError):
        lifecycle.set_outcome(task.task_id, IN_PROGRESS)


class StoresAgreeWithTheTable(RuleBasedStateMachine):
    """Random steps, forced changes and new outcomes, sent to two packed stores (each
    under its own Lifecycle), against a plain dict of tasks moved by
    :func:`next_status` alone."""

    def __init__(self) -> None:
        super().__init__()
        self.stores: list[TaskStore] = [InMemoryTaskStore(), InMemoryTaskStore()]
        self.clock = ManualClock(start=5000.0)
        self.lifecycles = [
            Lifecycle(s, self.clock, in_progress_after=1, complete_after=3) for s in self.stores
        ]
        self.heard: list[list[Transition]] = [[] for _ in self.stores]
        for lifecycle, heard in zip(self.lifecycles, self.heard, strict=True):
            lifecycle.subscribe(heard.append)
        self.model: dict[str, Task] = {}
        self.expected_heard: list[Transition] = []

    @initialize()
    def first_task(self) -> None:
        self.add(0, COMPLETED)

    @rule(number=st.integers(0, 4), outcome=st.sampled_from(OUTCOMES))
    def add(self, number: int, outcome: str) -> None:
        task = make_task(number, CREATED, outcome)
        if task.task_id in self.model:
            return
        for store in self.stores:
            store.add(task)
        self.model[task.task_id] = task

    @rule(number=st.integers(0, 5), finish=st.booleans())
    def advance(self, number: int, finish: bool) -> None:
        task_id, at = f"task-{number}", self.clock.now()
        found = self.model.get(task_id)
        expected = None
        if found is not None:
            status = next_status(found.status, FINISH if finish else START, found.outcome)
            if status is not None:
                moved = self.model[task_id] = found.moved(status, at)
                expected = Transition.of(moved, found.status)
        for store in self.stores:
            assert store.advance(task_id, finish, at) == expected

    @rule(number=st.integers(0, 5), forced=st.sampled_from([*STATUSES, "DONE"]))
    def force(self, number: int, forced: str) -> None:
        task_id = f"task-{number}"
        found = self.model.get(task_id)
        event = FORCED.get(forced)
        if found is None:
            refused: type[Exception] | None = KeyError
        elif event is None or next_status(found.status, event, found.outcome) is None:
            refused = IllegalTransition
        else:
            refused = None
        if refused is not None:
            for lifecycle in self.lifecycles:
                with pytest.raises(refused):
                    lifecycle.force(task_id, forced, "forced")
            return
        assert found is not None and event is not None
        task = found
        if forced in TERMINAL_STATUSES:
            task = task.replace(outcome=forced, failure_reason="forced")
        for previous, status in walk(task.status, event, task.outcome, forced):
            task = task.moved(status, self.clock.now())
            self.expected_heard.append(Transition.of(task, previous))
        self.model[task_id] = task
        for lifecycle in self.lifecycles:
            assert lifecycle.force(task_id, forced, "forced") == task

    @rule(number=st.integers(0, 5), outcome=st.sampled_from(OUTCOMES))
    def set_outcome(self, number: int, outcome: str) -> None:
        task_id = f"task-{number}"
        found = self.model.get(task_id)
        if found is None or next_status(found.status, FINISH, found.outcome) is None:
            refused = KeyError if found is None else IllegalTransition
            for lifecycle in self.lifecycles:
                with pytest.raises(refused):
                    lifecycle.set_outcome(task_id, outcome, "changed")
            return
        task = self.model[task_id] = found.replace(outcome=outcome, failure_reason="changed")
        for lifecycle in self.lifecycles:
            assert lifecycle.set_outcome(task_id, outcome, "changed") == task

    @rule(seconds=st.floats(0.5, 10))
    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def every_store_holds_what_the_table_made(self) -> None:
        for store, heard in zip(self.stores, self.heard, strict=True):
            assert {t.task_id: t for t in store.all()} == self.model
            assert heard == self.expected_heard


StoresAgreeWithTheTable.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_stores_and_forcing_agree_with_the_table = StoresAgreeWithTheTable.TestCase
