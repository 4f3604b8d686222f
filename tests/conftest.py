"""Shared helpers: a served ``freepik-mock serve`` process and a loopback webhook receiver.

Everything listens on 127.0.0.1 only, and every process or server a test starts, the
test (through these fixtures) stops.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import loopback_http_server

# The redis_server and redis_url fixtures (a real redis-server per session).
pytest_plugins = ["redis_server"]

CREATE_PATH = "/v1/ai/reference-to-video/kling-v3-omni-std"
LIST_PATH = "/v1/ai/reference-to-video/kling-v3-omni"
VALID_BODY: dict[str, Any] = {"video_url": "https://example.com/reference.mp4"}


@dataclass
class ServedFake:
    """A running ``freepik-mock serve`` subprocess."""

    process: subprocess.Popen[str]
    url: str
    log_path: Path
    reader: threading.Thread

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, **kwargs)

    def output(self) -> str:
        """Everything the server printed (stdout and stderr) so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            self.reader.join(5)  # everything it printed is in the log file


@contextlib.contextmanager
def serve_fake(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[ServedFake]:
    """Start ``freepik-mock serve --port 0 ARGS`` on 127.0.0.1; stop it afterwards."""
    log_path = tmp_path / f"serve-{os.urandom(4).hex()}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FREEPIK_MOCK_")}
    environ.update(env or {})
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mockserver",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=environ,
        )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if "serving on" not in first:
            process.wait(10)
            raise RuntimeError(f"freepik-mock serve did not start: {first}{log_path.read_text()}")
        url = first.rsplit(" ", 1)[-1].strip()
        # The rest of stdout goes to the log file too, read by a thread so it never blocks.
        with log_path.open("a") as log:
            log.write(first)
        reader = threading.Thread(target=_copy, args=(process.stdout, log_path), daemon=True)
        reader.start()
        yield ServedFake(process, url, log_path, reader)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _copy(stream: Any, path: Path) -> None:
    for line in stream:
        with path.open("a") as log:
            log.write(line)


@dataclass
class Receiver:
    """A loopback HTTP server recording the webhooks it receives."""

    url: str
    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    paths: list[str] = field(default_factory=list)
    condition: threading.Condition = field(default_factory=threading.Condition)
    redirect_to: str | None = None

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Wait until ``count`` webhooks were accepted (answered 2xx)."""
        with self.condition:
            return self.condition.wait_for(lambda: len(self.received) >= count, timeout)

    def bodies(self) -> list[dict[str, Any]]:
        with self.condition:
            return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.condition:
                state.attempts += 1
                state.paths.append(self.path)
                status = state.status
                if 200 <= status < 300:
                    state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    state.condition.notify_all()
            self.send_response(status)
            if state.redirect_to is not None:
                self.send_header("location", state.redirect_to)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with loopback_http_server(Handler) as base_url:
        state.url = base_url + "/hook"
        yield state


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
