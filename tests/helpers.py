"""Shared helpers for our own tests: an in-process client and a loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from mockserver import MockConfig, create_app

CREATE = "/v1/ai/reference-to-video/kling-v3-omni-std"
TASKS = "/v1/ai/reference-to-video/kling-v3-omni"
KEY = "test-key"
AUTH = {"x-freepik-api-key": KEY}
VIDEO = "https://example.com/reference.mp4"


def run_in_two_workers(
    folder: Path, tests: str, log: Path, *pytest_args: str
) -> subprocess.CompletedProcess[str]:
    """Run ``tests`` (a test file's text) in ``folder`` with pytest-xdist's two workers;
    the tests find ``log`` in ``WORKERS_LOG`` to note which worker ran them."""
    (folder / "test_workers.py").write_text(tests)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider",
         *pytest_args, "test_workers.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WORKERS_LOG": str(log)},
        check=False,
    )  # fmt: skip


def wait_until(
    predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` until it holds; fail saying ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def client_for(app: ASGIApp, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client talking to ``app`` in-process, as contract tests and users do."""
    transport = httpx.ASGITransport(app=app, **kwargs)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@contextlib.asynccontextmanager
async def fake_app(**config: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An in-process fake (manual clock unless told otherwise) and a client for it;
    every namespace it made is shut down after."""
    config.setdefault("clock", "manual")
    app = create_app(MockConfig(**config))
    async with client_for(app) as client:
        try:
            yield app, client
        finally:
            await app.state.namespaces.shutdown()


@contextlib.asynccontextmanager
async def fake(**config: Any) -> AsyncIterator[httpx.AsyncClient]:
    """:func:`fake_app`'s client alone."""
    async with fake_app(**config) as (_, client):
        yield client


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, **options: Any) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port in this event loop
    (``options``: more of ``uvicorn.Config``'s, e.g. ``http=``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, **options)
    )
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("video_url", VIDEO)
    response = await client.post(CREATE, json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def status_of(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"{TASKS}/{task_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    response = await client.post("/_mock/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text


def our_imports(module: str) -> set[str]:
    """The modules of ours that ``module`` (e.g. ``"mockserver.config"``) imports at run
    time, read from its source: imports under ``if TYPE_CHECKING:`` do not count."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    tree = ast.parse(Path(spec.origin).read_text())
    package = module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                visit(node.orelse)
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    found.add(f"{package}.{node.module}" if node.module else package)
                elif node.module and node.module.startswith("mockserver"):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("mockserver"))
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return found


# A signed result URL in the CDN's form (mockserver/results.py).
RESULT_URL = re.compile(
    r"^(?P<base>.+)/_mock/cdn/kling_(?P<task_id>[^/?]+)\.mp4"
    r"\?token=exp=(?P<expires>\d+)~hmac=[0-9a-f]{64}$"
)


def is_result_url(url: str, base: str, task_id: str) -> bool:
    """Whether ``url`` is the signed video URL of ``task_id`` under ``base``."""
    found = RESULT_URL.match(url)
    return found is not None and (found["base"], found["task_id"]) == (base, task_id)


@contextlib.contextmanager
def loopback_http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on a free 127.0.0.1 port, a thread per request; yields the
    server's base URL and stops it."""

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 1024  # hundreds of webhook deliveries may connect at once
        daemon_threads = True

    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
