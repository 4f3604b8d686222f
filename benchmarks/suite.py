"""The socket benchmark: every server, every cell, interleaved rounds in one run.

The servers: the fake, Prism (``-v silent`` and default), WireMock (stubs made from the
fake's own answers, see :mod:`benchmarks.wiremock`), the Mockoon CLI (the vendored spec
imported), and a bare Starlette app (the ceiling).

Servers are started once and kept for the whole run; each round runs every cell at
every connection count against every server before the next round starts, with the
server order reversed every other round, so that machine noise (other work on the
same cores, a server's slow first cell) falls on all of them alike.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cells import API_KEY, CELLS, TASKS_PATH, VALID_BODY, Cell, Target, create_request
from .load import LoadResult, builtin_load, wrk_load
from .procs import LOOPBACK, ProcessSet, ServerProcess, free_port, http_request, wait_for_status
from .tools import REPO_ROOT, mockoon_command, prism_command, wiremock_jar
from .wiremock import (
    LIST_FILL,
    capture_fake_answers,
    stub_mappings,
    wiremock_command,
    write_mappings,
)

__all__ = [
    "BARE",
    "FAKE",
    "MOCKOON",
    "PRISM_DEFAULT",
    "PRISM_SILENT",
    "SERVERS",
    "WIREMOCK",
    "LoadGenerator",
    "PeerSetup",
    "SocketResults",
    "fake_command",
    "mockoon_process",
    "prepare_peers",
    "run_rounds",
    "start_targets",
    "warm_up",
    "wiremock_process",
]

FAKE, PRISM_SILENT, PRISM_DEFAULT, BARE = "fake", "prism_silent", "prism_default", "bare"
WIREMOCK, MOCKOON = "wiremock", "mockoon"
# Every server, in the order of the tables.
SERVERS = (FAKE, PRISM_SILENT, PRISM_DEFAULT, WIREMOCK, MOCKOON, BARE)
TITLES = {
    FAKE: "freepik-mock serve",
    PRISM_SILENT: "Prism -v silent",
    PRISM_DEFAULT: "Prism (default)",
    WIREMOCK: "WireMock",
    MOCKOON: "Mockoon CLI",
    BARE: "bare Starlette",
}
SEED_SPEC = REPO_ROOT / "openapi" / "kling-v3-omni-std.yaml"
TASKS_SPEC = REPO_ROOT / "openapi" / "kling-v3-omni-tasks.yaml"
# The fake's default lifecycle ends a task 3 s after creation: after a create cell,
# wait for those transitions before loading another server.
SETTLE_AFTER_CREATE = 3.5

LoadGenerator = Callable[[int, Cell, Target, int, float], LoadResult]


def fake_command(port: int, *extra: str) -> list[str]:
    """``freepik-mock serve`` from this interpreter's environment."""
    script = Path(sys.executable).parent / "freepik-mock"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "mockserver"]
    return [*head, "serve", "--host", LOOPBACK, "--port", str(port), *extra]


def bare_command(port: int, protocol: str = "fake") -> list[str]:
    """The bare app, served as the fake is (``protocol="stock"``: uvicorn's own class)."""
    return [
        sys.executable, "-m", "benchmarks.bare_app", "--port", str(port), "--protocol", protocol
    ]  # fmt: skip


_CREATE = create_request(VALID_BODY)


def ready_fake(server: ServerProcess) -> float:
    return server.wait_ready(
        _CREATE.method, _CREATE.path, headers=dict(_CREATE.headers), body=_CREATE.body
    )


def ready_prism(server: ServerProcess, document: str) -> float:
    if document == "seed":
        return ready_fake(server)
    return server.wait_ready("GET", "/v1/ai/reference-to-video/kling-v3-omni", headers=_AUTH)


_AUTH = {"x-freepik-api-key": API_KEY}
# Mockoon validates nothing: every cell gets the spec's 200 (an example, or no body).
_MOCKOON_EXPECTED = {cell.key: 200 for cell in CELLS}


@dataclass(frozen=True)
class PeerSetup:
    """What WireMock and Mockoon are started with in one run."""

    java: str
    jar: Path
    # WireMock's --root-dir: its stubs, made from the fake's answers, in mappings/.
    wiremock_root: Path
    # The task the fake's GET by id answered; WireMock's cell reads that id.
    task_id: str
    # HOME for Mockoon, which creates ~/.mockoon-cli even when it logs to stdout only.
    mockoon_home: Path


def prepare_peers(folder: Path, java: str) -> PeerSetup:
    """Capture the fake's answers in-process and write WireMock's stubs under ``folder``."""
    answers, task_id = capture_fake_answers()
    root = write_mappings(folder / "wiremock", stub_mappings(answers))
    home = folder / "mockoon-home"
    home.mkdir(parents=True, exist_ok=True)
    return PeerSetup(java, wiremock_jar(), root, task_id, home)


def wiremock_process(peers: PeerSetup, port: int, log_dir: Path, name: str) -> ServerProcess:
    argv = wiremock_command(peers.java, peers.jar, peers.wiremock_root, port)
    return ServerProcess(name, argv, port, log_dir)


def mockoon_process(
    peers: PeerSetup, ports: dict[str, int], log_dir: Path, name: str
) -> ServerProcess:
    """One Mockoon process serving the seed spec and the tasks document, a port each."""
    documents = [SEED_SPEC, TASKS_SPEC]
    argv = mockoon_command(documents, [ports["seed"], ports["tasks"]])
    env = {"HOME": str(peers.mockoon_home)}
    return ServerProcess(name, argv, ports["seed"], log_dir, env=env)


def start_targets(
    procs: ProcessSet, log_dir: Path, names: Sequence[str], peers: PeerSetup | None = None
) -> list[Target]:
    """Start the named servers (keys of :data:`TITLES`), ready to load; WireMock and
    Mockoon need ``peers``."""
    targets: list[Target] = []
    for name in names:
        if name in (WIREMOCK, MOCKOON) and peers is None:
            raise ValueError(f"{name} needs a PeerSetup (prepare_peers)")
        if name == WIREMOCK and peers is not None:
            port = free_port()
            server = procs.add(wiremock_process(peers, port, log_dir, WIREMOCK))
            server.start()
            ready_fake(server)
            targets.append(Target(WIREMOCK, TITLES[WIREMOCK], {"seed": port}, peers.task_id))
        elif name == MOCKOON and peers is not None:
            both = {"seed": free_port(), "tasks": free_port()}
            server = procs.add(mockoon_process(peers, both, log_dir, MOCKOON))
            server.start()
            ready_fake(server)
            wait_for_status(both["tasks"], "GET", TASKS_PATH, headers=_AUTH, process=server.process)
            targets.append(Target(MOCKOON, TITLES[MOCKOON], both, expected=dict(_MOCKOON_EXPECTED)))
        elif name == FAKE:
            port = free_port()
            server = procs.add(ServerProcess(FAKE, fake_command(port), port, log_dir))
            server.start()
            ready_fake(server)
            targets.append(Target(FAKE, TITLES[FAKE], {"seed": port}))
        elif name == BARE:
            port = free_port()
            server = procs.add(
                ServerProcess(BARE, bare_command(port), port, log_dir, cwd=REPO_ROOT)
            )
            server.start()
            ready_fake(server)
            expected = {cell.key: 200 for cell in CELLS}
            targets.append(Target(BARE, TITLES[BARE], {"seed": port}, expected=expected))
        else:
            verbosity = "silent" if name == PRISM_SILENT else None
            ports: dict[str, int] = {}
            for document, spec in (("seed", SEED_SPEC), ("tasks", TASKS_SPEC)):
                port = free_port()
                argv = prism_command(spec, port, verbosity)
                server = procs.add(ServerProcess(f"{name}-{document}", argv, port, log_dir))
                server.start({"SCARF_ANALYTICS": "false", "NO_COLOR": "1"})
                ready_prism(server, document)
                ports[document] = port
            targets.append(Target(name, TITLES[name], ports))
    return targets


def prepare_fake(target: Target) -> None:
    """Start a round from the same state: an empty store, then a full first page."""
    port = target.ports["seed"]
    answer = http_request(port, "POST", "/_mock/reset")
    if answer is None or answer[0] != 200:
        raise RuntimeError(f"could not reset the fake: {answer}")
    for _ in range(LIST_FILL):
        answer = http_request(port, "POST", _CREATE.path, dict(_CREATE.headers), _CREATE.body)
        if answer is None or answer[0] != 200:
            raise RuntimeError(f"could not create a task on the fake: {answer}")
        target.task_id = json.loads(answer[1])["data"]["task_id"]


def warm_up(target: Target, generate: LoadGenerator, connections: int, seconds: float) -> None:
    """Load every cell of ``target`` for ``seconds``, unrecorded: WireMock's JIT compiles
    its hot paths during the first seconds of load, which is not what a run measures."""
    for cell in CELLS:
        generate(target.port_for(cell), cell, target, connections, seconds)


def wrk_generator(wrk: str) -> LoadGenerator:
    def generate(
        port: int, cell: Cell, target: Target, connections: int, seconds: float
    ) -> LoadResult:
        return wrk_load(wrk, port, cell.request(target.task_id), connections, seconds)

    return generate


def builtin_generator(
    port: int, cell: Cell, target: Target, connections: int, seconds: float
) -> LoadResult:
    return builtin_load(port, cell.request(target.task_id), connections, seconds)


@dataclass
class SocketResults:
    """Every measured cell: results[target][cell][connections] = one result per round."""

    targets: list[Target]
    connections: tuple[int, ...]
    rounds: int
    seconds: float
    generator: str
    results: dict[str, dict[str, dict[int, list[LoadResult]]]] = field(default_factory=dict)
    # The server's CPU time per answered request, microseconds, one per round (same keys).
    cpu_us: dict[str, dict[str, dict[int, list[float]]]] = field(default_factory=dict)

    def add(
        self,
        target: Target,
        cell: Cell,
        connections: int,
        result: LoadResult,
        cpu_seconds: float | None = None,
    ) -> None:
        by_cell = self.results.setdefault(target.key, {}).setdefault(cell.key, {})
        by_cell.setdefault(connections, []).append(result)
        if cpu_seconds is not None and result.requests:
            cpu = self.cpu_us.setdefault(target.key, {}).setdefault(cell.key, {})
            cpu.setdefault(connections, []).append(cpu_seconds / result.requests * 1e6)

    def of(self, target: str, cell: str, connections: int) -> list[LoadResult]:
        return self.results.get(target, {}).get(cell, {}).get(connections, [])

    def target(self, key: str) -> Target | None:
        return next((t for t in self.targets if t.key == key), None)


def run_rounds(
    targets: list[Target],
    generate: LoadGenerator,
    *,
    generator_name: str,
    connections: Sequence[int],
    rounds: int,
    seconds: float,
    settle_after_create: float = SETTLE_AFTER_CREATE,
    pause: float = 0.3,
    progress: Callable[[str], None] = print,
    cpu_of: Callable[[str], float] | None = None,
) -> SocketResults:
    """Every cell against every target, ``rounds`` times; ``cpu_of(key)`` (the CPU seconds
    a server has used) gives each cell its CPU time per request, a figure that other
    work on the machine disturbs far less than req/s."""
    results = SocketResults(targets, tuple(connections), rounds, seconds, generator_name)
    for number in range(rounds):
        order = targets if number % 2 == 0 else list(reversed(targets))
        for target in targets:
            if target.key == FAKE:
                prepare_fake(target)
        for cell in CELLS:
            for count in connections:
                for target in order:
                    before = cpu_of(target.key) if cpu_of else None
                    result = generate(target.port_for(cell), cell, target, count, seconds)
                    used = cpu_of(target.key) - before if cpu_of and before is not None else None
                    results.add(target, cell, count, result, used)
                    unexpected = result.unexpected_share(target.expected_status(cell))
                    progress(
                        f"round {number + 1}/{rounds}  {cell.title:28} c={count:<3} "
                        f"{target.title:20} {result.rps:9,.0f} req/s  p50 {result.p50_ms:6.2f} "
                        f"ms  p99 {result.p99_ms:7.2f} ms  unexpected {unexpected:.1%}"
                    )
                    wait = (
                        settle_after_create
                        if (target.key == FAKE and cell.key == "valid_post")
                        else pause
                    )
                    time.sleep(wait)
    return results
