"""The middleware stack and the one exception mapping: the journal and faults for API
requests only, routing errors and the fake's own failures in the API's shape."""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import socket
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from conftest import serve_fake
from helpers import AUTH, CREATE, TASKS, VIDEO, client_for, fake

from mockserver import MockConfig, create_app
from mockserver.clock import ManualClock
from mockserver.constants import RUNTIME_KEY
from mockserver.journal import Journal
from mockserver.middleware import ApiMiddleware, is_api, route_path

pytestmark = pytest.mark.anyio

BODY = {"video_url": VIDEO, "prompt": "A cat walks along a wall, following @Video1"}


async def _journal(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get("/_mock/requests", params={"kind": "request"})
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def test_api_requests_are_journalled_and_control_requests_are_not() -> None:
    async with fake() as client:
        created = await client.post(CREATE, json=BODY, headers=AUTH)
        await client.get(f"{TASKS}/nope", headers=AUTH)
        await client.get("/v1/nothing-here")
        await client.get("/_mock/health")
        entries = await _journal(client)
    assert [(e["method"], e["path"], e["status"], e["api_key"]) for e in entries] == [
        ("POST", CREATE, 200, "sent"),
        ("GET", f"{TASKS}/nope", 404, "sent"),
        ("GET", "/v1/nothing-here", 404, "missing"),
    ]
    assert created.status_code == 200
    assert '"video_url"' in entries[0]["body"]


async def test_head_on_a_read_answers_like_get_without_a_body() -> None:
    async with fake() as client:
        created = (await client.post(CREATE, json=BODY, headers=AUTH)).json()["data"]
        head = await client.head(f"{TASKS}/{created['task_id']}", headers=AUTH)
        listed = await client.head(TASKS, headers=AUTH)
    assert head.status_code == 200 and listed.status_code == 200
    assert head.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("method", "path"), [("PUT", CREATE), ("DELETE", f"{TASKS}/some-id")])
async def test_a_wrong_method_on_an_api_path_is_405_with_allow(method: str, path: str) -> None:
    async with fake() as client:
        answer = await client.request(method, path, headers=AUTH)
    assert answer.status_code == 405
    assert answer.json() == {"message": "Method Not Allowed"}
    assert answer.headers["allow"] in ("POST", "GET, HEAD")


async def test_faults_apply_to_api_paths_before_the_handler() -> None:
    async with fake() as client:
        await client.post("/_mock/faults", json={"path": CREATE, "status": 503, "times": 1})
        faulted = await client.post(CREATE, json=BODY, headers=AUTH)
        served = await client.post(CREATE, json=BODY, headers=AUTH)
        tasks = (await client.get("/_mock/tasks")).json()["data"]
        entries = await _journal(client)
    assert faulted.status_code == 503
    assert faulted.json() == {"message": "Service Unavailable. Please try again later."}
    assert served.status_code == 200
    assert len(tasks) == 1, "a faulted request never reaches the store"
    assert [e["status"] for e in entries] == [503, 200]


async def test_a_failure_inside_the_fake_is_the_apis_500_and_reaches_the_servers_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = create_app(MockConfig(clock="manual"))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("store on fire")

    monkeypatch.setattr(app.state.mock.lifecycle, "create", broken)
    async with client_for(app, raise_app_exceptions=False) as client:
        answer = await client.post(CREATE, json=BODY, headers=AUTH)
        entries = await _journal(client)
    await app.state.mock.shutdown()
    assert answer.status_code == 500
    assert answer.json() == {"message": "Internal Server Error"}
    assert entries[-1]["status"] == 500
    async with client_for(app) as client:
        with pytest.raises(RuntimeError, match="store on fire"):
            await client.post(CREATE, json=BODY, headers=AUTH)
    await app.state.mock.shutdown()


async def test_a_client_error_never_becomes_a_500() -> None:
    async with fake() as client:
        answers = [
            await client.post(CREATE, content=b"{", headers=AUTH),
            await client.post(CREATE, content=b"[]", headers=AUTH),
            await client.post(CREATE, json={"prompt": 5}, headers=AUTH),
            await client.get(TASKS, params={"page": "zero"}, headers=AUTH),
            await client.post(CREATE, json=BODY),
        ]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 401]


async def test_routes_match_the_spec_paths_and_nothing_else() -> None:
    async with fake() as client:
        created = (await client.post(CREATE, json=BODY, headers=AUTH)).json()["data"]
        read = await client.get(f"{TASKS}/{created['task_id']}", headers=AUTH)
        others = [
            await client.request(method, path, headers=AUTH)
            for method, path in [
                ("GET", f"{TASKS}/a/b"),
                ("GET", f"{TASKS}/"),
                ("GET", f"{TASKS}x"),
                ("GET", CREATE + "/"),
            ]
        ]
        wrong_method = await client.post(TASKS, json=BODY, headers=AUTH)
    assert read.status_code == 200
    assert [(a.status_code, a.json()) for a in others] == [(404, {"message": "Not Found"})] * 4
    assert (wrong_method.status_code, wrong_method.headers["allow"]) == (405, "GET, HEAD")


def test_the_timers_follow_the_event_loop_a_client_runs_in() -> None:
    """In-process clients send no lifespan events, and each asyncio.run() is a new loop:
    transitions must still happen on time (no GET needed) in every one of them."""
    app = create_app(MockConfig(in_progress_after=0.01, complete_after=0.02))
    runtime = app.state.mock

    async def create_and_wait() -> str:
        async with client_for(app) as client:
            created = await client.post(CREATE, json=BODY, headers=AUTH)
            task_id: str = created.json()["data"]["task_id"]
            for _ in range(200):
                task = runtime.store.get(task_id)
                if task is not None and task.status == "COMPLETED":
                    break
                await asyncio.sleep(0.01)
            await runtime.shutdown()
            return task_id

    for _ in range(2):
        task_id = asyncio.run(create_and_wait())
        task = runtime.store.get(task_id)
        assert task is not None and task.status == "COMPLETED"


REQUEST_ID = re.compile(r"^ak-[0-9a-f]{32}$")


async def test_every_api_answer_carries_a_request_id_and_the_no_cache_headers() -> None:
    async with fake() as client:
        answers = [
            await client.post(CREATE, json=BODY, headers=AUTH),
            await client.post(CREATE, json={}, headers=AUTH),
            await client.post(CREATE, json=BODY),
            await client.get(f"{TASKS}/nope", headers=AUTH),
            await client.get(TASKS, headers=AUTH),
            await client.put(CREATE, headers=AUTH),
        ]
        control = await client.get("/_mock/health")
        entries = await _journal(client)
    ids = [a.headers["x-request-id"] for a in answers]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    for answer in answers:
        assert answer.headers["cache-control"] == "max-age=0, no-cache, no-store"
        assert answer.headers["pragma"] == "no-cache"
        expires = email.utils.parsedate_to_datetime(answer.headers["expires"])
        assert abs(expires.timestamp() - time.time()) < 5
    assert [e["request_id"] for e in entries] == ids  # a user finds the request by its id
    assert "x-request-id" not in control.headers


async def test_rate_limits_are_announced_on_every_answer_and_a_429_says_when_to_retry() -> None:
    async with fake(rate_limit=True) as client:
        first = await client.get(TASKS, headers=AUTH)
        for _ in range(248):
            await client.get(TASKS, headers=AUTH)
        last_allowed = await client.get(TASKS, headers=AUTH)
        refused = await client.get(TASKS, headers=AUTH)
        await client.post("/_mock/clock/advance", json={"seconds": 1})
        again = await client.get(TASKS, headers=AUTH)
    assert first.status_code == 200
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == (
        "250",
        "249",
    )
    assert last_allowed.headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" not in last_allowed.headers
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too many requests"}
    assert refused.headers["retry-after"] == "1"
    assert int(refused.headers["x-ratelimit-reset"]) == 5  # 250 requests at 50/s
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "49"


@pytest.mark.parametrize("http", ["httptools", "h11"])
def test_a_served_drop_fault_closes_before_any_byte_and_logs_one_line(
    tmp_path: Path, http: str
) -> None:
    with serve_fake(tmp_path, "--http", http) as served:
        with served.client() as client:
            added = client.post("/_mock/faults", json={"path": CREATE, "drop": True})
        assert added.status_code == 201
        host, port = served.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            body = json.dumps(BODY).encode()
            sock.sendall(
                f"POST {CREATE} HTTP/1.1\r\nhost: x\r\nx-freepik-api-key: k\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            try:
                received = sock.recv(65536)
            except ConnectionResetError:
                received = b""
        with served.client() as client:
            after = client.post(CREATE, json=BODY, headers=AUTH)
        served.stop()
        log = served.output()
    assert received == b""
    assert after.status_code == 200  # the server serves on
    assert "Traceback" not in log
    dropped = [line for line in log.splitlines() if "dropped the connection" in line]
    assert len(dropped) == 1, log


async def test_the_api_middleware_decides_api_or_control_once_below_the_mount_point() -> None:
    seen: list[tuple[bool, str]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((is_api(scope), route_path(scope)))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    journal = Journal(ManualClock())
    middleware = ApiMiddleware(inner)
    runtime = SimpleNamespace(journal=journal, namespace="default")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    for path in ("/freepik/_mock/health", f"/freepik{CREATE}"):
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "root_path": "/freepik",
            "query_string": b"",
            "headers": [],
            # What an enclosing app decided for its own scope is not taken for ours.
            "freepik_mock.is_api": path.endswith("health"),
            "freepik_mock.route_path": path,
            RUNTIME_KEY: runtime,  # as NamespaceMiddleware leaves it
        }
        await middleware(scope, receive, send)
    assert seen == [(False, "/_mock/health"), (True, CREATE)]
    assert [e["path"] for e in journal.entries(kind="request")] == [f"/freepik{CREATE}"]
