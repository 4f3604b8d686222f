"""Many clients at once: no lost or duplicated task, webhooks in order; no shared state."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY, Receiver, serve_fake
from helpers import run_in_two_workers

KEY = {"x-freepik-api-key": "concurrency-key"}
CONCURRENT = 500


async def _create_all(url: str, webhook_url: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as c:
        body = {**VALID_BODY, "webhook_url": webhook_url}
        return await asyncio.gather(
            *(c.post(CREATE_PATH, json=body, headers=KEY) for _ in range(CONCURRENT))
        )


@pytest.mark.slow
def test_500_concurrent_creates(tmp_path: Path, receiver: Receiver) -> None:
    with serve_fake(tmp_path, "--clock", "manual") as fake, fake.client(timeout=60) as client:
        responses = asyncio.run(_create_all(fake.url, receiver.url))
        assert [r.status_code for r in responses] == [200] * CONCURRENT
        ids = [r.json()["data"]["task_id"] for r in responses]
        assert len(set(ids)) == CONCURRENT

        listed: list[str] = []
        page = 1
        while items := client.get(
            LIST_PATH, params={"page": page, "page_size": 100}, headers=KEY
        ).json()["data"]:
            listed.extend(item["task_id"] for item in items)
            page += 1
        assert sorted(listed) == sorted(ids)

        client.post("/_mock/clock/advance", json={"seconds": 3600})  # all finish at once
        assert receiver.wait_for(2 * CONCURRENT, timeout=120)
        events: dict[str, list[str]] = {}
        for body in receiver.bodies():
            events.setdefault(body["task_id"], []).append(body["status"])
        assert events == {task_id: ["IN_PROGRESS", "COMPLETED"] for task_id in ids}
        # The receiver has every body; the fake may still be reading the last responses.
        assert client.post("/_mock/webhooks/drain", timeout=30).json()["drained"] is True
        log = client.get("/_mock/webhooks").json()
        assert log["pending"] == 0
        assert {entry["outcome"] for entry in log["data"]} == {"delivered"}
        assert fake.stop() == 0


WORKER_TESTS = """
import asyncio, os
import httpx
import pytest
from mockserver import MockConfig, create_app

CREATE = "/v1/ai/reference-to-video/kling-v3-omni-std"
LIST = "/v1/ai/reference-to-video/kling-v3-omni"
KEY = {"x-freepik-api-key": "the-same-key-everywhere"}

async def own_tasks(count):
    app = create_app(MockConfig())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
        body = {"video_url": "https://example.com/a.mp4"}
        ids = [(await c.post(CREATE, json=body, headers=KEY)).json()["data"]["task_id"]
               for _ in range(count)]
        listed = [t["task_id"] for t in (await c.get(LIST, headers=KEY)).json()["data"]]
    await app.state.mock.shutdown()
    return ids, listed

@pytest.mark.parametrize("n", range(1, 9))
def test_sees_only_its_own_tasks(n):
    ids, listed = asyncio.run(own_tasks(n))
    assert sorted(listed) == sorted(ids)
    with open(os.environ["WORKERS_LOG"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")
"""


@pytest.mark.slow
def test_parallel_pytest_workers_do_not_share_state(tmp_path: Path) -> None:
    workers_log = tmp_path / "workers.log"
    result = run_in_two_workers(tmp_path, textwrap.dedent(WORKER_TESTS), workers_log)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout
    assert set(workers_log.read_text().split()) == {"gw0", "gw1"}  # both workers ran tests
