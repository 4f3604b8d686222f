"""Answers built from a schema: deterministic, and valid against that schema.

A synchronous operation (``kinds.py``'s ``call``) answers a body built from its own
success response: the response's documented example where it meets the schema, else a
value built from the schema, preferring each subschema's own ``example`` and
``default``, then the first ``enum`` value, then the smallest value its constraints
allow. The same schema always gives the same body, so a test can rely on it; no
randomness and no hypothesis at run time. Every built body is checked against the
schema (jsonschema, with formats); where the preferred choice fails, the next is tried.

Schemas here are OpenAPI 3.0 Schema Objects with their ``$ref`` resolved (examples
live there); checks convert them with :func:`mockserver.spec.to_json_schema`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, Final

from .kinds import TASK_ID, TASK_STATUS, documents_a_body, status_fields, success_response
from .spec import Operation, Spec, resolve_refs, to_json_schema

__all__ = ["Answers", "body_for", "is_valid", "success_body", "value_for"]

# Deeper than this, objects get their required properties only (schemas can nest far).
_FULL_DEPTH: Final = 6
_MAX_DEPTH: Final = 24

_FORMATS: Final = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uri-reference": "https://example.com/",
    "email": "user@example.com",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "byte": "AAAA",
    "base64": "AAAA",
}


def is_valid(schema: Any, value: Any) -> bool:
    """Whether ``value`` meets the OpenAPI ``schema``, formats included."""
    # Imported on first use: its format checkers import much, and only an answer
    # built from a schema needs them.
    import jsonschema

    checker = jsonschema.Draft4Validator.FORMAT_CHECKER
    validator = jsonschema.Draft4Validator(to_json_schema(schema), format_checker=checker)
    return bool(validator.is_valid(value))


def body_for(schema: Any, examples: Iterator[Any] | None = None) -> Any:
    """A body for a response: the first of ``examples`` valid against ``schema``, else
    one built from the schema."""
    for example in examples or ():
        if is_valid(schema, example):
            return example
    return value_for(schema)


def value_for(schema: Any, depth: int = 0, *, minimal: bool = False) -> Any:
    """A deterministic value valid against ``schema`` where the schema allows one;
    ``minimal``: objects with their required properties only, arrays as short as allowed
    (the smallest request a client could send)."""
    if not isinstance(schema, Mapping):
        return {}
    candidates = list(_candidates(schema, depth, minimal))
    for candidate in candidates:
        if is_valid(schema, candidate):
            return candidate
    return candidates[0] if candidates else {}


def _candidates(schema: Mapping[str, Any], depth: int, minimal: bool) -> Iterator[Any]:
    for keyword in ("example", "default"):
        if keyword in schema:
            yield schema[keyword]
    if schema.get("enum"):
        yield from (v for v in schema["enum"] if v is not None)
        return
    if "allOf" in schema:
        yield value_for(_merged(schema), depth, minimal=minimal)
        return
    for keyword in ("oneOf", "anyOf"):
        if schema.get(keyword):
            base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
            for member in schema[keyword]:
                if isinstance(member, Mapping):
                    yield value_for(_merged({"allOf": [base, member]}), depth, minimal=minimal)
            return
    kind = _type_of(schema)
    if kind == "object":
        if not minimal:
            yield _object(schema, depth, every=depth < _FULL_DEPTH, minimal=minimal)
        yield _object(schema, depth, every=False, minimal=minimal)
    elif kind == "array":
        yield _array(schema, depth, minimal)
    elif kind == "string":
        yield _string(schema)
    elif kind in ("integer", "number"):
        yield _number(schema, integer=kind == "integer")
    elif kind == "boolean":
        yield False
    elif schema.get("nullable") or kind == "null":
        yield None
    else:
        yield {}


def _type_of(schema: Mapping[str, Any]) -> str | None:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), "null")
    if isinstance(declared, str):
        return declared
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return None


def _merged(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``allOf`` folded into one schema: properties and required lists joined, the
    rest from the first member that states it."""
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for member in schema.get("allOf") or ():
        if not isinstance(member, Mapping):
            continue
        member = _merged(member)
        for key, value in member.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _object(schema: Mapping[str, Any], depth: int, *, every: bool, minimal: bool) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    if depth >= _MAX_DEPTH:
        every = False
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if (every and not (isinstance(sub, Mapping) and sub.get("writeOnly"))) or name in required:
            out[name] = value_for(sub, depth + 1, minimal=minimal)
    return out


def _array(schema: Mapping[str, Any], depth: int, minimal: bool) -> list[Any]:
    least = int(schema.get("minItems", 0))
    count = least if minimal else max(least, 1 if depth < _FULL_DEPTH else 0)
    if "maxItems" in schema:
        count = min(count, int(schema["maxItems"]))
    if not count:
        return []
    item = value_for(schema.get("items") or {}, depth + 1, minimal=minimal)
    return [item] * count


def _string(schema: Mapping[str, Any]) -> str:
    text = _FORMATS.get(str(schema.get("format", "")), "string")
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None and len(text) < low:
        text = text + "x" * (int(low) - len(text))
    if high is not None and len(text) > high:
        text = text[: int(high)]
    return text


def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    step = schema.get("multipleOf")
    value: float = 0
    if low is not None:
        value = low + (1 if schema.get("exclusiveMinimum") is True and integer else 0)
        if schema.get("exclusiveMinimum") is True and not integer:
            value = low + (step or 1)
    elif high is not None and high < 0:
        value = high - (1 if schema.get("exclusiveMaximum") is True else 0)
    if high is not None and value > high:
        value = high
    if step:
        value = step * -(-value // step)
    return int(value) if integer or float(value).is_integer() else value


def _examples(media: Mapping[str, Any]) -> Iterator[Any]:
    if "example" in media:
        yield media["example"]
    for example in (media.get("examples") or {}).values():
        if isinstance(example, Mapping) and "value" in example:
            yield example["value"]


def success_body(document: Mapping[str, Any], operation: Operation) -> tuple[int, bool, Any]:
    """An operation's success answer: its status, whether it has a JSON body, and the
    body (from its documented examples or its schema; ``{}`` where neither says more)."""
    status, media_type, _ = success_response(operation)
    if media_type is None:
        return status, False, None
    item = document["paths"][operation.path][operation.method]
    response = resolve_refs(document, (item.get("responses") or {}).get(str(status)) or {})
    media = (response.get("content") or {}).get(media_type) or {}
    schema = media.get("schema")
    if not documents_a_body(schema):
        return status, True, next(_examples(media), {})
    return status, True, body_for(schema, _examples(media))


class Answers:
    """One spec's success answers, each built on first use and kept (start-up builds
    none, so a whole vendor API starts as fast as one family)."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._bodies: dict[str, tuple[int, Any]] = {}
        # create operation id -> None (the live API's envelope fits), or its own template
        # and the fields of it that hold the task's status
        self._creates: dict[str, tuple[Any, frozenset[str]] | None] = {}

    def answer(self, operation: Operation) -> tuple[int, Any]:
        """A synchronous operation's status and body (None: it documents no body)."""
        found = self._bodies.get(operation.operation_id)
        if found is None:
            status, has_body, body = success_body(self.spec.documents[operation.source], operation)
            found = self._bodies[operation.operation_id] = (status, body if has_body else None)
        return found

    def created(self, operation: Operation, task_id: str, status: str) -> Any:
        """A create's answer for a new task: the live API's envelope (keys in its order)
        where the create documents no other, else its own body with the task put in: the
        fields it shares with the envelope take the envelope's values, and every field
        holding a task's status (``kinds.status_fields``) the task's status."""
        envelope = {"data": {TASK_ID: task_id, TASK_STATUS: status, "generated": []}}
        if operation.operation_id not in self._creates:
            _, _, schema = success_response(operation)
            fits = not documents_a_body(schema) or is_valid(schema, envelope)
            self._creates[operation.operation_id] = (
                None if fits else (self.answer(operation)[1], status_fields(schema))
            )
        found = self._creates[operation.operation_id]
        if found is None:
            return envelope
        template, statuses = found
        body = copy.deepcopy(template)
        for place in (body, body.get("data") if isinstance(body, dict) else None):
            if isinstance(place, dict) and TASK_ID in place:
                place.update((k, v) for k, v in envelope["data"].items() if k in place)
                place.update((name, status) for name in statuses if name in place)
        return body
