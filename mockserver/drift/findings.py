"""What a drift check produces: findings, their classes, and the report that holds them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Final

__all__ = [
    "CALLS",
    "EXIT_UNREADABLE",
    "Direction",
    "DriftReport",
    "FailOn",
    "Finding",
    "JsonPath",
    "NotCovered",
    "Severity",
    "UpdateOutcome",
    "json_path",
    "merge_duplicates",
]


# Something could not be fetched, read, compared or (with --update) written.
EXIT_UNREADABLE = 3


class Severity(StrEnum):
    """The class of a change, from the point of view of a client of the API."""

    BREAKING = "breaking"
    NON_BREAKING = "non-breaking"
    INFO = "info"


class FailOn(StrEnum):
    """Which findings make ``freepik-mock drift`` exit non-zero."""

    BREAKING = "breaking"  # only breaking drift fails (exit 1)
    NON_BREAKING = "non-breaking"  # breaking (1) or non-breaking (2); info never fails
    ANY = "any"  # as non-breaking, and info-only drift exits 2 as well


class Direction(Enum):
    """Who reads the data a schema describes: it decides what "required" changes mean."""

    REQUEST = "request"  # the client writes it, the API reads it
    RESPONSE = "response"  # the API writes it, the client reads it (bodies, webhooks)


JsonPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Iterable[str | int]) -> str:
    """Render path parts as a JSONPath: ``$.paths['/v1/x'].post.responses['200']``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"['{escaped}']")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference between the vendored spec (old) and upstream (new)."""

    severity: Severity
    rule: str  # a stable identifier, e.g. "range-narrowed", "enum-value-removed"
    path: str  # JSONPath in the vendored document (resolved, allOf merged)
    old: Any
    new: Any
    message: str
    operations: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "class": self.severity.value,
            "rule": self.rule,
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "message": self.message,
            "operations": list(self.operations),
        }


@dataclass(frozen=True, slots=True)
class NotCovered:
    """Something the vendored spec has that this upstream source says nothing about."""

    path: str
    reason: str
    operations: tuple[str, ...] = ()


_SEVERITIES = tuple(severity.value for severity in Severity)

# The group of a whole API's operations that belong to no task family (answered at once).
CALLS: Final = "calls"


@dataclass(frozen=True, slots=True)
class DriftReport:
    """The outcome of comparing the vendored spec with one or more upstream sources."""

    sources: tuple[str, ...]
    vendored: str
    compared: dict[str, str]  # operation label -> label of the source it was found in
    missing: tuple[str, ...]  # covered operations no source contained
    findings: tuple[Finding, ...]
    not_covered: tuple[NotCovered, ...] = field(default=())
    require_all: bool = False
    # operation label -> its task families (the fake's: a create's, or those a read or
    # list serves; CALLS for an operation answered at once), for the covered operations
    # and the upstream ones of a covered family that the vendored spec lacks
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def by_family(self) -> dict[str, dict[str, int]]:
        """Per task family, in path order (``calls`` last): how many operations were
        compared and how many findings of each severity concern it. An operation of
        several families (a read shared by tiers) counts in each, and so does a finding
        about several; operations without a family count under their own label."""
        out: dict[str, dict[str, int]] = {}

        def row(family: str) -> dict[str, int]:
            return out.setdefault(family, dict.fromkeys(["compared", *_SEVERITIES], 0))

        for label in self.compared:
            for family in self.families.get(label, (label,)):
                row(family)["compared"] += 1
        for finding in self.findings:
            concerned = (f for op in finding.operations for f in self.families.get(op, (op,)))
            for family in dict.fromkeys(concerned):
                row(family)[finding.severity.value] += 1
        return dict(sorted(out.items(), key=lambda item: (item[0] == CALLS, item[0])))

    def of(self, severity: Severity) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity is severity]

    def fails(self, finding: Finding, fail_on: FailOn) -> bool:
        """Whether ``finding`` counts towards a non-zero exit under ``fail_on``."""
        if finding.severity is Severity.BREAKING:
            return True
        if finding.severity is Severity.NON_BREAKING:
            return fail_on is not FailOn.BREAKING
        return fail_on is FailOn.ANY

    def exit_code(self, fail_on: FailOn = FailOn.NON_BREAKING) -> int:
        """0 no drift, 1 breaking, 2 drift that is not breaking (see :class:`FailOn`)."""
        if self.count(Severity.BREAKING):
            return 1
        if any(self.fails(finding, fail_on) for finding in self.findings):
            return 2
        return 0


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """What ``drift --update`` left behind: the drift that remains between the rewritten
    spec and upstream, or why nothing was written."""

    after: DriftReport | None  # None: nothing was written (see problem)
    written: tuple[tuple[str, str], ...] = ()  # (file name, what it holds now)
    kept: tuple[tuple[str, str], ...] = ()  # (file name, why it was left as it is)
    problem: str | None = None

    def exit_code(self, fail_on: FailOn = FailOn.NON_BREAKING) -> int:
        """The exit code of the drift that remains once the update is done (3: no update)."""
        return EXIT_UNREADABLE if self.after is None else self.after.exit_code(fail_on)


def merge_duplicates(findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """Fold findings that differ only by operation (a server change seen by every one)."""
    merged: dict[tuple[Any, ...], Finding] = {}
    for finding in findings:
        key = (
            finding.severity,
            finding.rule,
            finding.path,
            repr(finding.old),
            repr(finding.new),
            finding.message,
        )
        seen = merged.get(key)
        if seen is None:
            merged[key] = finding
        else:
            operations = seen.operations + tuple(
                op for op in finding.operations if op not in seen.operations
            )
            merged[key] = Finding(
                seen.severity, seen.rule, seen.path, seen.old, seen.new, seen.message, operations
            )
    return tuple(merged.values())
