"""Servers the benchmark starts answer on loopback and are stopped with all they forked."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from benchmarks.procs import (
    ProcessSet,
    ServerProcess,
    cpu_seconds,
    free_port,
    http_request,
    rss_bytes,
)
from benchmarks.tools import REPO_ROOT

# A server that also forks a child, as Prism's CLI can: stopping must end both.
SERVER = """
import http.server, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_a_server_is_ready_measured_and_stopped_with_its_children(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess("toy", [sys.executable, "-c", SERVER, str(port)], port, tmp_path)
    with ProcessSet() as procs:
        procs.add(server).start()
        startup = server.wait_ready("GET", "/")
        assert 0 < startup < 30
        assert http_request(port, "GET", "/") == (200, b'{"ok":true}')
        assert server.rss() > rss_bytes(int(server.log_text().split()[0]))  # parent + child
        child = int(server.log_text().split()[0])
        parent = server.pid
    deadline = time.monotonic() + 10
    while (alive(parent) or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(parent) and not alive(child)
    assert http_request(port, "GET", "/", timeout=1) is None


def test_a_server_that_dies_is_reported_not_waited_for(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess("dies", [sys.executable, "-c", "raise SystemExit(3)"], port, tmp_path)
    with ProcessSet() as procs:
        procs.add(server).start()
        with pytest.raises(RuntimeError, match="exited with 3"):
            server.wait_ready("GET", "/", timeout=30)


def test_the_bare_app_answers_its_constant_everywhere() -> None:
    import httpx

    from benchmarks.bare_app import BODY, create_bare_app

    async def fetch() -> list[tuple[int, bytes]]:
        transport = httpx.ASGITransport(app=create_bare_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = [await client.get("/v1/anything/123"), await client.post("/x", content=b"{")]
        return [(a.status_code, a.content) for a in answers]

    import asyncio

    assert asyncio.run(fetch()) == [(200, BODY), (200, BODY)]


def test_the_slow_receiver_holds_webhooks_and_counts_them(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.slow_receiver", "--port", str(port), "--delay", "30"]
    receiver = ServerProcess("receiver", argv, port, tmp_path, cwd=REPO_ROOT)
    with ProcessSet() as procs:
        procs.add(receiver).start()
        receiver.wait_ready("GET", "/count")
        assert http_request(port, "POST", "/hook", body=b"{}", timeout=0.5) is None  # held
        assert http_request(port, "GET", "/count") == (200, b"1")


def test_cpu_time_counts_a_busy_child_of_the_server(tmp_path: Path) -> None:
    # The parent sleeps while its child spins: the child's CPU counts for the server.
    spin = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    code = (
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {spin!r}])\n"
        "time.sleep(30)"
    )
    server = ServerProcess("spinner", [sys.executable, "-c", code], free_port(), tmp_path)
    with ProcessSet() as procs:
        procs.add(server).start()
        deadline = time.monotonic() + 20
        while cpu_seconds(server.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cpu_seconds(server.pid) >= 0.4
        assert procs.cpu("spinner") == pytest.approx(cpu_seconds(server.pid), abs=0.2)
