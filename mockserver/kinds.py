"""What each operation of the spec is, read from its shape and its documented answers.

- ``create``: a POST without path parameters whose success answer is the task envelope
  (``{"data": {"task_id", "status", ...}}``) or documents no body (the Kling 3 Omni
  creates document only a description), or that names a task id in another shape and
  belongs to a collection of tasks (style transfer's ``{task_id, task_status}``).
- ``read``: a GET of one task, ``<collection>/{task-id}``, answering the envelope.
- ``list``: a GET of a collection, answering a list of envelopes.
- ``call``: everything else, answered synchronously with a body built from its own
  success schema (``synthesis.py``): ``POST /v1/ai/text-to-image`` answers
  ``{"data": [images], "meta"}`` at once, ``GET /v1/icons`` a page of icons.

A read or list that documents no body counts only where it serves a create. No code
names an operation: the envelope's two fields are the API's answer, which the fake
builds itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from .families import Families, belongs, collection_of, task_families
from .spec import Operation
from .states import STATUSES

__all__ = [
    "TASK_FIELDS",
    "TASK_ID",
    "TASK_STATUS",
    "OperationKind",
    "Plan",
    "documents_a_body",
    "is_task_envelope",
    "listed_fields",
    "plan",
    "status_fields",
    "success_response",
]

OperationKind = Literal["create", "read", "list", "call"]

# The fields every task answer of the API carries (the envelope the fake builds).
TASK_ID: Final = "task_id"
TASK_STATUS: Final = "status"
TASK_FIELDS: Final = frozenset({TASK_ID, TASK_STATUS})


def success_response(operation: Operation) -> tuple[int, str | None, dict[str, Any] | None]:
    """The operation's first documented success: its status code, media type (JSON
    preferred; None when it documents no body) and schema (None when it has none)."""
    codes = sorted(c for c in operation.responses if c.isdigit() and c.startswith("2"))
    if not codes:
        return 200, None, None
    content = operation.responses[codes[0]]
    media = next((m for m in content if _is_json(m)), next(iter(content), None))
    return int(codes[0]), media, content.get(media) if media is not None else None


# Keywords that describe a value without constraining its shape.
_DESCRIPTIVE: Final = frozenset({"description", "title", "example", "examples", "$comment"})


def documents_a_body(schema: Any) -> bool:
    """Whether ``schema`` says anything about the answer's shape."""
    return isinstance(schema, Mapping) and not schema.keys() <= _DESCRIPTIVE


def _is_json(media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json")


def _flat(schema: Any) -> Mapping[str, Any]:
    """A schema's own properties merged with those of its ``allOf`` members."""
    if not isinstance(schema, Mapping):
        return {"properties": {}}
    members = [schema, *(_flat(m) for m in schema.get("allOf") or ())]
    properties: dict[str, Any] = {}
    for member in members:
        properties.update(member.get("properties") or {})
    return {**schema, "properties": properties}


def _alternatives(schema: Any) -> list[Mapping[str, Any]]:
    flat = _flat(schema)
    found = [flat]
    for keyword in ("anyOf", "oneOf"):
        found += [_flat(m) for m in flat.get(keyword) or ()]
    return found


def _data(schema: Any) -> list[Any]:
    return [
        alternative["properties"]["data"]
        for alternative in _alternatives(schema)
        if "data" in alternative["properties"]
    ]


def is_task_envelope(schema: Any) -> bool:
    """Whether ``schema`` is ``{"data": <task>}``."""
    return any(_is_task(data) for data in _data(schema))


def is_task_list(schema: Any) -> bool:
    """Whether ``schema`` is ``{"data": [<task>, ...]}``."""
    return any(
        _is_task(alternative.get("items"))
        for data in _data(schema)
        for alternative in _alternatives(data)
    )


def listed_fields(schema: Any) -> frozenset[str]:
    """The fields a task list's items declare (``{"data": [{...}]}``)."""
    return frozenset(
        name
        for data in _data(schema)
        for alternative in _alternatives(data)
        for item in _alternatives(alternative.get("items"))
        for name in item["properties"]
    )


def names_a_task(schema: Any) -> bool:
    """Whether ``schema`` carries a task id, at its top or in its ``data``."""
    places = [*_alternatives(schema), *(a for d in _data(schema) for a in _alternatives(d))]
    return any(TASK_ID in place["properties"] for place in places)


def status_fields(schema: Any) -> frozenset[str]:
    """The fields of an answer, at its top, in its ``data`` or in a list's items, that
    hold a task's status whatever the spec names them: those whose ``enum`` holds every
    status a task has (style transfer's ``task_status`` beside the envelope's ``status``)."""
    inner = [a for d in _data(schema) for a in _alternatives(d)]
    items = [i for a in inner for i in _alternatives(a.get("items"))]
    places = [*_alternatives(schema), *inner, *items]
    return frozenset(
        name
        for place in places
        for name, field in place["properties"].items()
        if isinstance(field, Mapping)
        and isinstance(field.get("enum"), list)
        and set(STATUSES) <= set(field["enum"])
    )


def _is_task(schema: Any) -> bool:
    return any(alt["properties"].keys() >= TASK_FIELDS for alt in _alternatives(schema))


class Plan:
    """Each operation's kind and the task families, for one spec."""

    def __init__(self, kinds: dict[str, OperationKind], families: Families) -> None:
        self.kinds = kinds
        self.families = families

    def kind(self, operation_id: str) -> OperationKind:
        return self.kinds[operation_id]


def plan(operations: Iterable[Operation]) -> Plan:
    """The kind of every operation and the families of the task operations."""
    operations = list(operations)
    creates: list[Operation] = []
    maybe_creates: list[Operation] = []
    reads: list[Operation] = []
    lists: list[Operation] = []
    maybe: list[Operation] = []
    for op in operations:
        _, _, schema = success_response(op)
        has_path_params = _has_path_param(op)
        if op.method == "post" and not has_path_params:
            if is_task_envelope(schema) or not documents_a_body(schema):
                creates.append(op)
            elif names_a_task(schema):
                maybe_creates.append(op)
        elif collection_of(op) is not None:
            envelope = is_task_envelope(schema) if has_path_params else is_task_list(schema)
            if envelope:
                (reads if has_path_params else lists).append(op)
            elif not documents_a_body(schema):
                maybe.append(op)
    collections = {collection_of(op) for op in (*reads, *lists, *maybe)}
    creates += [
        op for op in maybe_creates if any(belongs(op.path, c) for c in collections if c is not None)
    ]
    families = task_families(
        creates,
        [*reads, *(op for op in maybe if _has_path_param(op))],
        [*lists, *(op for op in maybe if not _has_path_param(op))],
    )
    kinds: dict[str, OperationKind] = {op.operation_id: "call" for op in operations}
    kinds.update({op.operation_id: "create" for op in creates})
    kinds.update({op.operation_id: "read" for op in reads})
    kinds.update({op.operation_id: "list" for op in lists})
    for op in maybe:
        if families.served_by(op.operation_id):
            kinds[op.operation_id] = "read" if _has_path_param(op) else "list"
    return Plan(kinds, families)


def _has_path_param(operation: Operation) -> bool:
    return any(p.location == "path" for p in operation.parameters)
