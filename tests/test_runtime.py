"""MockRuntime: what one fake holds, how it starts in an event loop, forgets and stops."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers import AUTH, CREATE, VIDEO, client_for, create

from mockserver import MockConfig, create_app
from mockserver.persistence import SQLiteBackend
from mockserver.tasks import COMPLETED


def test_reset_forgets_tasks_faults_deliveries_the_journal_and_rate_limits() -> None:
    app = create_app(MockConfig(clock="manual", rate_limit=True))
    runtime = app.state.mock

    async def scenario() -> tuple[int, int]:
        async with client_for(app) as client:
            await create(client, webhook_url="http://example.com/hook")  # refused: logged
            await client.post("/_mock/clock/advance", json={"seconds": 1})
            await client.post("/_mock/webhooks/drain")
            runtime.faults.add(path="/nowhere", status=500, times=None)
            assert len(runtime.store) == 1
            assert runtime.webhooks.log() and runtime.journal.entries() and runtime.faults
            while runtime.rate_limiter.allow("127.0.0.1"):
                pass
            runtime.reset()
            assert len(runtime.store) == 0
            assert (runtime.webhooks.log(), runtime.webhooks.pending()) == ([], 0)
            assert runtime.journal.entries() == []
            assert runtime.faults.list() == []
            # Nothing is left scheduled, and the client is no longer rate limited.
            advanced = await client.post("/_mock/clock/advance", json={"seconds": 60})
            created = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
            return advanced.json()["applied"], created.status_code

    try:
        assert asyncio.run(scenario()) == (0, 200)
    finally:
        asyncio.run(runtime.shutdown())


def test_ensure_started_follows_the_event_loop() -> None:
    # Each asyncio.run is a new event loop (as each test of an async suite may be): the
    # timers must fire in the loop that runs now, or tasks would never move on their own.
    app = create_app(MockConfig(in_progress_after=0.01, complete_after=0.02))
    runtime = app.state.mock

    async def a_task_completes_on_its_own() -> bool:
        loop = runtime.ensure_started()
        assert loop is asyncio.get_running_loop()
        assert runtime.ensure_started() is loop
        async with client_for(app) as client:
            task_id = (await create(client))["task_id"]
        for _ in range(200):
            await asyncio.sleep(0.01)
            task = runtime.store.get(task_id)  # the store, not the API (which applies due work)
            if task is not None and task.status == COMPLETED:
                return True
        return False

    try:
        assert asyncio.run(a_task_completes_on_its_own())
        assert asyncio.run(a_task_completes_on_its_own())
    finally:
        asyncio.run(runtime.shutdown())


def test_shutdown_leaves_the_state_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    runtime = create_app(MockConfig(state=str(path))).state.mock
    assert runtime.state.shared
    runtime.lifecycle.create("owner", "http://h", {}, family="/f")
    assert Path(f"{path}-wal").exists()
    asyncio.run(runtime.shutdown())
    # Checkpointed into the file itself: it can be copied or opened as it is.
    assert not Path(f"{path}-wal").exists()
    reopened = SQLiteBackend(path, "default", lease=1.0)
    assert reopened.task_count() == 1
    reopened.close()


def test_two_runtimes_share_nothing() -> None:
    first = create_app(MockConfig(clock="manual")).state.mock
    second = create_app(MockConfig(clock="manual")).state.mock
    first.faults.add(status=500)
    first.manual_clock.advance(100)
    assert second.faults.list() == []
    assert second.clock.now() < first.clock.now()
    assert first.store is not second.store and first.journal is not second.journal
