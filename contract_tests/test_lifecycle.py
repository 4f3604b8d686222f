"""The task lifecycle, as a Hypothesis state machine: create, read, list, let time pass.

Statuses come from the spec's enum; their order comes from Freepik's documentation
(CREATED -> IN_PROGRESS -> COMPLETED | FAILED), which the spec does not encode. The
POST 200 body is undocumented in the spec (an empty schema), so the shape read here,
``{"data": {"task_id", "status", "generated"}}``, is the one the API is known to send.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from . import checks
from .exchange import Exchange
from .session import ContractSession
from .strategies import valid_bodies

# Position in the lifecycle; a task's position never decreases.
LIFECYCLE_RANK = {"CREATED": 0, "IN_PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED"})
_MAX_TASKS_PER_RUN = 4
_LIST_PAGES = 5


def _data(exchange: Exchange) -> dict[str, Any]:
    body = exchange.response_body if exchange.json_ok else None
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def lifecycle_machine(contract: ContractSession) -> type[RuleBasedStateMachine]:
    spec = contract.spec
    target = contract.target
    legal = spec.task_statuses()
    # Against a billing target each run creates one task, so runs never exceed the cap.
    max_tasks = 1 if target.bills_creates else _MAX_TASKS_PER_RUN
    unknown = [s for s in legal if s not in LIFECYCLE_RANK]
    if unknown:
        pytest.fail(f"the spec lists statuses with no known place in the lifecycle: {unknown}")

    class TaskLifecycle(RuleBasedStateMachine):
        tasks = Bundle("tasks")

        def __init__(self) -> None:
            super().__init__()
            self.last: dict[str, str] = {}

        @initialize(target=tasks, body=valid_bodies(spec.request_schema))
        def first_task(self, body: dict[str, Any]) -> str:
            # Every run has a task, so the teardown's checks always have one to follow.
            return self.create_task(body)

        @precondition(lambda self: target.can_create() and len(self.last) < max_tasks)
        @rule(target=tasks, body=valid_bodies(spec.request_schema))
        def another_task(self, body: dict[str, Any]) -> str:
            return self.create_task(body)

        def create_task(self, body: dict[str, Any]) -> str:
            exchange = contract.create(body, paid=True)
            problems = checks.check_answer(spec.create, exchange)
            data = _data(exchange)
            task_id, status = data.get("task_id"), data.get("status")
            if exchange.status != 200:
                problems.append(f"a valid create got {exchange.status}, not 200")
            elif not isinstance(task_id, str) or not task_id:
                problems.append("the 200 body has no data.task_id")
            elif status not in legal:
                problems.append(f"the new task's status {status!r} is not one of {list(legal)}")
            contract.verify(exchange, problems)
            assert isinstance(task_id, str) and isinstance(status, str)
            self.last[task_id] = status
            return task_id

        @rule(task_id=tasks)
        def read(self, task_id: str) -> None:
            self.observe(task_id)

        @rule(task_id=tasks)
        def listed(self, task_id: str) -> None:
            exchange: Exchange | None = None
            for page in range(1, _LIST_PAGES + 1):
                exchange = contract.list_tasks({"page": str(page), "page_size": "100"})
                contract.verify(exchange, checks.check_answer(spec.list, exchange))
                body = exchange.response_body if exchange.json_ok else {}
                items = body.get("data") if isinstance(body, dict) else None
                items = items if isinstance(items, list) else []
                for item in items:
                    if isinstance(item, dict) and item.get("task_id") == task_id:
                        if item.get("status") not in legal:
                            contract.verify(exchange, [f"listed status {item.get('status')!r}"])
                        return
                if len(items) < 100:
                    break
            assert exchange is not None
            contract.verify(exchange, [f"the list does not contain task {task_id}"])

        @rule(seconds=st.floats(0, 5))
        def time_passes(self, seconds: float) -> None:
            target.let_time_pass(seconds)

        def observe(self, task_id: str) -> str:
            exchange = contract.get_task(task_id)
            problems = checks.check_answer(spec.get, exchange)
            data = _data(exchange)
            status, before = data.get("status"), self.last[task_id]
            if exchange.status != 200:
                problems.append(f"a created task got {exchange.status} on GET, not 200")
            elif data.get("task_id") != task_id:
                problems.append(f"GET returned task {data.get('task_id')!r}, not {task_id!r}")
            elif status not in legal:
                problems.append(f"status {status!r} is not one of {list(legal)}")
            elif LIFECYCLE_RANK[str(status)] < LIFECYCLE_RANK[before]:
                problems.append(f"the status went backwards: {before} -> {status}")
            elif before in FINAL_STATUSES and status != before:
                problems.append(f"a final status changed: {before} -> {status}")
            elif status == "COMPLETED" and not data.get("generated"):
                problems.append("a COMPLETED task has an empty 'generated'")
            contract.verify(exchange, problems)
            self.last[task_id] = str(status)
            return str(status)

        def teardown(self) -> None:
            """Every task reaches a final status in bounded time and then keeps it."""
            if not self.last:
                return
            if target.clock == "manual":
                target.let_time_pass(3600)
            deadline = time.monotonic() + target.wait_limit
            pending = set(self.last)
            while pending:
                for task_id in sorted(pending):
                    if self.observe(task_id) in FINAL_STATUSES:
                        pending.discard(task_id)
                if not pending or target.clock == "manual" or time.monotonic() > deadline:
                    break
                time.sleep(target.poll_interval)
            for task_id in sorted(self.last):
                status = self.observe(task_id)  # a final status must not change
                if task_id in pending:
                    exchange = contract.get_task(task_id)
                    contract.verify(
                        exchange,
                        [
                            f"task {task_id} is still {status}; a final status was expected"
                            + ("" if target.clock == "manual" else f" within {target.wait_limit} s")
                        ],
                    )

    return TaskLifecycle


def test_task_lifecycle(contract: ContractSession) -> None:
    """create -> get returns the same task with a legal status, the list holds it, the
    status never goes backwards, and a COMPLETED task has a non-empty ``generated``."""
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    if not contract.target.can_create():
        pytest.skip("the lifecycle needs paid task creations: pass --allow-spend N")
    run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
        lifecycle_machine(contract), settings=contract.settings(paid=True, stateful=True)
    )
