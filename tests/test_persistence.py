"""``--state PATH``: tasks and pending webhooks survive restarts and ``kill -9``, and
every process naming the file shares them."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY, Receiver, serve_fake
from helpers import wait_until

from mockserver import MockConfig, create_app
from mockserver.persistence import SQLiteBackend, StateFileError
from mockserver.state import DUE_ALREADY
from mockserver.tasks import COMPLETED, CREATED, IN_PROGRESS, Task
from mockserver.webhooks import Delivery

KEY = {"x-freepik-api-key": "persist-key"}


def StateFile(path: Path, namespace: str = "default", lease: float = 5.0) -> SQLiteBackend:
    return SQLiteBackend(path, namespace, lease=lease)


def _task(task_id: str, owner: str = "o", status: str = CREATED, family: str = "") -> Task:
    return Task(
        task_id=task_id,
        owner=owner,
        status=status,
        created_at=1.0,
        updated_at=1.0,
        outcome=COMPLETED,
        aspect_ratio="16:9",
        webhook_url="http://127.0.0.1:1/hook",
        base_url="http://127.0.0.1:2",
        request_json='{"video_url":"https://example.com/a.mp4"}',
        family=family,
    )


def _delivery(webhook_id: str, task_id: str, event: str = IN_PROGRESS) -> Delivery:
    return Delivery(webhook_id, task_id, event, "http://127.0.0.1:1/hook", b"{}", due_at=2.0)


def test_state_file_round_trips_tasks_and_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path)
    state.add_task(_task("a"), 2.0)
    state.add_task(_task("b"), 2.0)
    first, second = _delivery("w1", "a"), _delivery("w2", "a", COMPLETED)
    assert state.move(_task("a"), _task("a", status=IN_PROGRESS), 4.0, first, None)
    assert state.move(
        _task("a", status=IN_PROGRESS), _task("a", status=COMPLETED), None, second, None
    )
    state.close()

    reopened = StateFile(path)
    try:
        assert [t.task_id for t in reopened.page("o", "", 0, 10)] == ["b", "a"]
        task = reopened.get_task("a")
        assert task is not None
        assert task.status == COMPLETED
        assert task.base_url == "http://127.0.0.1:2"
        assert reopened.due_tasks(10.0, 10) == ["b"]
        assert reopened.pending_deliveries() == 2
        # A task's deliveries go out one at a time: only its first may be claimed.
        claimed = reopened.claim(10.0, 10)
        assert [d.webhook_id for d in claimed] == ["w1"]
        claimed[0].attempts = 1
        assert reopened.finish_delivery(claimed[0], 10.0, {"task_id": "a", "outcome": "delivered"})
        assert [d.webhook_id for d in reopened.claim(10.0, 10)] == ["w2"]
        assert reopened.delivery_log("a") == [{"task_id": "a", "outcome": "delivered"}]
    finally:
        reopened.close()


def test_a_move_is_a_compare_and_set(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first, second = StateFile(path), StateFile(path)
    try:
        first.add_task(_task("a"), 2.0)
        moved = _task("a", status=IN_PROGRESS)
        # Two processes apply the same step: one changes the task and queues the webhook.
        assert first.move(_task("a"), moved, 4.0, _delivery("w1", "a"), {"kind": "transition"})
        assert not second.move(_task("a"), moved, 4.0, _delivery("w2", "a"), {"kind": "transition"})
        assert second.pending_deliveries() == 1
        assert len(second.journal_entries()) == 1
        task = second.get_task("a")
        assert task is not None and task.status == IN_PROGRESS
    finally:
        first.close()
        second.close()


def test_a_claim_whose_process_is_gone_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path, lease=600)
    state.add_task(_task("a"), 2.0)
    state.move(_task("a"), _task("a", status=IN_PROGRESS), 4.0, _delivery("w1", "a"), None)
    # A process claims the delivery and dies in the middle of sending it (kill -9).
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mockserver.persistence import SQLiteBackend; "
            "b = SQLiteBackend(sys.argv[1], 'default', lease=600); "
            "print(len(b.claim(10.0, 10)))",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.strip() == "1"
    try:
        assert state.next_delivery_due() == DUE_ALREADY
        taken = state.claim(10.0, 10)
        assert [(d.webhook_id, d.attempts) for d in taken] == [("w1", 0)]
        assert state.claim(10.0, 10) == []  # ours now, and we are alive
    finally:
        state.close()


def test_tasks_keep_their_family_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path)
    state.add_task(_task("a", family="/v1/video"), 2.0)
    state.add_task(_task("b", family="/v1/reference"), 2.0)
    state.add_task(_task("c", family="/v1/video"), 2.0)
    state.move(_task("a"), _task("a", status=IN_PROGRESS), 4.0, None, None)
    state.close()

    reopened = StateFile(path)
    try:
        assert reopened.status_page("o", "/v1/video", 0, 10) == [
            ("c", CREATED),
            ("a", IN_PROGRESS),
        ]
        listed = reopened.page("o", "/v1/reference", 0, 10)
        assert listed == [_task("b", family="/v1/reference")]
        assert reopened.status_page("o", "/v1/other", 0, 10) == []
        assert reopened.status_page("o", "", 0, 10) == []  # none without a family
    finally:
        reopened.close()


def test_namespaces_in_one_file_see_nothing_of_each_other(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    one, two = StateFile(path, "one"), StateFile(path, "two")
    try:
        one.add_task(_task("a"), 2.0)
        one.fault_add({"method": "*", "path": "*", "status": 500, "times": 1, "matched": 0})
        one.journal_append({"kind": "request"})
        one.clock_advance(100)
        assert two.get_task("a") is None and two.task_count() == 0
        assert two.faults() == [] and two.journal_entries() == []
        assert two.clock_now() < one.clock_now()
        assert two.result_key() != one.result_key()
        two.clear_tasks()
        assert one.task_count() == 1
    finally:
        one.close()
        two.close()


def test_a_state_file_from_before_families_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE tasks (seq INTEGER PRIMARY KEY, task_id TEXT)")
        db.execute("INSERT INTO tasks (task_id) VALUES ('kept')")
        db.execute("PRAGMA user_version=1")
    before = old.read_bytes()
    with pytest.raises(StateFileError, match=r"schema version 1;.*delete it or pass another"):
        StateFile(old)
    assert old.read_bytes() == before  # refused, not rewritten
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
        assert db.execute("SELECT task_id FROM tasks").fetchall() == [("kept",)]


def test_a_one_process_state_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE tasks (seq INTEGER PRIMARY KEY, task_id TEXT)")
        db.execute("PRAGMA user_version=2")
    with pytest.raises(StateFileError, match=r"schema version 2;.*delete it or pass another"):
        StateFile(old)


def test_state_file_refuses_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StateFileError, match="cannot use state file"):
        StateFile(path)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StateFileError, match="schema version 99"):
        StateFile(other)


@pytest.mark.slow
def test_two_servers_on_one_state_file_serve_one_fake(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    with (
        serve_fake(tmp_path, "--state", state, "--clock", "manual") as one,
        serve_fake(tmp_path, "--state", state, "--clock", "manual") as two,
        one.client() as first,
        two.client() as second,
    ):
        created = first.post(CREATE_PATH, json=VALID_BODY, headers=KEY).json()["data"]
        second.post("/_mock/clock/advance", json={"seconds": 60})
        read = first.get(f"{LIST_PATH}/{created['task_id']}", headers=KEY).json()["data"]
        assert read["status"] == COMPLETED
        assert one.stop() == 0 and two.stop() == 0


def test_in_process_app_restores_tasks_and_moves_them_on(tmp_path: Path) -> None:
    config = MockConfig(state=str(tmp_path / "state.db"), clock="manual")

    async def first_run() -> list[str]:
        app = create_app(config)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            ids = [
                (await c.post(CREATE_PATH, json=VALID_BODY, headers=KEY)).json()["data"]["task_id"]
                for _ in range(3)
            ]
        await app.state.mock.shutdown()
        return ids

    async def second_run(ids: list[str]) -> list[str]:
        app = create_app(config)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            listed = (await c.get(LIST_PATH, headers=KEY)).json()["data"]
            assert sorted(t["task_id"] for t in listed) == sorted(ids)
            await c.post("/_mock/clock/advance", json={"seconds": 60})
            statuses = [
                (await c.get(f"{LIST_PATH}/{task_id}", headers=KEY)).json()["data"]["status"]
                for task_id in ids
            ]
        await app.state.mock.shutdown()
        return statuses

    ids = asyncio.run(first_run())
    assert asyncio.run(second_run(ids)) == [COMPLETED] * 3


def test_default_keeps_nothing_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = create_app(MockConfig())
    assert not app.state.mock.state.shared
    assert list(tmp_path.iterdir()) == []


def _pending_webhook_ids(client: httpx.Client) -> dict[str, str]:
    """webhook-id -> event of every delivery whose last logged attempt asked for a retry."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in client.get("/_mock/webhooks").json()["data"]:
        latest[entry["webhook_id"]] = entry
    return {wid: e["event"] for wid, e in latest.items() if e["outcome"] == "retrying"}


@pytest.mark.slow
def test_kill_9_and_restart_lose_nothing(tmp_path: Path, receiver: Receiver) -> None:
    state = tmp_path / "state.db"
    args = (
        "--state", str(state), "--clock", "manual",
        "--in-progress-after", "1", "--complete-after", "3",
        "--webhook-retry-delays", "600,600",
    )  # fmt: skip
    receiver.status = 500  # every delivery fails and waits for a retry
    with serve_fake(tmp_path, *args) as fake, fake.client() as client:
        plain = [
            client.post(CREATE_PATH, json=VALID_BODY, headers=KEY).json()["data"]["task_id"]
            for _ in range(4)
        ]
        hooked_body = {**VALID_BODY, "webhook_url": receiver.url}
        hooked = [
            client.post(CREATE_PATH, json=hooked_body, headers=KEY).json()["data"]["task_id"]
            for _ in range(4)
        ]
        client.post("/_mock/clock/advance", json={"seconds": 1.5})  # all go IN_PROGRESS
        wait_until(lambda: len(_pending_webhook_ids(client)) == 4, what="4 failed deliveries")
        pending = _pending_webhook_ids(client)
        fake.process.send_signal(signal.SIGKILL)
        assert fake.process.wait(10) == -signal.SIGKILL

    receiver.status = 200
    with serve_fake(tmp_path, *args) as fake, fake.client() as client:
        # Every task answered for before the kill is still there, none went backwards.
        listed = _list_all(client)
        assert sorted(listed) == sorted(plain + hooked)
        assert all(status in (IN_PROGRESS, COMPLETED) for status in listed.values())
        # The pending deliveries keep their schedule (the manual clock is kept too) and
        # go out when it falls due, with the webhook-id they had.
        assert receiver.received == []
        client.post("/_mock/clock/advance", json={"seconds": 600})
        assert receiver.wait_for(4)
        # (The same advance finishes the tasks: their COMPLETED webhooks follow.)
        resumed = {
            headers["webhook-id"]
            for headers, body in receiver.received
            if json.loads(body)["status"] == IN_PROGRESS
        }
        assert resumed == set(pending)
        # Statuses move on after the restart, and webhooks follow in order.
        client.post("/_mock/clock/advance", json={"seconds": 60})
        for task_id in plain + hooked:
            detail = client.get(f"{LIST_PATH}/{task_id}", headers=KEY).json()["data"]
            assert detail["status"] == COMPLETED
        assert receiver.wait_for(8)
        events: dict[str, list[str]] = {}
        for body in receiver.bodies():
            events.setdefault(body["task_id"], []).append(body["status"])
        assert events == {task_id: [IN_PROGRESS, COMPLETED] for task_id in hooked}
        assert fake.stop() == 0


def _list_all(client: httpx.Client) -> dict[str, str]:
    found: dict[str, str] = {}
    page = 1
    while True:
        response = client.get(LIST_PATH, params={"page": page, "page_size": 100}, headers=KEY)
        items = response.json()["data"]
        if not items:
            return found
        found.update({item["task_id"]: item["status"] for item in items})
        page += 1


def test_many_moves_in_one_transaction_each_only_from_its_status(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state.db")
    state.add_task(_task("a"), 2.0)
    state.add_task(_task("b", status=IN_PROGRESS), 2.0)
    done = state.move_many(
        [
            (_task("a"), _task("a", status=IN_PROGRESS), 4.0, _delivery("w1", "a"), None),
            (_task("b"), _task("b", status=IN_PROGRESS), 4.0, _delivery("w2", "b"), None),
        ]
    )
    assert done == [True, False]
    assert [task.status for task in state.get_tasks(["a", "b", "c"]) if task] == [
        IN_PROGRESS,
        IN_PROGRESS,
    ]
    assert state.get_tasks(["c"]) == [None]
    assert state.pending_deliveries() == 1  # only the move that happened queued its webhook
    state.close()
