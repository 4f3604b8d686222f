"""How long the contract suite takes against the in-process fake at 300 examples per check.

Prints figures only (no assertion): the wall time of the whole run as a user starts it
(``python -m contract_tests --examples 300``), and each check's own time and request
count. The issue's target: 300 examples in under 20 s on a 2-core machine.

    python benchmarks/contract_speed.py [--examples N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "contract_tests", "--examples", str(args.examples),
             "--report-json", str(report)],
            cwd=folder,
            capture_output=True,
            text=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        if not report.exists():
            print(completed.stdout + completed.stderr)
            return 1
        checks = json.loads(report.read_text())["checks"]
    if not checks:
        # Not a figure: say why and fail, so the benchmark reports "failed" and the reason.
        lines = (completed.stdout + completed.stderr).splitlines()
        tail = [line.strip() for line in lines if line.strip()][-3:]
        print(f"no check ran (exit {completed.returncode}): " + " / ".join(tail))
        return 1
    print(
        f"contract suite, in-process fake, --examples {args.examples} (exit {completed.returncode})"
    )
    print(f"{'check':45} {'requests':>9} {'seconds':>8}")
    for check in checks:
        print(f"{check['check']:45} {check['examples']:9d} {check['seconds']:8.2f}")
    requests = sum(c["examples"] for c in checks)
    busy = sum(c["seconds"] for c in checks)
    print(f"{'all checks':45} {requests:9d} {busy:8.2f}")
    print(f"wall time including interpreter start-up: {wall:.2f} s")
    slowest = max(checks, key=lambda c: c["seconds"])
    print(f"slowest check: {slowest['check']} ({slowest['seconds']:.2f} s for "
          f"{args.examples} examples)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
