"""Targets: the in-process fake keeps running between requests; failures are classified."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from contract_tests.exchange import Exchange
from contract_tests.operations import ContractSpec
from contract_tests.targets import (
    MissingApiKey,
    SpendBudget,
    SpendCapReached,
    Target,
    TargetUnreachable,
    open_target,
)

SPEC = ContractSpec.load()
# The first family and its first create (the reference-to-video family): the checks below
# are about one operation; the suite runs them for every operation of every family.
FAMILY = SPEC.families[0]
CREATE = FAMILY.creates[0]
COMMON: dict[str, Any] = {
    "auth_header": SPEC.auth_header,
    "create_paths": [op.path for op in SPEC.creates],
}
VALID = {"video_url": "https://example.com/reference.mp4"}


@pytest.fixture
def fake() -> Iterator[Target]:
    with open_target("fake", **COMMON) as target:
        yield target


def _status(target: Target, task_id: str) -> str:
    exchange = target.send("GET", FAMILY.task_path(task_id))
    return str(exchange.response_body["data"]["status"])


def test_the_in_process_fake_has_a_manual_clock_moved_over_http(fake: Target) -> None:
    assert fake.clock == "manual"
    created = fake.send("POST", CREATE.path, body=VALID, paid=True)
    task_id = created.response_body["data"]["task_id"]
    assert _status(fake, task_id) == "CREATED"
    fake.let_time_pass(3600)
    assert _status(fake, task_id) == "COMPLETED"


def test_the_in_process_loop_runs_background_work_between_requests() -> None:
    # A wall-clock fake moves tasks on its own timer loop, which must keep running on
    # the transport's loop while no request is in flight: the journal shows both
    # transitions although no request was made after the create.
    with open_target("asgi:broken_variants:quick_wall_clock_fake", **COMMON) as target:
        assert target.clock == "wall"
        received: list[Exchange] = []
        target.observers.append(received.append)
        created = target.send("POST", CREATE.path, body=VALID)
        task_id = created.response_body["data"]["task_id"]
        assert received == [created]
        moves: list[str] = []
        deadline = time.monotonic() + 10
        while len(moves) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            journal = target.client.get("/_mock/requests", params={"kind": "transition"})
            moves = [e["status"] for e in journal.json()["data"] if e["task_id"] == task_id]
        assert moves == ["IN_PROGRESS", "COMPLETED"]


def test_exchanges_never_hold_the_key() -> None:
    with open_target("fake", api_key="s3cret-key-123", **COMMON) as target:
        exchange = target.send("POST", CREATE.path, body=VALID)
    assert exchange.status == 200
    assert "s3cret-key-123" not in repr(exchange)
    assert exchange.auth == "key"


def test_an_unreachable_url_raises_target_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with open_target(f"http://127.0.0.1:{port}", **COMMON) as target:
        assert target.clock == "wall"
        with pytest.raises(TargetUnreachable, match="network failure"):
            target.send("GET", FAMILY.list.path)


def test_real_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FREEPIK_API_KEY", raising=False)
    with pytest.raises(MissingApiKey, match="FREEPIK_API_KEY"), open_target("real", **COMMON):
        pass


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown target"), open_target("ftp://x", **COMMON):
        pass


def test_the_spend_cap_allows_at_most_n_paid_creates() -> None:
    # A billing target, pointed at the in-process fake's transport: no network involved.
    with open_target("fake", **COMMON) as fake:
        fake.budget = SpendBudget(limit=1)
        first = fake.send("POST", CREATE.path, body=VALID, paid=True)
        assert first.status == 200 and fake.budget.spent == 1
        # The same paid request again is answered from memory: no second task.
        again = fake.send("POST", CREATE.path, body=VALID, paid=True)
        assert again is first and fake.budget.spent == 1
        with pytest.raises(SpendCapReached, match="--allow-spend 1"):
            fake.send("POST", CREATE.path, body={**VALID, "prompt": "other"}, paid=True)
        # Cost-free requests still go out.
        assert fake.send("POST", CREATE.path, body={}).status == 400
        # A create the server accepted although it was not meant to be paid overdraws
        # the budget, and from then on no create is sent at all.
        fake.send("POST", CREATE.path, body={**VALID, "prompt": "sneaky"})
        assert fake.budget.spent == 2
        with pytest.raises(SpendCapReached):
            fake.send("POST", CREATE.path, body={})
