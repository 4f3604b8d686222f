"""Helpers for tests that run the contract suite as a user would: as a separate program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import serve_fake

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
# Enough to exercise every check; CI stays fast (the benchmark measures the full size).
CI_EXAMPLES = "8"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment, minus any real key, with the broken variants importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("FREEPIK_API_KEY", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


@dataclass
class ContractRun:
    code: int
    output: str
    report: dict[str, Any] | None

    def check(self, name: str) -> dict[str, Any]:
        assert self.report is not None, self.output
        for check in self.report["checks"]:
            if check["check"] == name:
                return dict(check)
        raise AssertionError(f"no check {name} in the report:\n{self.output}")

    def failed_checks(self) -> set[str]:
        assert self.report is not None, self.output
        return {c["check"] for c in self.report["checks"] if c["outcome"] == "failed"}


def run_contract(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> ContractRun:
    """``python -m contract_tests ARGS --report-json``, in ``cwd``; the report parsed."""
    report = cwd / "contract-report.json"
    report.unlink(missing_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "contract_tests", "--report-json", str(report), *args],
        cwd=cwd,
        env=env or environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = completed.stdout + completed.stderr
    data = json.loads(report.read_text()) if report.exists() else None
    return ContractRun(completed.returncode, output, data)


@contextmanager
def served_fake(*options: str) -> Iterator[str]:
    """``freepik-mock serve --port 0 OPTIONS`` on 127.0.0.1; yields its base URL, then stops it."""
    with tempfile.TemporaryDirectory() as folder, serve_fake(Path(folder), *options) as served:
        yield served.url
