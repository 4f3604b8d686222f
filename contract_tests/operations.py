"""The operations under contract, read from the vendored spec and nothing else.

The spec is the contract, so reading it is allowed; the fake's internals are not.
This module uses :mod:`mockserver.spec` for loading only (YAML 1.2 rules, ``$ref``
resolution, OpenAPI 3.0 → JSON Schema) and :func:`mockserver.kinds.plan` for what each
operation is and which task family it belongs to, read off the spec's paths and
documented answers alone: a create makes a family's tasks (one per tier), a read finds
one, a list pages through them. Over the whole upstream API (``--spec-dir``) the
synchronous operations are no family's, and a family is left out, with its reason in
:attr:`ContractSpec.left_out`, where the suite cannot exercise it: no read or no list to
find its tasks, a create without a JSON body, or a create answering a shape of its own
rather than the task envelope the checks read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockserver.kinds import documents_a_body, is_task_envelope, plan, success_response
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
    one and the GET that lists them (the narrowest where several do: a tier's own list
    beside the list of all tiers). ``collection`` is the family's name, its path."""

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
        """The statuses the get-by-id 200 schema allows, in the spec's order (the list's
        where the get documents no body)."""
        for operation in (self.get, self.list):
            for media in operation.responses.get("200", {}).values():
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
    # family -> why the suite cannot exercise it
    left_out: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, spec_dir: Path | str | None = None) -> ContractSpec:
        """Read ``spec_dir`` (default: the vendored spec installed with freepik-mock)."""
        spec = load_spec(spec_dir)
        found, left_out = _families(spec)
        return cls(spec, found, left_out)

    def only(self, wanted: Sequence[str]) -> ContractSpec:
        """The families whose name contains one of ``wanted`` (a bounded run over a whole
        API); SpecMismatch where none does."""
        chosen = tuple(f for f in self.families if any(w in f.collection for w in wanted))
        if not chosen:
            raise SpecMismatch(f"no task family of the spec matches {', '.join(wanted)}")
        return ContractSpec(self.spec, chosen, self.left_out)

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


def _families(spec: Spec) -> tuple[tuple[Family, ...], dict[str, str]]:
    found = plan(spec)
    creates: dict[str, list[Operation]] = {}
    reads: dict[str, list[Operation]] = {}
    lists: dict[str, list[Operation]] = {}
    for operation in spec:
        kind = found.kind(operation.operation_id)
        if kind == "create":
            creates.setdefault(found.families.of(operation.operation_id), []).append(operation)
        elif kind in ("read", "list"):
            for name in found.families.served_by(operation.operation_id):
                (reads if kind == "read" else lists).setdefault(name, []).append(operation)
    families: list[Family] = []
    left_out: dict[str, str] = {}
    for name, made_by in creates.items():
        paths = ", ".join(f"POST {op.path}" for op in made_by)
        if len(reads.get(name, ())) != 1 or not lists.get(name):
            left_out[name] = (
                f"{paths}: the family needs one GET that reads a task and a GET that lists "
                f"them (the spec has {len(reads.get(name, ()))} and {len(lists.get(name, ()))})"
            )
        elif any(op.request_schema is None for op in made_by):
            left_out[name] = f"{paths}: a create without a JSON request body"
        elif any(_own_shape(op) for op in made_by):
            left_out[name] = f"{paths}: a create answering a shape of its own, not the envelope"
        elif (unmade := _no_body_made(made_by)) is not None:
            left_out[name] = f"{paths}: {unmade}"
        else:
            narrowest = max(lists[name], key=lambda op: len(op.path))
            family = Family(name, tuple(made_by), reads[name][0], narrowest)
            try:
                family.task_statuses()
            except SpecMismatch as exc:
                left_out[name] = str(exc)
                continue
            families.append(family)
    if not families:
        raise SpecMismatch(
            "the spec has no task family the contract tests can exercise"
            + "".join(f"; {reason}" for reason in left_out.values())
        )
    return tuple(families), left_out


def _no_body_made(creates: Sequence[Operation]) -> str | None:
    """Why the suite's body strategies cannot make a valid body for one of ``creates``
    (a body of alternatives, anyOf/oneOf, say), or None."""
    from jsonschema import Draft4Validator

    from .strategies import UnsupportedSchema, minimal_body, unsupported_keywords

    for operation in creates:
        schema = request_schema(operation)
        unsupported = unsupported_keywords(schema)
        if unsupported:
            return f"the suite cannot make its bodies (keywords {sorted(unsupported)})"
        try:
            body = minimal_body(schema)
        except UnsupportedSchema as exc:
            return f"the suite cannot make its bodies ({exc})"
        if not Draft4Validator(_without_empty_alternatives(schema)).is_valid(body):
            return "the suite's smallest body does not meet its schema"
    return None


def _without_empty_alternatives(schema: Any) -> Any:
    """``schema`` without its empty ``anyOf``/``oneOf`` lists: upstream writes `anyOf: []`
    beside properties, stating no rule (the live API takes those bodies), where JSON
    Schema would allow nothing."""
    if isinstance(schema, list):
        return [_without_empty_alternatives(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    return {
        key: _without_empty_alternatives(value)
        for key, value in schema.items()
        if not (key in ("anyOf", "oneOf") and value == [])
    }


def _own_shape(operation: Operation) -> bool:
    """Whether a create documents an answer that is not the task envelope."""
    _, _, schema = success_response(operation)
    return documents_a_body(schema) and not is_task_envelope(schema)
