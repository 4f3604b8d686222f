"""The app: a Starlette app whose lifespan starts and stops the fake, extended and
mounted the Starlette way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, client_for, is_result_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    app = create_app(MockConfig(state=str(tmp_path / "state.db")))
    runtime = app.state.mock
    server = LifespanServer("startup", "shutdown")
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, server.receive, server.send)
    assert [reply["type"] for reply in server.replies] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    # Closed: the write-ahead log is checkpointed into the file and removed.
    assert runtime.state.shared and not (tmp_path / "state.db-wal").exists()


async def test_a_failed_start_is_reported_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(MockConfig(clock="manual"))

    def broken() -> None:
        raise RuntimeError("no event loop for the timers")

    monkeypatch.setattr(app.state.mock, "ensure_started", broken)
    server = LifespanServer("startup")
    with pytest.raises(RuntimeError, match="no event loop"):  # uvicorn logs it and exits
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


async def test_the_app_is_a_starlette_app_a_user_extends_the_starlette_way() -> None:
    app = create_app(MockConfig(clock="manual"))
    assert isinstance(app, Starlette)

    async def version(request: Request) -> JSONResponse:
        return JSONResponse({"version": "mine"})

    seen: list[str] = []

    class Tag:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.app(scope, receive, send)

    app.router.routes.append(Route("/my/version", version))
    app.add_middleware(Tag)
    async with client_for(app) as client:
        mine = await client.get("/my/version")
        created = await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH)
    await app.state.mock.shutdown()
    assert mine.json() == {"version": "mine"}
    assert created.status_code == 200
    assert seen == ["/my/version", CREATE]


async def test_the_fake_mounted_inside_another_app_serves_under_its_prefix() -> None:
    fake = create_app(MockConfig(clock="manual"))
    outer = Starlette(routes=[Mount("/freepik", app=fake)])
    async with client_for(outer) as client:
        created = await client.post(f"/freepik{CREATE}", json={"video_url": VIDEO}, headers=AUTH)
        task_id = created.json()["data"]["task_id"]
        read = await client.get(f"/freepik{TASKS}/{task_id}", headers=AUTH)
        advanced = await client.post("/freepik/_mock/clock/advance", json={"seconds": 10})
        done = await client.get(f"/freepik{TASKS}/{task_id}", headers=AUTH)
        journal = await client.get("/freepik/_mock/requests", params={"kind": "request"})
    await fake.state.mock.shutdown()
    assert read.json()["data"]["status"] == "CREATED"
    assert advanced.status_code == 200
    result = done.json()["data"]["generated"][0]
    assert is_result_url(result, "http://127.0.0.1:8080/freepik", task_id)
    assert journal.json()["data"][0]["path"] == f"/freepik{CREATE}"


# A fresh interpreter: this test process imported everything long ago.
PROGRAM = """
import sys, types

def planted():
    # Entries that are not the module their name says: stand-ins, aliases, shims.
    return {
        name for name, module in list(sys.modules.items())
        if type(module) is not types.ModuleType
        or getattr(module.__spec__, "name", None) != name
    }

# What our dependencies plant themselves (pytest's py shim, trio, pygments) is theirs.
import anyio, httpx, hypothesis, orjson, pydantic_core, pytest, respx, starlette.applications, yaml
import uvicorn.protocols.http.h11_impl, uvicorn.protocols.http.httptools_impl
theirs = planted()
import mockserver, mockserver.pytest_plugin
print("planted:", sorted(planted() - theirs))
"""


def test_importing_the_kit_or_its_plugin_plants_no_module() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["planted: []"]
