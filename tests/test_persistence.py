"""``--state PATH``: tasks and pending webhooks survive restarts and ``kill -9``."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY, Receiver, serve_fake
from helpers import wait_until

from mockserver import MockConfig, create_app
from mockserver.persistence import StateFile, StateFileError
from mockserver.tasks import COMPLETED, CREATED, IN_PROGRESS, Task
from mockserver.webhooks import Delivery

KEY = {"x-freepik-api-key": "persist-key"}


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


def test_state_file_round_trips_tasks_and_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path)
    state.tasks.add(_task("a"))
    state.tasks.add(_task("b"))
    state.tasks.put(_task("a", status=COMPLETED))
    first = Delivery("w1", "a", IN_PROGRESS, "http://127.0.0.1:1/hook", b'{"x":1}')
    second = Delivery("w2", "a", COMPLETED, "http://127.0.0.1:1/hook", b'{"x":2}')
    done = Delivery("w3", "b", IN_PROGRESS, "http://127.0.0.1:1/hook", b"{}")
    for delivery in (first, second, done):
        state.outbox.enqueued(delivery)
    first.attempts = 2
    state.outbox.attempted(first)
    state.outbox.finished(done)
    state.close()

    reopened = StateFile(path)
    try:
        assert [t.task_id for t in reopened.tasks.list_for_owner("o", "", 0, 10)] == ["b", "a"]
        task = reopened.tasks.get("a")
        assert task is not None
        assert task.status == COMPLETED
        assert task.base_url == "http://127.0.0.1:2"
        pending = reopened.outbox.pending()
        assert [(d.webhook_id, d.attempts, d.body) for d in pending] == [
            ("w1", 2, b'{"x":1}'),
            ("w2", 0, b'{"x":2}'),
        ]
    finally:
        reopened.close()


def test_a_lifecycle_step_is_written_to_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path)
    state.tasks.add(_task("a"))
    started = state.tasks.advance("a", False, 2.0)
    assert started is not None and (started.previous, started.status) == (CREATED, IN_PROGRESS)
    assert state.tasks.advance("a", False, 3.0) is None  # started already
    state.close()

    reopened = StateFile(path)
    try:
        assert reopened.tasks.get("a") == _task("a", status=IN_PROGRESS)._replace(updated_at=2.0)
        finished = reopened.tasks.advance("a", True, 4.0)
        assert finished is not None and finished.base_url == "http://127.0.0.1:2"
    finally:
        reopened.close()
    again = StateFile(path)
    try:
        found = again.tasks.get("a")
        assert found is not None and (found.status, found.updated_at) == (COMPLETED, 4.0)
    finally:
        again.close()


def test_tasks_keep_their_family_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    state = StateFile(path)
    state.tasks.add(_task("a", family="/v1/video"))
    state.tasks.add(_task("b", family="/v1/reference"))
    state.tasks.add(_task("c", family="/v1/video"))
    state.tasks.advance("a", False, 2.0)
    state.close()

    reopened = StateFile(path)
    try:
        assert reopened.tasks.statuses_for_owner("o", "/v1/video", 0, 10) == [
            ("c", CREATED),
            ("a", IN_PROGRESS),
        ]
        listed = reopened.tasks.list_for_owner("o", "/v1/reference", 0, 10)
        assert listed == [_task("b", family="/v1/reference")]
        assert reopened.tasks.statuses_for_owner("o", "/v1/other", 0, 10) == []
        assert reopened.tasks.statuses_for_owner("o", "", 0, 10) == []  # none without a family
    finally:
        reopened.close()


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


def test_state_file_is_for_one_server_at_a_time(tmp_path: Path) -> None:
    state = StateFile(tmp_path / "state.db")
    try:
        with pytest.raises(StateFileError, match="in use by another"):
            StateFile(tmp_path / "state.db")
    finally:
        state.close()
    StateFile(tmp_path / "state.db").close()  # free again once closed


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
def test_serve_refuses_a_state_file_in_use(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serve_fake(tmp_path, "--state", str(state)) as fake:
        refused = pytest.raises(RuntimeError, match="in use by another freepik-mock server")
        with refused, serve_fake(tmp_path, "--state", str(state)):
            pass
        assert fake.stop() == 0


def test_in_process_app_restores_tasks_and_moves_them_on(tmp_path: Path) -> None:
    config = MockConfig(state=tmp_path / "state.db", clock="manual")

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
    assert app.state.mock.state_file is None
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
        # The pending deliveries resume at once, with the webhook-id they had.
        assert receiver.wait_for(4)
        resumed = {headers["webhook-id"]: body for headers, body in receiver.received}
        assert set(resumed) == set(pending)
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
