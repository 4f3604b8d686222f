"""Processes the benchmark starts: servers on loopback ports, each stopped for sure.

Every process starts in its own process group, so stopping it also stops anything it
forked. :class:`ProcessSet` stops all of them when the run ends, fails, or is
interrupted (Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType, TracebackType

__all__ = [
    "LOOPBACK",
    "ProcessSet",
    "ServerProcess",
    "cpu_seconds",
    "free_port",
    "http_request",
    "http_status",
    "rss_bytes",
    "wait_for_status",
]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def http_request(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 5.0,
) -> tuple[int, bytes] | None:
    """One request over a fresh connection: (status, body), or None if nothing answered."""
    lines = [f"{method} {path} HTTP/1.1", f"host: {LOOPBACK}:{port}", "connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append(f"content-length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    received = b""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                received += chunk
    except OSError:
        if b"\r\n\r\n" not in received:
            return None
    head, _, payload = received.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    return int(parts[1]), payload


def http_status(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 2.0,
) -> int | None:
    answer = http_request(port, method, path, headers, body, timeout)
    return answer[0] if answer is not None else None


def wait_for_status(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    expect: int = 200,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> float:
    """Poll until a request answers ``expect``; the monotonic time it first did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before answering")
        if http_status(port, method, path, headers, body, timeout=1.0) == expect:
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError(f"nothing answered {expect} on port {port} within {timeout:g} s")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            todo += _children(current)
    return total


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) of a process and all its descendants,
    those that ended and were waited for included."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(value) for value in fields[11:15]) / _TICKS
            todo += _children(current)
    return total


class ServerProcess:
    """A server started from a command line, with its output kept in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_dir: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.log_path = log_dir / f"{name}.log"
        self.cwd = cwd
        # Added to the environment at every start (and to what start() is given).
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self, env: dict[str, str] | None = None) -> ServerProcess:
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env={**os.environ, **self.env, **(env or {})},
            start_new_session=True,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def wait_ready(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 60.0,
    ) -> float:
        """Seconds from process start to its first 200 for this request."""
        ready = wait_for_status(
            self.port,
            method,
            path,
            headers=headers,
            body=body,
            timeout=timeout,
            process=self.process,
        )
        return ready - self.started_at

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)


class ProcessSet:
    """Owns every process of a run and stops them all on exit, error, or signal."""

    def __init__(self) -> None:
        self._servers: list[ServerProcess] = []
        self._previous: dict[int, object] = {}

    def add(self, server: ServerProcess) -> ServerProcess:
        self._servers.append(server)
        return server

    def stop(self, server: ServerProcess) -> None:
        server.stop()
        with contextlib.suppress(ValueError):
            self._servers.remove(server)

    def server(self, name: str) -> ServerProcess:
        """The running server of that name."""
        return next(server for server in self._servers if server.name == name)

    def cpu(self, name: str) -> float:
        """CPU seconds used so far by the server ``name`` or its parts (``name-...``)."""
        return sum(
            server.cpu()
            for server in self._servers
            if server.name == name or server.name.startswith(f"{name}-")
        )

    def stop_all(self) -> None:
        while self._servers:
            self._servers.pop().stop()

    @contextlib.contextmanager
    def started(self, server: ServerProcess) -> Iterator[ServerProcess]:
        """Start ``server`` for the duration of a ``with`` block."""
        self.add(server).start()
        try:
            yield server
        finally:
            self.stop(server)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def __enter__(self) -> ProcessSet:
        self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_signal)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop_all()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
