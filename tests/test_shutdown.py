"""Stopping ``freepik-mock serve``: graceful, state flushed, exit status 0."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import httpx
import pytest
from conftest import CREATE_PATH, VALID_BODY, serve_fake
from helpers import wait_until

from mockserver.persistence import SQLiteBackend

# Each test serves the fake in a subprocess and signals it.
pytestmark = pytest.mark.slow

KEY = {"x-freepik-api-key": "shutdown-key"}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_right_after_start_exits_0(tmp_path: Path, sig: int) -> None:
    with serve_fake(tmp_path) as fake:
        assert fake.stop(sig) == 0  # even before uvicorn has installed its handlers
        assert "freepik-mock stopped" in fake.output()


def test_sigterm_finishes_in_flight_request_and_flushes_state(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    with serve_fake(tmp_path, "--state", str(state)) as fake:
        with fake.client() as client:
            client.post("/_mock/faults", json={"path": "/v1/*", "delay_ms": 1500, "times": 1})
        result: list[httpx.Response] = []

        async def create() -> None:
            async with httpx.AsyncClient(base_url=fake.url, trust_env=False) as slow:
                result.append(await slow.post(CREATE_PATH, json=VALID_BODY, headers=KEY))

        thread = threading.Thread(target=asyncio.run, args=(create(),))
        thread.start()
        with fake.client() as client:  # the fault is used up once the request is in flight
            wait_until(lambda: client.get("/_mock/faults").json()["data"] == [], what="in flight")
        assert fake.stop(signal.SIGTERM) == 0
        thread.join(30)
        assert result and result[0].status_code == 200
        task_id = result[0].json()["data"]["task_id"]
        assert "freepik-mock stopped" in fake.output()
    reopened = SQLiteBackend(state, "default", lease=1.0)
    try:
        assert reopened.get_task(task_id) is not None
    finally:
        reopened.close()
