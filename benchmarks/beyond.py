"""Measurements beyond requests per second.

Start-up to the first 200 and idle memory (the fake and each server beside it), memory
and p99 latency once 100,000 tasks are stored, the cost of one in-process call (the kit's
respx harness, ``FreepikMock``, with an async and a sync httpx client; httpx's ASGI
transport; and a generic respx route forwarding to that transport), create latency while 1,000
webhooks wait on a slow receiver, and the contract suite's time for 300 examples.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx

from .cells import CELLS, CREATE_PATH, INVALID_BODY, VALID_BODY, Target, create_request
from .load import LoadResult, send_count
from .procs import LOOPBACK, ProcessSet, ServerProcess, free_port, http_request
from .suite import (
    BARE,
    FAKE,
    MOCKOON,
    PRISM_SILENT,
    SEED_SPEC,
    SETTLE_AFTER_CREATE,
    WIREMOCK,
    LoadGenerator,
    PeerSetup,
    bare_command,
    fake_command,
    mockoon_process,
    prepare_fake,
    ready_fake,
    wiremock_process,
)
from .tools import BENCH_DIR, REPO_ROOT, prism_command

__all__ = [
    "FRESH_REFUSAL",
    "AccessLogCheck",
    "ContractSpeed",
    "InProcess",
    "Startup",
    "StoredTasks",
    "WebhooksPending",
    "check_access_log",
    "measure_contract_speed",
    "measure_inprocess",
    "measure_startup",
    "measure_stored_tasks",
    "measure_webhooks_pending",
]

MIB = 1024 * 1024
_GET_BY_ID = next(cell for cell in CELLS if cell.key == "get_by_id")
_VALID_POST = next(cell for cell in CELLS if cell.key == "valid_post")


# -- start-up and idle memory ------------------------------------------------------------


@dataclass
class Startup:
    """Seconds from process start to the first 200, and resident memory once idle."""

    seconds: list[float]
    idle_rss: int

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def _startup_server(
    name: str, port: int, log_dir: Path, fake_args: Sequence[str], peers: PeerSetup | None
) -> ServerProcess:
    label = f"startup-{name}"
    if name == FAKE:
        return ServerProcess(label, fake_command(port, *fake_args), port, log_dir)
    if name == BARE:
        # uvicorn's own settings: the fake's are imported from the fake's package.
        return ServerProcess(label, bare_command(port, "stock"), port, log_dir, REPO_ROOT)
    if name in (WIREMOCK, MOCKOON):
        if peers is None:
            raise ValueError(f"{name} needs a PeerSetup (prepare_peers)")
        if name == WIREMOCK:
            return wiremock_process(peers, port, log_dir, label)
        # Both documents, as in the socket rounds; the first answer comes from the seed's.
        return mockoon_process(peers, {"seed": port, "tasks": free_port()}, log_dir, label)
    argv = prism_command(SEED_SPEC, port, "silent")
    return ServerProcess(label, argv, port, log_dir)


_SETTLE_SECONDS = 0.3


def measure_startup(
    procs: ProcessSet,
    log_dir: Path,
    names: Sequence[str],
    repeats: int,
    idle_wait: float = 1.0,
    fake_args: Sequence[str] = (),
    peers: PeerSetup | None = None,
) -> dict[str, Startup]:
    """Start each of ``names`` (fake, bare, prism_silent, wiremock, mockoon) ``repeats``
    times, taking turns so that machine noise hits all alike; RSS once idle after the
    last start of each. ``fake_args`` go to ``freepik-mock serve``; WireMock and Mockoon
    need ``peers``. The first answer is the same for all: 200 to a valid create."""
    seconds: dict[str, list[float]] = {name: [] for name in names}
    idle_rss = dict.fromkeys(names, 0)
    for number in range(repeats):
        for name in names:
            # Each start on a settled machine: a process just stopped (Prism's node
            # especially) still costs CPU for a moment and would slow whoever comes next.
            time.sleep(_SETTLE_SECONDS)
            port = free_port()
            server = _startup_server(name, port, log_dir, fake_args, peers)
            env = {"SCARF_ANALYTICS": "false"} if name == PRISM_SILENT else None
            procs.add(server).start(env)
            try:
                seconds[name].append(ready_fake(server))
                if number == repeats - 1:
                    time.sleep(idle_wait)
                    idle_rss[name] = server.rss()
            finally:
                procs.stop(server)
    return {name: Startup(seconds[name], idle_rss[name]) for name in names}


# -- a store with 100,000 tasks ------------------------------------------------------------


@dataclass
class StoredTasks:
    count: int
    fill_seconds: float
    fill_unexpected: float
    rss_before: int
    rss_after: int
    # cell key -> (p99 per round on an empty store, p99 per round on the full one)
    p99_empty: dict[str, list[float]] = field(default_factory=dict)
    p99_full: dict[str, list[float]] = field(default_factory=dict)
    rps_empty: dict[str, list[float]] = field(default_factory=dict)
    rps_full: dict[str, list[float]] = field(default_factory=dict)
    connections: int = 64

    @property
    def rss_cost(self) -> int:
        return self.rss_after - self.rss_before


def measure_stored_tasks(
    procs: ProcessSet,
    log_dir: Path,
    generate: LoadGenerator,
    *,
    count: int,
    connections: int,
    seconds: float,
    rounds: int,
    settle: float = SETTLE_AFTER_CREATE,
) -> StoredTasks:
    """Two fakes side by side: one emptied before each cell, one holding ``count`` tasks.

    The tasks are created through the API (valid POSTs over 16 connections), so they
    take the same path into the store as any client's, and they are left to finish
    their lifecycle (COMPLETED, with a result URL) before memory is read.
    """
    ports = {"empty": free_port(), "full": free_port()}
    servers = {
        kind: procs.add(ServerProcess(f"stored-{kind}", fake_command(port), port, log_dir))
        for kind, port in ports.items()
    }
    targets = {kind: Target(FAKE, kind, {"seed": port}) for kind, port in ports.items()}
    try:
        for server in servers.values():
            server.start()
            ready_fake(server)
        full = servers["full"]
        create = create_request(VALID_BODY)
        send_count(full.port, create, 500, connections=16)  # warm every code path
        prepare_fake(targets["full"])
        time.sleep(settle)
        rss_before = full.rss()
        started = time.perf_counter()
        filled = send_count(full.port, create, count, connections=16, timeout=600)
        fill_seconds = time.perf_counter() - started
        time.sleep(settle)
        rss_after = full.rss()
        result = StoredTasks(
            count=filled.statuses.get(200, 0),
            fill_seconds=fill_seconds,
            fill_unexpected=filled.unexpected_share(200),
            rss_before=rss_before,
            rss_after=rss_after,
            connections=connections,
        )
        for number in range(rounds):
            order = ("empty", "full") if number % 2 == 0 else ("full", "empty")
            for cell in (_VALID_POST, _GET_BY_ID):
                for kind in order:
                    target = targets[kind]
                    if kind == "empty":
                        prepare_fake(target)
                    load = generate(target.ports["seed"], cell, target, connections, seconds)
                    p99 = result.p99_empty if kind == "empty" else result.p99_full
                    rps = result.rps_empty if kind == "empty" else result.rps_full
                    p99.setdefault(cell.key, []).append(load.p99_ms)
                    rps.setdefault(cell.key, []).append(load.rps)
                    time.sleep(settle if cell is _VALID_POST else 0.3)
        return result
    finally:
        for server in servers.values():
            procs.stop(server)


# -- in-process calls ---------------------------------------------------------------------


@dataclass
class InProcess:
    """Microseconds per call, by way and cell; ``app_only`` drives the ASGI app directly."""

    calls: int
    asgi_transport: dict[str, float]
    respx_route: dict[str, float]
    app_only_fake: dict[str, float]
    app_only_bare: dict[str, float]
    # The kit's own respx harness (FreepikMock, what the freepik_mock fixture gives):
    # the way users call the fake in-process, by an async and a sync httpx client.
    kit_async: dict[str, float] = field(default_factory=dict)
    kit_sync: dict[str, float] = field(default_factory=dict)
    # A round trip onto an event loop on another thread and back, doing nothing: what the
    # kit's hop onto the app's own loop costs by itself ("sync": from a blocked thread,
    # "async": awaited from another loop).
    thread_hop: dict[str, float] = field(default_factory=dict)


async def _time_calls(calls: int, call: Callable[[], Awaitable[int]], expected: int) -> float:
    for _ in range(min(50, calls)):  # warm-up
        if await call() != expected:
            raise RuntimeError(f"in-process call did not answer {expected}")
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def _asgi_scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8080")]
        + [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def _asgi_call(app: Any, scope: dict[str, Any], body: bytes) -> int:
    """One request straight into an ASGI app: no socket, no HTTP parser, no client."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


# Key of the in-process refusal whose field values are new every time.
FRESH_REFUSAL = "invalid_post_fresh"


def _renewed(value: object, n: int) -> object:
    """``value`` made new for the n-th call, failing the same rule (a string gets a
    suffix, a number above a maximum grows)."""
    if isinstance(value, str):
        return f"{value} {n}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + n
    return value


async def _inprocess(calls: int) -> InProcess:
    from mockserver import MockConfig, create_app

    from .bare_app import create_bare_app

    app = create_app(MockConfig())
    create = create_request(VALID_BODY)
    base = "https://api.freepik.com"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        answer = await client.post(CREATE_PATH, content=create.body, headers=dict(create.headers))
        task_id = answer.json()["data"]["task_id"]
        asgi = await _time_async_client(client, task_id, calls)

    async def forward(request: httpx.Request) -> httpx.Response:
        return await transport.handle_async_request(request)

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.freepik.com").mock(side_effect=forward)
        async with httpx.AsyncClient(base_url=base) as client:
            routed = await _time_async_client(client, task_id, calls)

    kit_async, kit_sync = await _kit_calls(calls)
    hop = await _thread_hop(calls)

    fake_only: dict[str, float] = {}
    bare_only: dict[str, float] = {}
    bare = create_bare_app()
    for cell in CELLS:
        request = cell.request(task_id)
        scope = _asgi_scope(request.method, request.path, dict(request.headers))

        async def fake_call(scope: dict[str, Any] = scope, body: bytes = request.body) -> int:
            return await _asgi_call(app, scope, body)

        async def bare_call(scope: dict[str, Any] = scope, body: bytes = request.body) -> int:
            return await _asgi_call(bare, scope, body)

        fake_only[cell.key] = await _time_calls(calls, fake_call, cell.expected)
        bare_only[cell.key] = await _time_calls(calls, bare_call, 200)
    # The fake keeps the errors of short field values it has refused before; the socket
    # cell repeats one body, so this measures a refusal whose every value is new.
    fresh = iter(range(10**9))
    invalid = create_request(INVALID_BODY)
    scope = _asgi_scope(invalid.method, invalid.path, dict(invalid.headers))

    async def fresh_refusal() -> int:
        n = next(fresh)
        body = {k: _renewed(v, n) for k, v in INVALID_BODY.items()}
        return await _asgi_call(app, scope, json.dumps(body).encode())

    fake_only[FRESH_REFUSAL] = await _time_calls(calls, fresh_refusal, 400)
    await app.state.mock.shutdown()
    return InProcess(calls, asgi, routed, fake_only, bare_only, kit_async, kit_sync, hop)


async def _thread_hop(calls: int) -> dict[str, float]:
    """Microseconds of a round trip onto a loop on another thread and back, with nothing
    done there, as the kit's harness makes it (``asyncio.run_coroutine_threadsafe``)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="hop-loop", daemon=True)
    thread.start()

    async def nothing() -> int:
        return 200

    async def sync_hop() -> int:
        return asyncio.run_coroutine_threadsafe(nothing(), loop).result()

    async def async_hop() -> int:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(nothing(), loop))

    try:
        return {
            "sync": await _time_calls(calls, sync_hop, 200),
            "async": await _time_calls(calls, async_hop, 200),
        }
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


async def _kit_calls(calls: int) -> tuple[dict[str, float], dict[str, float]]:
    """Calls through the kit's harness as a test makes them: ``FreepikMock()`` started
    (as the ``freepik_mock`` fixture does), plain httpx clients aimed at the API host,
    the app answering in its own loop on the harness's thread."""
    from mockserver.testing import DEFAULT_BASE_URL, FreepikMock

    create = create_request(VALID_BODY)
    with FreepikMock():
        async with httpx.AsyncClient(base_url=DEFAULT_BASE_URL) as client:
            answer = await client.post(
                CREATE_PATH, content=create.body, headers=dict(create.headers)
            )
            task_id = answer.json()["data"]["task_id"]
            timed_async = await _time_async_client(client, task_id, calls)
        with httpx.Client(base_url=DEFAULT_BASE_URL) as sync_client:
            timed_sync = await _time_sync_client(sync_client, task_id, calls)
    return timed_async, timed_sync


async def _time_async_client(
    client: httpx.AsyncClient, task_id: str, calls: int
) -> dict[str, float]:
    """Microseconds per valid POST and per GET by id of ``task_id`` through ``client``."""
    create, get = create_request(VALID_BODY), _GET_BY_ID.request(task_id)

    async def post_call() -> int:
        response = await client.post(CREATE_PATH, content=create.body, headers=dict(create.headers))
        return response.status_code

    async def get_call() -> int:
        return (await client.get(get.path, headers=dict(get.headers))).status_code

    return {
        "valid_post": await _time_calls(calls, post_call, 200),
        "get_by_id": await _time_calls(calls, get_call, 200),
    }


async def _time_sync_client(client: httpx.Client, task_id: str, calls: int) -> dict[str, float]:
    """:func:`_time_async_client` for a sync client (each call blocks the loop timing it)."""
    create, get = create_request(VALID_BODY), _GET_BY_ID.request(task_id)

    async def post_call() -> int:
        return client.post(
            CREATE_PATH, content=create.body, headers=dict(create.headers)
        ).status_code

    async def get_call() -> int:
        return client.get(get.path, headers=dict(get.headers)).status_code

    return {
        "valid_post": await _time_calls(calls, post_call, 200),
        "get_by_id": await _time_calls(calls, get_call, 200),
    }


def measure_inprocess(calls: int) -> InProcess:
    return asyncio.run(_inprocess(calls))


# -- webhooks pending to a slow receiver ----------------------------------------------------


@dataclass
class WebhooksPending:
    webhooks: int
    pending_before: int
    pending_after: int
    baseline: LoadResult
    # Creates across the moment the deliveries start (1 s after their tasks were made).
    starting: LoadResult
    loaded: LoadResult
    connections: int


def _pending(port: int) -> int:
    answer = http_request(port, "GET", "/_mock/webhooks?task_id=none", timeout=30)
    if answer is None or answer[0] != 200:
        raise RuntimeError(f"could not read the fake's webhook queue: {answer}")
    pending: int = json.loads(answer[1])["pending"]
    return pending


def _received(port: int) -> int:
    answer = http_request(port, "GET", "/count", timeout=5)
    return int(answer[1]) if answer is not None and answer[0] == 200 else 0


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


def measure_webhooks_pending(
    procs: ProcessSet,
    log_dir: Path,
    generate: LoadGenerator,
    *,
    webhooks: int,
    connections: int,
    seconds: float,
    receiver_delay: float = 60.0,
    settle: float = SETTLE_AFTER_CREATE,
) -> WebhooksPending:
    """Create latency before, and while, ``webhooks`` deliveries wait on a slow receiver."""
    receiver_port, fake_port = free_port(), free_port()
    receiver = ServerProcess(
        "slow-receiver",
        [sys.executable, "-m", "benchmarks.slow_receiver", "--port", str(receiver_port),
         "--delay", str(receiver_delay)],
        receiver_port,
        log_dir,
        REPO_ROOT,
    )  # fmt: skip
    # A webhook timeout longer than the measurement keeps every delivery in flight.
    fake = ServerProcess(
        "webhooks-fake", fake_command(fake_port, "--webhook-timeout", "120"), fake_port, log_dir
    )
    target = Target(FAKE, "fake", {"seed": fake_port})
    try:
        procs.add(receiver).start()
        _wait_port(receiver_port)
        procs.add(fake).start()
        ready_fake(fake)
        prepare_fake(target)
        time.sleep(settle)
        baseline = generate(fake_port, _VALID_POST, target, connections, seconds)
        prepare_fake(target)
        time.sleep(settle)
        hooked = create_request(
            {**VALID_BODY, "webhook_url": f"http://{LOOPBACK}:{receiver_port}/hook"}
        )
        send_count(fake_port, hooked, webhooks, connections=16)
        starting = generate(fake_port, _VALID_POST, target, connections, seconds)
        # Deliveries start when a task moves to IN_PROGRESS (1 s after creation).
        deadline = time.monotonic() + 15
        pending_before = _pending(fake_port)
        while pending_before < webhooks and time.monotonic() < deadline:
            time.sleep(0.2)
            pending_before = _pending(fake_port)
        # Let the first attempts reach the receiver (the fake's HTTP client opens at most
        # 100 connections; the rest wait in its pool), so the cell measures pending
        # webhooks rather than the burst of starting them.
        in_flight = min(webhooks, 100)
        while _received(receiver_port) < in_flight and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        loaded = generate(fake_port, _VALID_POST, target, connections, seconds)
        pending_after = _pending(fake_port)
        return WebhooksPending(
            webhooks, pending_before, pending_after, baseline, starting, loaded, connections
        )
    finally:
        procs.stop(fake)
        procs.stop(receiver)


# -- the contract suite's speed ---------------------------------------------------------------


@dataclass
class ContractSpeed:
    examples: int
    wall_seconds: float | None
    note: str


_WALL = re.compile(r"wall time including interpreter start-up:\s*([0-9.]+)\s*s")


def measure_contract_speed(examples: int = 300, timeout: float = 600) -> ContractSpeed:
    """Run ``benchmarks/contract_speed.py`` (written with the contract suite) if present."""
    script = BENCH_DIR / "contract_speed.py"
    if not script.exists():
        return ContractSpeed(
            examples, None, "not measured yet (benchmarks/contract_speed.py absent)"
        )
    try:
        completed = subprocess.run(
            [sys.executable, str(script), "--examples", str(examples)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ContractSpeed(examples, None, f"did not finish within {timeout:g} s")
    match = _WALL.search(completed.stdout)
    if completed.returncode != 0 or match is None:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-3:]
        return ContractSpeed(examples, None, "failed: " + " / ".join(tail))
    return ContractSpeed(examples, float(match.group(1)), "benchmarks/contract_speed.py")


# -- the access log ---------------------------------------------------------------------------


@dataclass
class AccessLogCheck:
    requests: int
    lines_default: int
    lines_with_flag: int


_ACCESS_LINE = re.compile(r'"(GET|POST) /\S* HTTP/1\.1" \d{3}')


def count_access_lines(text: str) -> int:
    return len(_ACCESS_LINE.findall(text))


def check_access_log(procs: ProcessSet, log_dir: Path, requests: int = 20) -> AccessLogCheck:
    """``freepik-mock serve`` writes no line per request unless ``--access-log`` asks."""
    counts: list[int] = []
    for extra in ((), ("--access-log",)):
        port = free_port()
        name = "access-log-on" if extra else "access-log-off"
        server = ServerProcess(name, fake_command(port, *extra), port, log_dir)
        procs.add(server).start()
        try:
            ready_fake(server)
            get = _GET_BY_ID.request("unknown")
            for _ in range(requests):
                http_request(port, get.method, get.path, dict(get.headers))
        finally:
            procs.stop(server)
        counts.append(count_access_lines(server.log_text()))
    return AccessLogCheck(requests, counts[0], counts[1])
