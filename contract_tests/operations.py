"""The operations under contract, read from the vendored spec and nothing else.

The spec is the contract, so reading it is allowed; the fake's internals are not.
This module uses :mod:`mockserver.spec` for loading only (YAML 1.2 rules, ``$ref``
resolution, OpenAPI 3.0 → JSON Schema) and finds each operation by its *shape*: a
POST with a JSON body creates a task, a GET with a path parameter reads one, a GET
without lists them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.spec import Operation, Parameter, Spec, load_spec, resolve_refs

__all__ = ["ContractSpec", "SpecMismatch"]


class SpecMismatch(Exception):
    """The spec does not describe the three operations the contract tests exercise."""


def _find(spec: Spec, role: str) -> Operation:
    for operation in spec:
        has_path_param = any(p.location == "path" for p in operation.parameters)
        if role == "create" and operation.method == "post" and operation.request_schema:
            return operation
        if role == "get" and operation.method == "get" and has_path_param:
            return operation
        if role == "list" and operation.method == "get" and not has_path_param:
            return operation
    raise SpecMismatch(f"the spec has no operation that {role}s tasks")


def _walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


@dataclass(frozen=True)
class ContractSpec:
    """The three task operations, their auth header and the examples the spec documents."""

    spec: Spec
    create: Operation
    get: Operation
    list: Operation

    @classmethod
    def load(cls, spec_dir: Path | str | None = None) -> ContractSpec:
        """Read ``spec_dir`` (default: the vendored spec installed with freepik-mock)."""
        spec = load_spec(spec_dir)
        return cls(spec, _find(spec, "create"), _find(spec, "get"), _find(spec, "list"))

    @property
    def operations(self) -> tuple[Operation, ...]:
        return (self.create, self.get, self.list)

    @property
    def auth_header(self) -> str:
        header = self.create.auth_header
        if header is None:
            raise SpecMismatch("the create operation documents no API key header")
        return header

    @property
    def request_schema(self) -> dict[str, Any]:
        assert self.create.request_schema is not None  # _find only picks such an operation
        return self.create.request_schema

    def query_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.list.parameters if p.location == "query")

    def task_statuses(self) -> tuple[str, ...]:
        """The statuses the get-by-id 200 schema allows, in the spec's order."""
        for media in self.get.responses.get("200", {}).values():
            for node in _walk(media):
                status = (node.get("properties") or {}).get("status")
                if isinstance(status, Mapping) and isinstance(status.get("enum"), list):
                    return tuple(str(value) for value in status["enum"])
        raise SpecMismatch("the get-task 200 response documents no status enum")

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
