"""The readable summary ``python -m contract_tests`` prints after pytest's own output.

:class:`SummaryCollector` is a pytest plugin object passed to ``pytest.main`` by the
command only. It collects each check's outcome, reads the session's ledger (examples
per check, the minimal failure of each), and tells contract failures apart from
network failures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .outcome import DIFF_REPORT_KEY, EXIT_UNREACHABLE, LEDGER_KEY

if TYPE_CHECKING:
    from .differential import DifferentialReport
    from .session import Ledger

__all__ = ["CheckResult", "SummaryCollector"]

_NETWORK_MARKERS = ("TargetUnreachable", "network failure")


@dataclass
class CheckResult:
    name: str
    outcome: str  # passed, failed, skipped, network
    detail: str = ""
    seconds: float = 0.0


@dataclass(eq=False)  # a pytest plugin: pytest 9 keeps plugins in sets
class SummaryCollector:
    target: str
    profile: str = "observed"
    results: dict[str, CheckResult] = field(default_factory=dict)
    ledger: Ledger | None = None
    diff_report: DifferentialReport | None = None
    stopped: str = ""

    # pytest hooks ----------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::")[-1]
        if report.when == "call" or report.outcome != "passed":
            text = report.longreprtext if report.failed else ""
            outcome: str = report.outcome
            if report.failed and any(marker in text for marker in _NETWORK_MARKERS):
                outcome = "network"
            detail = ""
            if report.skipped and isinstance(report.longrepr, tuple):
                detail = str(report.longrepr[2]).removeprefix("Skipped: ")
            elif report.failed:
                detail = _last_error_line(text)
            if name not in self.results or self.results[name].outcome == "passed":
                self.results[name] = CheckResult(name, outcome, detail, report.duration)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.stopped = str(excinfo.value)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.ledger = session.config.stash.get(LEDGER_KEY, None)
        self.diff_report = session.config.stash.get(DIFF_REPORT_KEY, None)

    # results ---------------------------------------------------------------------------

    def exit_code(self, pytest_code: int) -> int:
        outcomes = {r.outcome for r in self.results.values()}
        if "network" in outcomes and "failed" not in outcomes:
            return EXIT_UNREACHABLE
        return pytest_code

    def _examples(self, name: str) -> int:
        return self.ledger.examples.get(name, 0) if self.ledger else 0

    def to_json(self, exit_code: int) -> dict[str, Any]:
        failures = self.ledger.failures if self.ledger else {}
        return {
            "target": self.target,
            "profile": self.profile,
            "exit_code": exit_code,
            "stopped": self.stopped or None,
            "checks": [
                {
                    "check": r.name,
                    "outcome": r.outcome,
                    "examples": self._examples(r.name),
                    "seconds": round(r.seconds, 3),
                    "detail": r.detail,
                    "failure": failures[r.name].to_json() if r.name in failures else None,
                }
                for r in self.results.values()
            ],
            "notes": list(self.ledger.notes) if self.ledger else [],
            "differential": self.diff_report.to_json() if self.diff_report else None,
        }

    def write_json(self, path: Path, exit_code: int) -> None:
        path.write_text(json.dumps(self.to_json(exit_code), indent=2, ensure_ascii=False) + "\n")

    def render(self, exit_code: int) -> str:
        results = list(self.results.values())
        total = sum(self._examples(r.name) for r in results)
        lines = ["", f"== contract summary: {self.target} (profile {self.profile}) ==", ""]
        if self.stopped:
            lines += [f"STOPPED: {self.stopped}", ""]
        width = max((len(r.name) for r in results), default=10)
        label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "network": "NET "}
        for r in results:
            count = self._examples(r.name)
            line = (
                f"  {label.get(r.outcome, r.outcome)}  {r.name.ljust(width)}  {count:5d} requests"
            )
            if r.outcome == "skipped" and r.detail:
                line += f"  ({r.detail})"
            lines.append(line)
        failures = self.ledger.failures if self.ledger else {}
        failed = [r for r in results if r.outcome in ("failed", "network")]
        if failed:
            lines += ["", "Failures (each with its minimal request):"]
            for r in failed:
                lines.append(f"  {r.name}:")
                failure = failures.get(r.name)
                if failure is not None and r.outcome == "failed":
                    lines += [f"    {p}" for p in failure.problems]
                    lines += [
                        f"    request:  {failure.request}",
                        f"    response: {failure.response}",
                    ]
                else:
                    kind = (
                        "network failure (not a contract failure)" if r.outcome == "network" else ""
                    )
                    lines.append(f"    {kind}{': ' if kind else ''}{r.detail}")
        if self.diff_report is not None:
            lines += ["", self.diff_report.table()]
        if self.ledger and self.ledger.notes:
            lines += ["", "Notes:", *[f"  - {n}" for n in self.ledger.notes]]
        counts = {k: sum(r.outcome == k for r in results) for k in label}
        verdict = ", ".join(f"{n} {k}" for k, n in counts.items() if n) or "no checks ran"
        lines += ["", f"{verdict}; {total} requests in all (exit {exit_code})"]
        return "\n".join(lines)


def _last_error_line(text: str) -> str:
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    meaningful = [e for e in errors if e and not e.startswith(("+", "|", "-"))]
    return (meaningful or errors or [text.strip().splitlines()[-1] if text.strip() else ""])[0]
