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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from mockserver.spec import Operation

from .exchange import Auth, Exchange
from .operations import ContractSpec, Family
from .outcome import ProfileName
from .profiles import Profile, profile_named
from .targets import Target

# How many pages of a list are searched for a task.
_LIST_PAGES = 5

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
    families: tuple[str, ...] = ()  # only the task families whose path contains one
    diff_json: Path | None = None
    profile: ProfileName = "observed"


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
    # Called with the check's name after each request it counts (progress display).
    listeners: list[Callable[[str], None]] = field(default_factory=list)

    def count(self) -> None:
        """One more request sent by the current check."""
        self.examples[self.current_check] += 1
        for listener in self.listeners:
            listener(self.current_check)


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
        self.profile: Profile = profile_named(options.profile)

    # Hypothesis settings -------------------------------------------------------------

    def settings(self, *, paid: bool = False, stateful: bool = False, share: int = 1) -> settings:
        """Settings for one check: ``--examples``, and fewer where requests are slow or paid.

        ``share``: how many operations the check's examples are divided among (each of
        the family's creates, say), so a check costs about the same however many there are.
        """
        examples = self.options.examples
        phases = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
        if stateful:
            examples = max(2, examples // 5)
        examples = -(-examples // max(1, share))
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

    def create(
        self, operation: Operation, body: Any, *, auth: Auth = "key", paid: bool = False
    ) -> Exchange:
        self._count()
        return self.target.send("POST", operation.path, body=body, auth=auth, paid=paid)

    def create_raw(self, operation: Operation, raw: bytes) -> Exchange:
        self._count()
        return self.target.send("POST", operation.path, raw=raw)

    def get_task(
        self, family: Family, task_id: str, *, auth: Auth = "key", count: bool = True
    ) -> Exchange:
        if count:
            self._count()
        return self.target.send("GET", family.task_path(task_id), auth=auth)

    def list_tasks(
        self,
        family: Family,
        query: dict[str, str] | None = None,
        *,
        auth: Auth = "key",
        count: bool = True,
    ) -> Exchange:
        if count:
            self._count()
        return self.target.send("GET", family.list.path, query=query, auth=auth)

    def listed(self, family: Family, task_id: str) -> tuple[bool, Exchange]:
        """Whether ``task_id`` is in the family's list (its first pages), and the last answer.

        Paging is read off the parameters' shapes, not their names: an integer with a
        maximum is a page size (set to that maximum), one with a minimum only is a page
        number (counted up from it).
        """
        parameters = [p for p in family.query_parameters() if p.schema.get("type") == "integer"]
        sizes = {p.name: p.schema["maximum"] for p in parameters if "maximum" in p.schema}
        pages = [p for p in parameters if p.name not in sizes]
        page_param = pages[0] if len(pages) == 1 else None
        first = int(page_param.schema.get("minimum", 1)) if page_param is not None else 1
        largest = min(sizes.values(), default=None)
        exchange: Exchange | None = None
        for page in range(first, first + _LIST_PAGES):
            query = {name: str(size) for name, size in sizes.items()}
            if page_param is not None:
                query[page_param.name] = str(page)
            exchange = self.list_tasks(family, query)
            self.verify(exchange, self.profile.answer(family.list, exchange))
            body = exchange.response_body if exchange.json_ok else {}
            items = body.get("data") if isinstance(body, dict) else None
            items = items if isinstance(items, list) else []
            if any(isinstance(item, dict) and item.get("task_id") == task_id for item in items):
                return True, exchange
            if page_param is None or largest is None or len(items) < largest:
                break
        assert exchange is not None
        return False, exchange

    @staticmethod
    def unknown_task_id() -> str:
        return str(uuid.uuid4())

    def _count(self) -> None:
        self.ledger.count()

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
