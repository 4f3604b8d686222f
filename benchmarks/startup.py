"""Start-up of ``freepik-mock serve`` beside the bare Starlette app, nothing else.

Process start to the first 200 on a valid create (the same measure as the full run's
start-up row), started alternately so machine noise hits both alike. Prints the median
of each and the ratio; no Prism, no load generator, about ten seconds.

    python -m benchmarks.startup [--repeats 10] [--serve-arg=--no-cache ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from .procs import ProcessSet, ServerProcess, free_port
from .suite import bare_command, fake_command, ready_fake
from .tools import REPO_ROOT, ensure_bytecode

__all__ = ["main"]


def _once(procs: ProcessSet, log_dir: Path, name: str, serve_args: list[str]) -> float:
    port = free_port()
    if name == "fake":
        server = ServerProcess(name, fake_command(port, *serve_args), port, log_dir)
    else:
        server = ServerProcess(name, bare_command(port), port, log_dir, REPO_ROOT)
    procs.add(server).start()
    try:
        return ready_fake(server)
    finally:
        procs.stop(server)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=10, help="start-ups of each (10)")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to freepik-mock serve (repeatable; write --serve-arg=--no-cache)",
    )
    args = parser.parse_args(argv)
    ensure_bytecode()
    seconds: dict[str, list[float]] = {"fake": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="freepik-mock-startup-") as logs, ProcessSet() as procs:
        for _ in range(args.repeats):
            for name, found in seconds.items():
                found.append(_once(procs, Path(logs), name, args.serve_arg))
    for name, found in seconds.items():
        print(
            f"start-up {name}: median {statistics.median(found) * 1000:.0f} ms "
            f"(min {min(found) * 1000:.0f}, max {max(found) * 1000:.0f}, n={len(found)})"
        )
    fake, bare = (statistics.median(seconds[name]) for name in ("fake", "bare"))
    print(f"fake - bare: {(fake - bare) * 1000:.0f} ms; fake / bare: {fake / bare:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
