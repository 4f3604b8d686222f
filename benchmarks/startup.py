"""Start-up of ``freepik-mock serve`` beside the bare Starlette app (and Prism), nothing else.

Process start to the first 200 on a valid create (the full run's start-up row, measured
the same way), the servers taking turns so that machine noise hits all alike. Prints the
median of each and the ratios; no load generator, about ten seconds (a minute with
``--prism``, which installs the pinned Prism first like the full run).

    python -m benchmarks.startup [--repeats 10] [--prism] [--serve-arg=--no-cache ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .beyond import measure_startup
from .procs import ProcessSet
from .suite import BARE, FAKE, PRISM_SILENT
from .tools import SetupError, ensure_bytecode, ensure_prism

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=10, help="start-ups of each (10)")
    parser.add_argument("--prism", action="store_true", help="also start Prism -v silent")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to freepik-mock serve (repeatable; write --serve-arg=--no-cache)",
    )
    args = parser.parse_args(argv)
    try:
        if args.prism:
            ensure_prism()
        ensure_bytecode()
    except SetupError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    names = [FAKE, BARE, PRISM_SILENT] if args.prism else [FAKE, BARE]
    with tempfile.TemporaryDirectory(prefix="freepik-mock-startup-") as logs, ProcessSet() as procs:
        found = measure_startup(
            procs, Path(logs), names, args.repeats, idle_wait=0.0, fake_args=args.serve_arg
        )
    for name, startup in found.items():
        found_ms = [s * 1000 for s in startup.seconds]
        print(
            f"start-up {name}: median {startup.median * 1000:.0f} ms "
            f"(min {min(found_ms):.0f}, max {max(found_ms):.0f}, n={len(found_ms)})"
        )
    fake, bare = found[FAKE].median, found[BARE].median
    print(f"fake - bare: {(fake - bare) * 1000:.0f} ms; fake / bare: {fake / bare:.2f}x")
    if PRISM_SILENT in found:
        prism = found[PRISM_SILENT].median
        print(f"fake / Prism: {fake / prism:.2f}x; bare / Prism: {bare / prism:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
