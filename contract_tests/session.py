"""What one contract run holds: its options, the spec, the open targets, and a ledger.

The test modules get a :class:`ContractSession` from the ``contract`` fixture and use
it to send requests, to build Hypothesis settings that honour ``--examples`` and the
spend cap, and to report a failed check. The :class:`Ledger` counts examples per check
and keeps the last failure of each: Hypothesis replays the minimal failing example
last, so that is the one a summary shows.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from .exchange import Auth, Exchange
from .operations import ContractSpec
from .targets import Target

__all__ = ["ContractOptions", "ContractSession", "ContractViolation", "Failure", "Ledger"]


@dataclass(frozen=True)
class ContractOptions:
    target: str = "fake"
    compare: str | None = None
    examples: int = 50
    record: Path | None = None
    allow_spend: int = 0
    api_key: str | None = field(default=None, repr=False)
    compare_api_key: str | None = field(default=None, repr=False)
    wait: float | None = None
    spec_dir: Path | None = None
    diff_json: Path | None = None


class ContractViolation(AssertionError):
    """A server's answer broke the contract; the message says how and shows the request."""


@dataclass
class Failure:
    check: str
    problems: list[str]
    request: str
    response: str

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "problems": self.problems,
            "request": self.request,
            "response": self.response,
        }


@dataclass
class Ledger:
    """Per check: how many examples ran, and the last (minimal) failure."""

    examples: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Failure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    current_check: str = ""


class ContractSession:
    def __init__(
        self,
        options: ContractOptions,
        spec: ContractSpec,
        target: Target,
        compare: Target | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.options = options
        self.spec = spec
        self.target = target
        self.compare = compare
        self.ledger = ledger if ledger is not None else Ledger()

    # Hypothesis settings -------------------------------------------------------------

    def settings(self, *, paid: bool = False, stateful: bool = False) -> settings:
        """Settings for one check: ``--examples``, and fewer where requests are slow or paid."""
        examples = self.options.examples
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
        if stateful:
            examples = max(2, examples // 5)
        if self.target.kind == "real":
            examples = min(examples, 10)
        if paid and self.target.budget is not None:
            # Every example is billed: no explicit extras, no shrinking of paid requests.
            examples = min(examples, self.target.budget.remaining)
            phases = [Phase.generate]
        return settings(
            max_examples=max(1, examples),
            stateful_step_count=6 if self.target.kind == "real" else 10,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )

    # Requests --------------------------------------------------------------------------

    def create(self, body: Any, *, auth: Auth = "key", paid: bool = False) -> Exchange:
        self._count()
        return self.target.send("POST", self.spec.create.path, body=body, auth=auth, paid=paid)

    def create_raw(self, raw: bytes) -> Exchange:
        self._count()
        return self.target.send("POST", self.spec.create.path, raw=raw)

    def get_task(self, task_id: str, *, auth: Auth = "key", count: bool = True) -> Exchange:
        if count:
            self._count()
        return self.target.send("GET", self.task_path(task_id), auth=auth)

    def list_tasks(
        self, query: dict[str, str] | None = None, *, auth: Auth = "key", count: bool = True
    ) -> Exchange:
        if count:
            self._count()
        return self.target.send("GET", self.spec.list.path, query=query, auth=auth)

    def task_path(self, task_id: str) -> str:
        path = self.spec.get.path
        name = next(p.name for p in self.spec.get.parameters if p.location == "path")
        return path.replace("{" + name + "}", task_id)

    @staticmethod
    def unknown_task_id() -> str:
        return str(uuid.uuid4())

    def _count(self) -> None:
        self.ledger.examples[self.ledger.current_check] += 1

    # Reporting -------------------------------------------------------------------------

    def verify(self, exchange: Exchange, problems: list[str], *, check: str | None = None) -> None:
        """Raise :class:`ContractViolation` if there are problems, and log the failure."""
        if not problems:
            return
        failure = Failure(
            check=check or self.ledger.current_check,
            problems=problems,
            request=exchange.describe_request(),
            response=exchange.describe_response(),
        )
        self.ledger.failures[failure.check] = failure
        lines = [*problems, f"request:  {failure.request}", f"response: {failure.response}"]
        raise ContractViolation("\n".join(lines))

    def note(self, text: str) -> None:
        if text not in self.ledger.notes:
            self.ledger.notes.append(text)
