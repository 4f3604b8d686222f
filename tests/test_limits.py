"""Body size limit, body-read deadline and JSON nesting limit (mockserver/limits.py)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, VALID_BODY, serve_fake
from starlette.types import Message

from mockserver import MockConfig, create_app
from mockserver.limits import MAX_JSON_DEPTH, BodyLimits, BodyTimedOut, BodyTooLarge, too_deep

HEADERS = {"x-freepik-api-key": "test-key", "content-type": "application/json"}


async def _post(config: MockConfig, content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    app = create_app(config)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(CREATE_PATH, content=content, headers=HEADERS)
    finally:
        await app.state.mock.shutdown()


def test_declared_oversize_body_gets_413_json() -> None:
    body = json.dumps({**VALID_BODY, "prompt": "x" * 200}).encode()
    response = asyncio.run(_post(MockConfig(max_body_bytes=100), body))
    assert response.status_code == 413
    assert response.json() == {"message": "Request body is larger than the limit of 100 bytes"}
    assert response.headers["connection"] == "close"


def test_body_at_the_limit_is_accepted() -> None:
    body = json.dumps(VALID_BODY).encode()
    response = asyncio.run(_post(MockConfig(max_body_bytes=len(body)), body))
    assert response.status_code == 200


def test_streamed_body_is_refused_without_reading_the_rest() -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(1000):
            sent.append(index)
            yield b" " * 100

    response = asyncio.run(_post(MockConfig(max_body_bytes=1000), chunks()))
    assert response.status_code == 413
    assert "1000 bytes" in response.json()["message"]
    assert len(sent) < 1000  # the fake stopped reading once past the limit


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 10_000])
def test_json_nested_too_deep_is_a_400(depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    prefix = b'{"video_url": "https://example.com/a.mp4", "extra": '
    body = prefix + nested + b"}"
    response = asyncio.run(_post(MockConfig(), body))
    assert response.status_code == 400
    ((item,),) = [response.json()["invalid_params"]]
    assert item["reason"] == "JSON decode error"
    # Where the first level past the limit opens (the object itself is the first level).
    assert item["field"] == f"body.{len(prefix) + MAX_JSON_DEPTH - 1}"


def test_too_deep_counts_levels() -> None:
    assert not too_deep({"a": [1, {"b": []}]}, limit=4)
    assert too_deep({"a": [1, {"b": []}]}, limit=3)
    assert not too_deep("scalar", limit=0)


def _request_head(length: int) -> bytes:
    return (
        f"POST {CREATE_PATH} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-freepik-api-key: k\r\n"
        f"content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, rest


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    return sock


@pytest.mark.slow
def test_served_413_comes_before_the_body_is_sent(tmp_path: Path) -> None:
    with serve_fake(tmp_path) as fake, _connect(fake.url) as sock:
        # Announce 10 MB and send none of it: the answer must not wait for the body.
        sock.sendall(_request_head(10 * 1024 * 1024))
        status, headers, body = _read_response(sock)
        assert status == 413
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {
            "message": "Request body is larger than the limit of 1048576 bytes"
        }
        assert sock.recv(1) == b""  # and the connection is closed
        fake.stop()


@pytest.mark.slow
def test_served_stalled_body_times_out_without_blocking_others(tmp_path: Path) -> None:
    with serve_fake(tmp_path, "--body-timeout", "2") as fake, _connect(fake.url) as sock:
        sock.sendall(_request_head(100) + b'{"video_url": ')  # then nothing more
        with fake.client() as client:  # another client is served meanwhile
            assert client.get("/_mock/health").json() == {"status": "ok"}
            created = client.post(CREATE_PATH, json=VALID_BODY, headers={"x-freepik-api-key": "k"})
            assert created.status_code == 200
        status, headers, body = _read_response(sock)
        assert status == 408
        assert json.loads(body) == {"message": "Request body not received within 2 s"}
        assert headers["connection"] == "close"
        assert fake.stop() == 0


@pytest.mark.slow
def test_served_idle_connection_is_closed_after_keep_alive_timeout(tmp_path: Path) -> None:
    with serve_fake(tmp_path, "--keep-alive-timeout", "1") as fake, _connect(fake.url) as sock:
        sock.sendall(b"GET /_mock/health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        status, _, _ = _read_response(sock)
        assert status == 200
        assert sock.recv(1) == b""  # the server hangs up on the idle connection
        fake.stop()


def test_client_hanging_up_mid_body_is_not_a_server_error() -> None:
    messages: list[dict[str, object]] = [
        {"type": "http.request", "body": b'{"video_url": ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        app = create_app(MockConfig())
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": CREATE_PATH,
            "raw_path": CREATE_PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"x-freepik-api-key", b"k"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
        }
        try:
            await app(scope, receive, send)  # does not raise
        finally:
            await app.state.mock.shutdown()

    asyncio.run(run())
    assert sent == []  # no 500 sent to a client that is gone


def test_the_body_guard_refuses_a_stalled_body_and_leaves_others_alone() -> None:
    limits = BodyLimits(max_body_bytes=10, body_timeout=0.2)

    async def scenario() -> tuple[str, str, str]:
        never = asyncio.Event()

        async def stalled() -> Message:
            await never.wait()
            return {"type": "http.request", "body": b"", "more_body": False}

        async def arrived() -> Message:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def too_big() -> Message:
            return {"type": "http.request", "body": b"x" * 11, "more_body": True}

        async def outcome(receive: Any) -> str:
            try:
                await limits.guard(receive)()
            except BodyTimedOut:
                return "408"
            except BodyTooLarge:
                return "413"
            return "read"

        results = await asyncio.gather(outcome(stalled), outcome(arrived), outcome(too_big))
        return results[0], results[1], results[2]

    assert asyncio.run(scenario()) == ("408", "read", "413")


def test_served_head_over_the_limit_is_431_whatever_the_http_implementation(
    tmp_path: Path,
) -> None:
    with serve_fake(tmp_path, "--max-header-bytes", "4096") as fake:
        with fake.client() as client:
            big = client.get(
                "/v1/ai/reference-to-video/kling-v3-omni",
                headers={"x-freepik-api-key": "k", "x-padding": "a" * 1024 * 1024},
            )
            small = client.get(
                "/v1/ai/reference-to-video/kling-v3-omni",
                headers={"x-freepik-api-key": "k", "x-padding": "a" * 2048},
            )
        fake.stop()
    assert big.status_code == 431
    assert big.json() == {"message": "Request headers are larger than the limit of 4096 bytes"}
    assert small.status_code == 200


def test_a_head_is_measured_as_sent() -> None:
    limits = BodyLimits(max_header_bytes=100)
    scope = {"raw_path": b"/v1/x", "query_string": b"", "headers": [(b"h", b"v" * 70)]}
    assert not limits.head_too_large(scope)
    scope["headers"] = [(b"h", b"v" * 80)]
    assert limits.head_too_large(scope)
