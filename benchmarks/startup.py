"""Start-up of ``freepik-mock serve`` beside the bare Starlette app (and the peers), nothing else.

Process start to the first 200 on a valid create (the full run's start-up rows, measured
the same way), the servers taking turns so that machine noise hits all alike. Prints the
median of each and the ratios; no load generator, about ten seconds (a minute or two
with ``--prism`` or ``--peers``, which install the pinned tools first like the full run).

    python -m benchmarks.startup [--repeats 10] [--prism | --peers] [--serve-arg=--access-log ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .beyond import measure_startup
from .procs import ProcessSet
from .suite import BARE, FAKE, MOCKOON, PRISM_SILENT, WIREMOCK, prepare_peers
from .tools import SetupError, ensure_bytecode, ensure_java, ensure_npm_tools

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__)
    parser.add_argument("--repeats", type=int, default=10, help="start-ups of each (10)")
    parser.add_argument("--prism", action="store_true", help="also start Prism -v silent")
    parser.add_argument(
        "--peers", action="store_true", help="also start Prism -v silent, WireMock and Mockoon"
    )
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="pass ARG to freepik-mock serve (repeatable; write --serve-arg=--access-log)",
    )
    args = parser.parse_args(argv)
    try:
        java = "java"
        if args.prism or args.peers:
            ensure_npm_tools()
        if args.peers:
            java = ensure_java()
        ensure_bytecode()
    except SetupError as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    names = [FAKE, BARE]
    if args.prism or args.peers:
        names.append(PRISM_SILENT)
    if args.peers:
        names += [WIREMOCK, MOCKOON]
    with tempfile.TemporaryDirectory(prefix="freepik-mock-startup-") as logs, ProcessSet() as procs:
        peers = prepare_peers(Path(logs), java) if args.peers else None
        found = measure_startup(
            procs,
            Path(logs),
            names,
            args.repeats,
            idle_wait=0.0,
            fake_args=args.serve_arg,
            peers=peers,
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
        for peer in (WIREMOCK, MOCKOON):
            if peer in found:
                print(f"{peer} / Prism: {found[peer].median / prism:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
