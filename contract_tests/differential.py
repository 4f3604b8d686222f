"""Differential mode: the same request to two servers, and where their answers differ.

Answers are compared on what a client depends on: the status, the body's shape (keys
and JSON types, not values: task ids differ by nature), and which fields a 400 names;
under the ``observed`` profile also the live API's headers and, byte for byte, error
bodies (fixed texts there: a wrong key's 401, pydantic's reasons).
Disagreements are grouped by what differs for which kind of request; each group keeps
its shortest request, so the report stays readable after hundreds of examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import fields_named
from .exchange import Exchange, body_shape, shapes_agree
from .profiles import Profile, ProfileName

__all__ = ["DifferentialReport", "Disagreement", "compare"]


def _live_headers(exchange: Exchange) -> bool:
    return not Profile.header_problems(exchange)


def compare(a: Exchange, b: Exchange, profile: ProfileName = "spec") -> list[str]:
    """What differs between two answers to the same request: status, body shape, fields;
    under the ``observed`` profile also whether each carries the live API's headers, and
    an error body's every byte (the live API's error bodies are fixed texts)."""
    differences = []
    if a.status != b.status:
        differences.append("status")
    shape_a = body_shape(a.response_body) if a.json_ok else "not JSON"
    shape_b = body_shape(b.response_body) if b.json_ok else "not JSON"
    if not shapes_agree(shape_a, shape_b):
        differences.append("body shape")
    if (a.status == 400 or b.status == 400) and fields_named(a) != fields_named(b):
        differences.append("fields named")
    if profile == "observed":
        if _live_headers(a) != _live_headers(b):
            differences.append("headers")
        errors = a.status >= 400 or b.status >= 400
        if errors and a.status == b.status and a.response_raw != b.response_raw:
            differences.append("error body")
    return differences


def _answer(exchange: Exchange) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "body_shape": body_shape(exchange.response_body) if exchange.json_ok else "not JSON",
        "fields_named": sorted(fields_named(exchange)),
        "body": exchange.response_body,
    }


@dataclass
class Disagreement:
    kind: str  # what sort of request, e.g. "create: out of range: cfg_scale"
    differences: list[str]
    a: Exchange
    b: Exchange
    seen: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "request_kind": self.kind,
            "differences": self.differences,
            "times_seen": self.seen,
            "request": self.a.request_json(),
            "a": _answer(self.a),
            "b": _answer(self.b),
        }


@dataclass
class DifferentialReport:
    a_label: str
    b_label: str
    profile: ProfileName = "spec"
    requests: int = 0
    groups: dict[tuple[str, tuple[str, ...]], Disagreement] = field(default_factory=dict)

    def add(self, kind: str, a: Exchange, b: Exchange) -> list[str]:
        """Record one request's two answers; returns what differed."""
        self.requests += 1
        differences = compare(a, b, self.profile)
        if differences:
            key = (kind, tuple(differences))
            old = self.groups.get(key)
            if old is None:
                self.groups[key] = Disagreement(kind, differences, a, b)
            else:
                old.seen += 1
                if len(a.describe_request()) < len(old.a.describe_request()):
                    old.a, old.b = a, b
        return differences

    @property
    def disagreements(self) -> list[Disagreement]:
        return sorted(self.groups.values(), key=lambda d: (d.kind, d.differences))

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a_label,
            "b": self.b_label,
            "profile": self.profile,
            "requests_compared": self.requests,
            "disagreements": [d.to_json() for d in self.disagreements],
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")

    def table(self, width: int = 60) -> str:
        """A plain-text table: one row per disagreement."""
        if not self.groups:
            return (
                f"{self.requests} requests: {self.a_label} and {self.b_label} agree on every "
                "status, body shape and field named"
            )
        rows = [("#", "request", "differs in", f"A: {self.a_label}", f"B: {self.b_label}")]
        for number, item in enumerate(self.disagreements, 1):
            rows.append(
                (
                    str(number),
                    _cut(f"{item.kind} (x{item.seen})", width),
                    ", ".join(item.differences),
                    _cut(_summary(item.a, item.differences), width),
                    _cut(_summary(item.b, item.differences), width),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [
            " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        header = (
            f"{len(self.groups)} kind(s) of disagreement over {self.requests} requests "
            f"(A = {self.a_label}, B = {self.b_label}):"
        )
        examples = [
            f"  #{n}: {item.a.describe_request(200)}"
            for n, item in enumerate(self.disagreements, 1)
        ]
        return "\n".join([header, *lines, "", "shortest request of each:", *examples])


def _summary(exchange: Exchange, differences: list[str]) -> str:
    parts = [str(exchange.status)]
    if "fields named" in differences:
        parts.append(f"names {sorted(fields_named(exchange)) or 'nothing'}")
    if "headers" in differences:
        parts.append("live headers" if _live_headers(exchange) else "no live headers")
    if "error body" in differences and "body shape" not in differences:
        parts.append(exchange.response_raw[:80].decode("utf-8", "replace"))
    if "body shape" in differences or len(parts) == 1:
        shape = body_shape(exchange.response_body) if exchange.json_ok else "not JSON"
        parts.append(json.dumps(shape, separators=(",", ":")))
    return " ".join(parts)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
