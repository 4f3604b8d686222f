"""Shared state's cost, in one interleaved run: req/s and p99 of a valid POST and a GET by
id on one in-memory worker, one worker on Redis and two workers on Redis.

A redis-server is started on a free loopback port with nothing saved to disk, and
stopped afterwards; without the binary the cell says so and measures nothing. Run it
alone with ``python -m benchmarks.shared_state [--seconds S] [--connections N]``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cells import CELLS, Cell, Target
from .load import LoadResult, builtin_load
from .procs import LOOPBACK, ProcessSet, ServerProcess, free_port
from .suite import LoadGenerator, fake_command, prepare_fake, ready_fake

__all__ = ["SETUPS", "SharedStateResult", "measure_shared_state"]

# (label, extra serve options; "{redis}" is the server's URL)
SETUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("memory, 1 worker", ()),
    ("Redis, 1 worker", ("--state", "{redis}")),
    ("Redis, 2 workers", ("--state", "{redis}", "--workers", "2")),
)
_CELLS = tuple(cell for cell in CELLS if cell.key in ("valid_post", "get_by_id"))


@dataclass
class SharedStateResult:
    connections: int
    seconds: float
    # label -> cell key -> result
    cells: dict[str, dict[str, LoadResult]] = field(default_factory=dict)
    note: str = ""

    def markdown(self) -> str:
        lines = [
            "## Shared state: workers on Redis beside one in-memory worker",
            "",
            f"{self.connections} connections, {self.seconds:g} s per cell, in one run.",
        ]
        if self.note:
            return "\n".join([*lines, "", self.note, ""])
        header = "| setup | " + " | ".join(f"{c.title} req/s | p99 ms" for c in _CELLS) + " |"
        lines += ["", header, "|---|" + "---:|---:|" * len(_CELLS)]
        for label, found in self.cells.items():
            row = [f"{found[c.key].rps:,.0f} | {found[c.key].p99_ms:.2f}" for c in _CELLS]
            lines.append(f"| {label} | " + " | ".join(row) + " |")
        return "\n".join([*lines, ""])


def _redis(procs: ProcessSet, log_dir: Path) -> tuple[ServerProcess, str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    command = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "",
               "--appendonly", "no", "--dir", str(log_dir)]  # fmt: skip
    server = ServerProcess("redis", command, port, log_dir)
    procs.add(server).start()
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return server, f"redis://{LOOPBACK}:{port}/0"
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start") from None
            time.sleep(0.02)


def measure_shared_state(
    procs: ProcessSet,
    log_dir: Path,
    generate: LoadGenerator,
    *,
    connections: int,
    seconds: float,
    rounds: int = 1,
) -> SharedStateResult:
    """Every setup, every cell, ``rounds`` times interleaved; the best round is kept
    per cell (machine noise only ever slows a cell down)."""
    result = SharedStateResult(connections, seconds)
    redis = _redis(procs, log_dir)
    if redis is None:
        result.note = "Not measured: redis-server is not installed."
        return result
    redis_server, url = redis
    fakes: list[tuple[str, ServerProcess, Target]] = []
    try:
        for label, extra in SETUPS:
            port = free_port()
            options = tuple(part.replace("{redis}", url) for part in extra)
            # Each setup its own database: the Redis setups must not see each other's tasks.
            options = tuple(
                o.replace("/0", f"/{len(fakes)}") if o.startswith("redis://") else o
                for o in options
            )
            fake = ServerProcess(f"shared-{len(fakes)}", fake_command(port, *options), port,
                                 log_dir)  # fmt: skip
            procs.add(fake).start()
            ready_fake(fake)
            fakes.append((label, fake, Target("fake", label, {"seed": port})))
        for _ in range(rounds):
            for label, fake, target in fakes:
                prepare_fake(target)
                for cell in _CELLS:
                    found = generate(fake.port, cell, target, connections, seconds)
                    best = result.cells.setdefault(label, {}).get(cell.key)
                    if best is None or found.rps > best.rps:
                        result.cells[label][cell.key] = found
        return result
    finally:
        for _, fake, _ in fakes:
            procs.stop(fake)
        procs.stop(redis_server)


def _builtin(port: int, cell: Cell, target: Target, connections: int, seconds: float) -> LoadResult:
    return builtin_load(port, cell.request(target.task_id), connections, seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_state")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="freepik-mock-shared-"))
    with ProcessSet() as procs:
        found = measure_shared_state(
            procs,
            log_dir,
            _builtin,
            connections=args.connections,
            seconds=args.seconds,
            rounds=args.rounds,
        )
    print(found.markdown())
    shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
