"""The app: lifespan events start and stop the fake; the Starlette app behind the API
(control API, unknown paths) is imported and built only when a request needs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import AUTH, CREATE, client_for
from starlette.types import Message

from mockserver import MockConfig, create_app
from mockserver.tasks import CREATED, Task

pytestmark = pytest.mark.anyio


class LifespanServer:
    """Sends lifespan events the way uvicorn does and keeps the replies."""

    def __init__(self, *events: str) -> None:
        self.events = [{"type": f"lifespan.{event}"} for event in events]
        self.replies: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        return self.events.pop(0)

    async def send(self, message: Message) -> None:
        self.replies.append(dict(message))


def _task(task_id: str) -> Task:
    return Task(task_id, "owner", CREATED, 1.0, 1.0, "COMPLETED", None, None, "http://h")


async def test_lifespan_starts_the_timers_and_shutdown_closes_the_state_file(
    tmp_path: Path,
) -> None:
    app = create_app(MockConfig(state=tmp_path / "state.db"))
    runtime = app.state.mock
    server = LifespanServer("startup", "shutdown")
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, server.receive, server.send)
    assert [reply["type"] for reply in server.replies] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert runtime.state_file is None  # closed, so another server may open the file


async def test_a_failed_start_is_reported_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(MockConfig(clock="manual"))

    def broken() -> None:
        raise RuntimeError("no event loop for the timers")

    monkeypatch.setattr(app.state.mock, "ensure_started", broken)
    server = LifespanServer("startup")
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, server.receive, server.send)
    assert len(server.replies) == 1
    assert server.replies[0]["type"] == "lifespan.startup.failed"
    assert "no event loop for the timers" in server.replies[0]["message"]


async def test_control_api_and_unknown_paths_still_answer_in_the_apis_shape() -> None:
    app = create_app(MockConfig(clock="manual"))
    app.state.mock.store.add(_task("t-1"))
    async with client_for(app) as client:
        health = await client.get("/_mock/health")
        unknown = await client.get("/v1/no/such/path", headers=AUTH)
        slash = await client.get("/_mock/health/")
        wrong_method = await client.delete(CREATE, headers=AUTH)
        listed = await client.get("/_mock/tasks")
    await app.state.mock.shutdown()
    assert health.status_code == 200
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Not Found"})
    assert slash.status_code == 404  # never a redirect to the other spelling
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.headers["allow"]
    assert [task["task_id"] for task in listed.json()["data"]] == ["t-1"]


async def test_a_websocket_is_refused() -> None:
    app = create_app(MockConfig(clock="manual"))
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/v1/ai/anything", "headers": [], "query_string": b""}
    await app(scope, receive, send)
    await app.state.mock.shutdown()
    assert sent and sent[0]["type"] == "websocket.close"


# A fresh interpreter: this test process imported Starlette long ago.
PROGRAM = """
import asyncio, sys
import httpx
from mockserver import MockConfig, create_app

def starlette_parts():
    parts = ("starlette.applications", "starlette.routing", "starlette.requests",
             "starlette.responses")
    return [name for name in parts if name in sys.modules]

async def main():
    app = create_app(MockConfig(clock="manual"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        key = {"x-freepik-api-key": "k"}
        body = {"video_url": "https://example.com/a.mp4"}
        created = await client.post("/v1/ai/reference-to-video/kling-v3-omni-std",
                                    json=body, headers=key)
        refused = await client.post("/v1/ai/reference-to-video/kling-v3-omni-std",
                                    json={}, headers=key)
        print("api answers:", created.status_code, refused.status_code, starlette_parts())
        health = await client.get("/_mock/health")
        print("control answers:", health.status_code, starlette_parts())
    await app.state.mock.shutdown()

asyncio.run(main())
"""


def test_starlette_is_imported_only_when_a_request_needs_it(tmp_path: Path) -> None:
    env = dict(os.environ)
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "api answers: 200 400 []",
        "control answers: 200 ['starlette.applications', 'starlette.routing', "
        "'starlette.requests', 'starlette.responses']",
    ]
