"""Progress while the suite runs: one line per finished check, with requests and time left.

A run against a URL on the wall clock takes most of a minute; pytest's dots say nothing
about how far it got. :class:`ProgressReporter` is a pytest plugin object that the
command (``python -m contract_tests``) passes to ``pytest.main``: it replaces the dots
with one line per check (its outcome, its requests, the requests so far, the time spent
and an estimate of the time left) and, on a terminal only, keeps a live line updated
while a check runs. A live line rewritten with carriage returns would fill a CI log
with partial lines, so where the output is not a terminal only the per-check lines are
written: one line per check (about twenty) is not spam.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from .outcome import PROGRESS_KEY

__all__ = ["ProgressReporter", "format_seconds"]

_LABEL = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}
# A live line is redrawn at most this often (seconds).
_REDRAW = 0.2


def format_seconds(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


@dataclass(eq=False)  # a pytest plugin: pytest keeps plugins in sets
class ProgressReporter:
    live: bool | None = None  # None: when the output is a terminal
    clock: Callable[[], float] = time.monotonic
    total: int = 0
    done: int = 0
    requests: int = 0
    lines: list[str] = field(default_factory=list)
    _started: float = 0.0
    _check_started: float = 0.0
    _check: str = ""
    _outcome: str = "passed"
    _check_requests: int = 0
    _drawn: float = 0.0
    _terminal: Any = None

    # pytest hooks ----------------------------------------------------------------------

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PROGRESS_KEY] = self.on_request
        self._started = self.clock()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # The terminal reporter registers itself in its own pytest_configure.
        self._terminal = session.config.pluginmanager.get_plugin("terminalreporter")
        if self.live is None:
            self.live = bool(self._terminal is not None and self._terminal.isatty)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.total = len(session.items)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str] | None:
        # No dot per check: this plugin writes a line per check instead.
        if report.when == "call" or (report.when == "setup" and report.skipped):
            return report.outcome, "", report.outcome.upper()
        return None

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._check = nodeid.split("::")[-1]
        self._check_started = self.clock()
        self._outcome = "passed"
        self._check_requests = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome != "passed" and self._outcome != "failed":
            self._outcome = report.outcome
        if report.when == "teardown":
            self.done += 1
            self._write(self.check_line())

    # the counting ------------------------------------------------------------------------

    def on_request(self, check: str) -> None:
        self.requests += 1
        self._check_requests += 1
        now = self.clock()
        if self.live and now - self._drawn >= _REDRAW:
            self._drawn = now
            self._rewrite(self.live_line())

    def time_left(self) -> float | None:
        """The time the remaining checks will take at the pace of the finished ones."""
        if not self.done:
            return None
        elapsed = float(self.clock() - self._started)
        return elapsed / self.done * max(0, self.total - self.done)

    def check_line(self) -> str:
        seconds = self.clock() - self._check_started
        left = self.time_left()
        estimate = (
            "done"
            if self.done >= self.total
            else (f"about {format_seconds(left)} left" if left is not None else "estimating")
        )
        width = len(str(self.total))
        return (
            f"[{self.done:>{width}}/{self.total}] {_LABEL.get(self._outcome, self._outcome)}  "
            f"{self._check}: {self._check_requests} requests in {format_seconds(seconds)}; "
            f"{self.requests} sent so far, {format_seconds(self.clock() - self._started)} "
            f"elapsed, {estimate}"
        )

    def live_line(self) -> str:
        left = self.time_left()
        if left is not None:
            left = max(0.0, left - (self.clock() - self._check_started))
        width = len(str(self.total))
        estimate = f"about {format_seconds(left)} left" if left is not None else "estimating"
        return (
            f"[{self.done + 1:>{width}}/{self.total}] ....  {self._check}: "
            f"{self._check_requests} requests so far ({self.requests} in all), {estimate}"
        )

    # output ------------------------------------------------------------------------------

    def _write(self, line: str) -> None:
        self.lines.append(line)
        if self._terminal is None:
            return
        if self.live:
            self._terminal.rewrite(line, erase=True)
            self._terminal.write("\n")
        else:
            self._terminal.write_line(line)

    def _rewrite(self, line: str) -> None:
        if self._terminal is not None:
            self._terminal.rewrite(line, erase=True)
