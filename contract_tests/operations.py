"""The operations under contract, read from the vendored spec and nothing else.

The spec is the contract, so reading it is allowed; the fake's internals are not.
This module uses :mod:`mockserver.spec` for loading only (YAML 1.2 rules, ``$ref``
resolution, OpenAPI 3.0 → JSON Schema) and :mod:`mockserver.families` for which task
family each operation belongs to (read off the paths). Within a family, operations are
told apart by their *shape*: a POST with a JSON body creates a task (one per tier), a
GET with a path parameter reads one, a GET without lists them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.families import families
from mockserver.spec import Operation, Parameter, Spec, load_spec, resolve_refs

__all__ = ["ContractSpec", "Family", "SpecMismatch"]


class SpecMismatch(Exception):
    """The spec does not describe task families the contract tests can exercise."""


def _has_path_param(operation: Operation) -> bool:
    return any(p.location == "path" for p in operation.parameters)


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@dataclass(frozen=True)
class Family:
    """One task family: the creates that make its tasks (its tiers), the GET that reads
    one and the GET that lists them. ``collection`` is the list operation's path."""

    collection: str
    creates: tuple[Operation, ...]
    get: Operation
    list: Operation

    @property
    def operations(self) -> tuple[Operation, ...]:
        return (*self.creates, self.get, self.list)

    def task_path(self, task_id: str) -> str:
        name = next(p.name for p in self.get.parameters if p.location == "path")
        return self.get.path.replace("{" + name + "}", task_id)

    def query_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.list.parameters if p.location == "query")

    def task_statuses(self) -> tuple[str, ...]:
        """The statuses the get-by-id 200 schema allows, in the spec's order."""
        for media in self.get.responses.get("200", {}).values():
            for node in _walk(media):
                status = (node.get("properties") or {}).get("status")
                if isinstance(status, Mapping) and isinstance(status.get("enum"), list):
                    return tuple(str(value) for value in status["enum"])
        raise SpecMismatch(f"GET {self.get.path}: the 200 response documents no status enum")


def request_schema(operation: Operation) -> dict[str, Any]:
    """A create operation's request body schema (every create has one)."""
    if operation.request_schema is None:
        raise SpecMismatch(f"{operation.method.upper()} {operation.path} has no JSON body")
    return operation.request_schema


@dataclass(frozen=True)
class ContractSpec:
    """The task families of the spec, their auth header and the examples it documents."""

    spec: Spec
    families: tuple[Family, ...]

    @classmethod
    def load(cls, spec_dir: Path | str | None = None) -> ContractSpec:
        """Read ``spec_dir`` (default: the vendored spec installed with freepik-mock)."""
        spec = load_spec(spec_dir)
        return cls(spec, _families(spec))

    @property
    def creates(self) -> tuple[Operation, ...]:
        """Every create operation of every family, in the spec's order."""
        return tuple(op for family in self.families for op in family.creates)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(op for family in self.families for op in family.operations)

    def family_of(self, operation: Operation) -> Family:
        for family in self.families:
            if operation in family.operations:
                return family
        raise SpecMismatch(f"{operation.method.upper()} {operation.path} is in no family")

    @property
    def auth_header(self) -> str:
        headers = {op.auth_header for op in self.operations}
        if None in headers or len(headers) != 1:
            raise SpecMismatch(f"the operations do not share one API key header: {headers}")
        return str(headers.pop())

    def examples(self, operation: Operation, status: str) -> dict[str, Any]:
        """The named examples the spec gives for ``status`` (any media type), by name."""
        doc = self.spec.documents[operation.source]
        raw = doc["paths"][operation.path][operation.method]
        response = resolve_refs(doc, (raw.get("responses") or {}).get(status) or {})
        found: dict[str, Any] = {}
        for entry in (response.get("content") or {}).values():
            for name, example in ((entry or {}).get("examples") or {}).items():
                if isinstance(example, Mapping) and "value" in example:
                    found[name] = example["value"]
        return found


def _families(spec: Spec) -> tuple[Family, ...]:
    membership = families(spec)
    members: dict[str, list[Operation]] = {}
    for operation in spec:
        members.setdefault(membership[operation.operation_id], []).append(operation)
    found: list[Family] = []
    for collection, operations in members.items():
        creates = tuple(op for op in operations if op.method == "post" and op.request_schema)
        gets = [op for op in operations if op.method == "get" and _has_path_param(op)]
        lists = [op for op in operations if op.method == "get" and not _has_path_param(op)]
        if not creates:
            continue  # a collection nothing in the spec creates tasks for
        if len(gets) != 1 or len(lists) != 1:
            paths = ", ".join(f"POST {op.path}" for op in creates)
            raise SpecMismatch(
                f"{paths}: the family {collection} needs one GET that reads a task and one "
                f"that lists them (the spec has {len(gets)} and {len(lists)})"
            )
        found.append(Family(collection, creates, gets[0], lists[0]))
    if not found:
        raise SpecMismatch("the spec has no operation that creates tasks")
    return tuple(found)
