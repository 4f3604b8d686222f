"""Load generators: wrk (the benchmark's default) and a small built-in one.

Both send one fixed request over N keep-alive connections for a fixed time and report
the same :class:`LoadResult`: requests per second, latency percentiles, and the
count of each status code (plus socket errors), so a cell can say which share of its
answers was not the one expected.

The built-in generator (asyncio, raw HTTP/1.1) needs nothing installed; it is slower
than wrk and is used by ``--quick`` when wrk is absent, and to send a fixed number of
requests (filling a store with 100,000 tasks).
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LoadResult",
    "Request",
    "builtin_load",
    "percentile",
    "send_count",
    "wrk_load",
    "wrk_script",
]

_MARKER = "BENCH-JSON "


@dataclass(frozen=True)
class Request:
    """One HTTP request, repeated by a load generator."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: Mapping[int, int]
    socket_errors: int = 0
    generator: str = "wrk"

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def unexpected_share(self, expected: int) -> float:
        """Share of answers that were not ``expected`` (socket errors count as such)."""
        total = sum(self.statuses.values()) + self.socket_errors
        if total == 0:
            return 1.0
        return 1.0 - self.statuses.get(expected, 0) / total


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _lua_string(value: str | bytes) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    escaped = "".join(
        ch if 32 <= ord(ch) < 127 and ch not in '\\"' else f"\\{ord(ch):03d}" for ch in text
    )
    return f'"{escaped}"'


# Counts statuses per thread and prints one JSON line (wrk's own summary only says
# "non-2xx or 3xx"). Latencies are in microseconds, the duration too.
_LUA_RESULTS = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%d":%d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    '@MARKER@{"requests":%d,"micros":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,'
      .. '"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
"""


def wrk_script(request: Request) -> str:
    """A wrk Lua script sending ``request`` and printing one JSON line of results."""
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    lines += [
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}"
        for name, value in request.headers.items()
    ]
    if request.body:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    lines.append(_LUA_RESULTS.replace("@MARKER@", _MARKER))
    return "\n".join(lines)


def parse_wrk_output(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            return LoadResult(
                requests=data["requests"],
                seconds=data["micros"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                statuses={int(code): n for code, n in data["statuses"].items()},
                socket_errors=data["socket_errors"],
                generator="wrk",
            )
    raise RuntimeError("wrk printed no result line:\n" + output[-2000:])


def wrk_load(
    wrk: str, port: int, request: Request, connections: int, seconds: float, threads: int = 1
) -> LoadResult:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "cell.lua"
        script.write_text(wrk_script(request))
        argv = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{request.path}",
        ]
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk exited {completed.returncode}: {completed.stderr.strip()}")
    return parse_wrk_output(completed.stdout)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.socket_errors = 0


async def _connection(
    port: int, payload: bytes, tally: _Tally, deadline: float, budget: list[int]
) -> None:
    writer: asyncio.StreamWriter | None = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline and (not budget or budget[0] > 0):
            if budget:
                budget[0] -= 1
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        tally.socket_errors += 1
    finally:
        if writer is not None:
            writer.close()


async def _run_builtin(
    port: int, request: Request, connections: int, seconds: float, count: int | None
) -> LoadResult:
    payload = request.encode(f"127.0.0.1:{port}")
    tally = _Tally()
    budget = [count] if count is not None else []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_connection(port, payload, tally, deadline, budget) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return LoadResult(
        requests=len(ordered),
        seconds=elapsed,
        p50_ms=percentile(ordered, 50) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
        statuses=dict(tally.statuses),
        socket_errors=tally.socket_errors,
        generator="built-in",
    )


def builtin_load(port: int, request: Request, connections: int, seconds: float) -> LoadResult:
    """``request`` over ``connections`` keep-alive connections for ``seconds``."""
    return asyncio.run(_run_builtin(port, request, connections, seconds, None))


def send_count(
    port: int, request: Request, count: int, connections: int = 16, timeout: float = 300
) -> LoadResult:
    """Send ``request`` exactly ``count`` times (unless ``timeout`` runs out first)."""
    return asyncio.run(_run_builtin(port, request, connections, timeout, count))
