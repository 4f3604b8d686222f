"""The served protocols: each answer reaches the socket in one write, in order, whole."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, VIDEO, serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from mockserver import MockConfig, create_app
from mockserver.droppable import _CoalescingTransport, protocol_class

pytestmark = pytest.mark.anyio


class _RecordingTransport:
    """What the socket was asked to do."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_extra_info(self, name: str) -> Any:
        return ("127.0.0.1", 8080) if name == "sockname" else None


def _coalescing() -> tuple[_CoalescingTransport, _RecordingTransport]:
    raw = _RecordingTransport()
    return _CoalescingTransport(raw, asyncio.get_running_loop()), raw  # type: ignore[arg-type]


async def test_an_answers_writes_reach_the_socket_as_one_once_the_loop_turns() -> None:
    transport, raw = _coalescing()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert raw.writes == []
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert raw.writes[1:] == [b"next"]


async def test_closing_writes_what_is_pending_first_and_aborting_drops_it() -> None:
    transport, raw = _coalescing()
    transport.write(b"last answer")
    transport.close()
    assert raw.writes == [b"last answer"] and raw.closed

    transport, raw = _coalescing()
    transport.write(b"never seen")
    transport.abort()
    await asyncio.sleep(0)
    assert raw.writes == [] and raw.aborted


async def test_nothing_is_written_once_the_client_has_left() -> None:
    transport, raw = _coalescing()
    transport.write(b"too late")
    raw.closed = True  # the connection was lost before the loop turned
    await asyncio.sleep(0)
    assert raw.writes == []


async def test_the_rest_of_the_transport_is_the_sockets_own() -> None:
    transport, _ = _coalescing()
    assert transport.get_extra_info("sockname") == ("127.0.0.1", 8080)
    assert not transport.is_closing()


def _read_answers(sock: socket.socket, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` answers (status line, body) read off ``sock``, framed by content-length."""
    buffer = b""
    answers: list[tuple[bytes, bytes]] = []
    while len(answers) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} answers"
            buffer += chunk
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in lines
            if line.lower().startswith(b"content-length")
        )
        while len(buffer) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside a body"
            buffer += chunk
        answers.append((lines[0], buffer[:length]))
        buffer = buffer[length:]
    return answers


@pytest.mark.slow
@pytest.mark.parametrize("implementation", ["httptools", "h11"])
async def test_pipelined_requests_get_whole_answers_in_their_order(implementation: str) -> None:
    app = create_app(MockConfig(clock="manual"))
    body = json.dumps({"video_url": VIDEO}).encode()
    key = next(iter(AUTH.items()))
    create = (
        f"POST {CREATE} HTTP/1.1\r\nhost: x\r\n{key[0]}: {key[1]}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    head = b"HEAD /_mock/health HTTP/1.1\r\nhost: x\r\n\r\n"
    listing = f"GET {TASKS} HTTP/1.1\r\nhost: x\r\n{key[0]}: {key[1]}\r\n\r\n".encode()
    async with serve(app, http=protocol_class(implementation)) as url:
        port = int(url.rsplit(":", 1)[1])

        def conversation() -> list[tuple[bytes, bytes]]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(create + listing + create + listing)
                answers = _read_answers(sock, 4)
                sock.sendall(head)
                # A HEAD answer's head says a length but no body follows it.
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    assert chunk
                    data += chunk
                return [*answers, (data.split(b"\r\n", 1)[0], data.split(b"\r\n\r\n", 1)[1])]

        answers = await asyncio.to_thread(conversation)
        await app.state.mock.shutdown()
    statuses = [status for status, _ in answers]
    assert statuses == [b"HTTP/1.1 200 OK"] * 5
    first, second = json.loads(answers[0][1]), json.loads(answers[2][1])
    assert first["data"]["status"] == "CREATED"
    # Each list holds the creates answered before it, in the order they were sent.
    assert [t["task_id"] for t in json.loads(answers[1][1])["data"]] == [first["data"]["task_id"]]
    assert len(json.loads(answers[3][1])["data"]) == 2
    assert second["data"]["task_id"] in {t["task_id"] for t in json.loads(answers[3][1])["data"]}
    assert answers[4][1] == b""


# A fresh interpreter: this test process imported everything long ago.
H11_PROGRAM = """
import sys
from mockserver.droppable import protocol_class
protocol_class("httptools")
print("h11" in sys.modules)
print(protocol_class("h11").__mro__[1].__module__, "h11" in sys.modules)
"""


def test_h11_is_loaded_only_for_a_server_that_uses_it() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", H11_PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    # `serve` with httptools (the default) starts without importing h11 at all.
    assert completed.stdout.splitlines() == ["False", "uvicorn.protocols.http.h11_impl True"]


@pytest.mark.slow
@pytest.mark.parametrize("implementation", ["httptools", "h11"])
async def test_answers_larger_than_the_sockets_buffers_arrive_whole(
    implementation: str, tmp_path: Path
) -> None:
    # Past the transport's high-water mark uvicorn waits for the socket to drain
    # between writes: the joined writes must keep that working.
    video = tmp_path / "big.mp4"
    video.write_bytes(bytes(range(256)) * 40_000)  # 10 MB, read in chunks
    blob = os.urandom(4_000_000)

    async def file(request: Request) -> Response:
        return FileResponse(video, media_type="video/mp4")

    async def memory(request: Request) -> Response:
        return Response(blob, media_type="application/octet-stream")

    app = Starlette(routes=[Route("/file", file), Route("/memory", memory)])
    async with (
        serve(app, http=protocol_class(implementation)) as url,
        httpx.AsyncClient(base_url=url, trust_env=False) as client,
    ):
        got_file = await client.get("/file")
        got_memory = await client.get("/memory")
        again = await client.get("/file")  # the same keep-alive connection
    assert got_file.content == video.read_bytes()
    assert got_memory.content == blob
    assert again.status_code == 200 and len(again.content) == len(got_file.content)
