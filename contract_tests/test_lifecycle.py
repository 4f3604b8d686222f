"""The task lifecycle, as a Hypothesis state machine: create, read, list, let time pass.

Tasks are created through every create operation of every family (each run starts with
one of its own create operation, later tasks through any), and each task is read and
listed through the GET paths of its own family.

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

from mockserver.spec import Operation

from .exchange import Exchange
from .operations import Family, request_schema
from .session import ContractSession
from .strategies import valid_bodies

# Position in the lifecycle; a task's position never decreases.
LIFECYCLE_RANK = {"CREATED": 0, "IN_PROGRESS": 1, "COMPLETED": 2, "FAILED": 2}
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED"})
_MAX_TASKS_PER_RUN = 4


def _data(exchange: Exchange) -> dict[str, Any]:
    body = exchange.response_body if exchange.json_ok else None
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _creations(contract: ContractSession, operations: tuple[Operation, ...]) -> Any:
    """(create operation, valid body) pairs over ``operations``."""
    null_optional = contract.profile.null_is_absent
    return st.sampled_from(operations).flatmap(
        lambda op: valid_bodies(request_schema(op), null_optional=null_optional).map(
            lambda body: (op, body)
        )
    )


def lifecycle_machine(
    contract: ContractSession, first: Operation | None = None
) -> type[RuleBasedStateMachine]:
    """The state machine; each run's first task is created through ``first`` (default:
    any create operation)."""
    spec = contract.spec
    profile = contract.profile
    target = contract.target
    creates = spec.creates
    legal = {family.collection: family.task_statuses() for family in spec.families}
    # Against a billing target each run creates one task, so runs never exceed the cap.
    max_tasks = 1 if target.bills_creates else _MAX_TASKS_PER_RUN
    unknown = sorted({s for statuses in legal.values() for s in statuses} - set(LIFECYCLE_RANK))
    if unknown:
        pytest.fail(f"the spec lists statuses with no known place in the lifecycle: {unknown}")

    class TaskLifecycle(RuleBasedStateMachine):
        tasks = Bundle("tasks")

        def __init__(self) -> None:
            super().__init__()
            self.last: dict[str, str] = {}
            self.family: dict[str, Family] = {}

        @initialize(target=tasks, case=_creations(contract, (first,) if first else creates))
        def first_task(self, case: tuple[Operation, dict[str, Any]]) -> str:
            # Every run has a task, so the teardown's checks always have one to follow.
            return self.create_task(*case)

        @precondition(lambda self: target.can_create() and len(self.last) < max_tasks)
        @rule(target=tasks, case=_creations(contract, creates))
        def another_task(self, case: tuple[Operation, dict[str, Any]]) -> str:
            return self.create_task(*case)

        def create_task(self, operation: Operation, body: dict[str, Any]) -> str:
            family = spec.family_of(operation)
            exchange = contract.create(operation, body, paid=True)
            problems = profile.answer(operation, exchange)
            data = _data(exchange)
            task_id, status = data.get("task_id"), data.get("status")
            if exchange.status != 200:
                problems.append(f"a valid create got {exchange.status}, not 200")
            elif not isinstance(task_id, str) or not task_id:
                problems.append("the 200 body has no data.task_id")
            elif status not in legal[family.collection]:
                statuses = list(legal[family.collection])
                problems.append(f"the new task's status {status!r} is not one of {statuses}")
            else:
                problems += profile.created(exchange)
            contract.verify(exchange, problems)
            assert isinstance(task_id, str) and isinstance(status, str)
            self.last[task_id] = status
            self.family[task_id] = family
            return task_id

        @rule(task_id=tasks)
        def read(self, task_id: str) -> None:
            self.observe(task_id)

        @rule(task_id=tasks)
        def listed(self, task_id: str) -> None:
            family = self.family[task_id]
            found, exchange = contract.listed(family, task_id)
            if not found:
                contract.verify(exchange, [f"the list {family.list.path} lacks task {task_id}"])
            body = exchange.response_body if exchange.json_ok else None
            items = body.get("data") if isinstance(body, dict) else None
            for item in items if isinstance(items, list) else []:
                status = item.get("status") if isinstance(item, dict) else None
                if item.get("task_id") == task_id and status not in legal[family.collection]:
                    contract.verify(exchange, [f"listed status {status!r}"])

        @rule(seconds=st.floats(0, 5))
        def time_passes(self, seconds: float) -> None:
            target.let_time_pass(seconds)

        def observe(self, task_id: str) -> str:
            family = self.family[task_id]
            exchange = contract.get_task(family, task_id)
            problems = profile.answer(family.get, exchange)
            data = _data(exchange)
            status, before = data.get("status"), self.last[task_id]
            statuses = legal[family.collection]
            if exchange.status != 200:
                problems.append(f"a created task got {exchange.status} on GET, not 200")
            elif data.get("task_id") != task_id:
                problems.append(f"GET returned task {data.get('task_id')!r}, not {task_id!r}")
            elif status not in statuses:
                problems.append(f"status {status!r} is not one of {list(statuses)}")
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
                self.listed(task_id)  # every task, in the end, is in its family's list
                status = self.observe(task_id)  # a final status must not change
                if task_id in pending:
                    exchange = contract.get_task(self.family[task_id], task_id)
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
    status never goes backwards, and a COMPLETED task has a non-empty ``generated``; runs
    are divided among the create operations, each starting at least one."""
    if contract.compare is not None:
        pytest.skip("differential mode: only test_differential runs")
    if not contract.target.can_create():
        pytest.skip("the lifecycle needs paid task creations: pass --allow-spend N")
    creates = contract.spec.creates
    for operation in creates:
        if not contract.target.can_create():
            contract.note(f"POST {operation.path}: no lifecycle run, --allow-spend used up")
            continue
        run_state_machine_as_test(  # type: ignore[no-untyped-call,unused-ignore]
            lifecycle_machine(contract, operation),
            settings=contract.settings(paid=True, stateful=True, share=len(creates)),
        )
