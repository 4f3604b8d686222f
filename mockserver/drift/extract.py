"""Finding the covered operations, the webhook payload, servers and auth in a document.

The operations the kit covers are the ones the vendored spec defines; an upstream
document is searched for the same (method, path), where path parameters match whatever
their names (``{task-id}`` and ``{task_id}`` are the same path to a client).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..kinds import plan
from ..spec import HTTP_METHODS, Operation, Parameter, SpecError, document_operation, resolve_refs
from .findings import JsonPath

__all__ = [
    "WEBHOOK_LABEL",
    "WEBHOOK_PAYLOAD_SCHEMA",
    "LocatedOperation",
    "LocatedSchema",
    "auth_alternatives",
    "describe_scheme",
    "effective_servers",
    "family_of",
    "find_operations",
    "find_webhook_payload",
    "operation_key",
    "operation_view",
    "operations_in",
    "ref_closure",
]

# The vendored schema of the webhook body (openapi/kling-v3-omni-tasks.yaml, x-derived).
WEBHOOK_PAYLOAD_SCHEMA = "kling-v3-omni-webhook-payload"
WEBHOOK_LABEL = "WEBHOOK POST {webhook_url}"

OperationKey = tuple[str, str]


def operation_key(method: str, path: str) -> OperationKey:
    """(method, path with every parameter name blanked): how operations are matched."""
    shape = re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"
    return method.lower(), shape


@dataclass(frozen=True, slots=True)
class LocatedOperation:
    """An operation as written in one document."""

    method: str
    path: str
    document: dict[str, Any]
    origin: str  # the source label, or the vendored file name

    @property
    def key(self) -> OperationKey:
        return operation_key(self.method, self.path)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_item(self) -> dict[str, Any]:
        item: dict[str, Any] = self.document["paths"][self.path]
        return item

    @property
    def raw(self) -> dict[str, Any]:
        operation: dict[str, Any] = self.path_item[self.method]
        return operation

    @property
    def json_path(self) -> JsonPath:
        return ("paths", self.path, self.method)


@dataclass(frozen=True, slots=True)
class LocatedSchema:
    """A schema found in a document, and where."""

    schema: Any
    document: dict[str, Any]
    path: JsonPath
    origin: str


def operations_in(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """Every (method, path) the document defines, in document order."""
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), Mapping):
                yield method, str(path)


def find_operations(
    documents: Iterable[tuple[str, dict[str, Any]]], keys: Iterable[OperationKey]
) -> dict[OperationKey, LocatedOperation]:
    """The first occurrence of each wanted operation across ``(origin, document)`` pairs."""
    wanted = set(keys)
    found: dict[OperationKey, LocatedOperation] = {}
    for origin, document in documents:
        for method, path in operations_in(document):
            key = operation_key(method, path)
            if key in wanted and key not in found:
                found[key] = LocatedOperation(method, path, document, origin)
    return found


def family_of(
    documents: Iterable[tuple[str, dict[str, Any]]],
) -> dict[OperationKey, tuple[str, ...]]:
    """Each operation's task families, as the fake serving these documents has them
    (``mockserver.kinds.plan`` over the operations of all ``documents`` together, the
    first occurrence of an operation counting): a create's family, the families a read
    or list serves (a read shared by tiers serves each tier's), none for an operation
    answered at once. A create finds its collection in whichever document has it."""
    operations: dict[OperationKey, Operation] = {}
    for origin, document in documents:
        for method, path in operations_in(document):
            key = operation_key(method, path)
            if key not in operations:
                operations[key] = _member(document, method, path, origin)
    found = plan(operations.values())
    out: dict[OperationKey, tuple[str, ...]] = {}
    for key, operation in operations.items():
        kind = found.kind(operation.operation_id)
        if kind == "create":
            out[key] = (found.families.of(operation.operation_id),)
        else:
            out[key] = tuple(sorted(found.families.served_by(operation.operation_id)))
    return out


def _member(document: dict[str, Any], method: str, path: str, origin: str) -> Operation:
    """The operation as the fake reads it, named by its label (operation ids repeat
    across documents); for one the fake could not read, method, path and parameters."""
    label = f"{method.upper()} {path}"
    try:
        operation = document_operation(document, Path(origin), method, path)
    except (KeyError, TypeError, AttributeError, ValueError, SpecError):
        return _family_member(document, method, path, origin)
    return operation._replace(operation_id=label)


def _family_member(document: dict[str, Any], method: str, path: str, origin: str) -> Operation:
    """As much of an :class:`Operation` as its family needs: method, path, parameters
    (a POST documenting no answer reads as a create, as the fake reads one)."""
    item = document["paths"][path]
    declared = [
        *resolve_refs(document, item.get("parameters") or []),
        *resolve_refs(document, item[method].get("parameters") or []),
    ]
    parameters = tuple(
        Parameter(
            str(param.get("name")),
            str(param.get("in")),
            bool(param.get("required", param.get("in") == "path")),
            {},
        )
        for param in declared
        if isinstance(param, Mapping)
    )
    return Operation(
        method=method,
        path=path,
        operation_id=f"{method.upper()} {path}",
        parameters=parameters,
        request_body_required=False,
        request_media_types=(),
        request_schema=None,
        responses={},
        auth_header=None,
        source=Path(origin),
    )


def operation_view(operation: LocatedOperation) -> dict[str, Any]:
    """The operation with refs resolved and path-level parameters folded in."""
    resolved: dict[str, Any] = resolve_refs(operation.document, operation.raw)
    path_level = resolve_refs(operation.document, operation.path_item.get("parameters") or [])
    merged: dict[tuple[str, str], Any] = {}
    for param in [*path_level, *(resolved.get("parameters") or [])]:
        if isinstance(param, Mapping):
            merged[(str(param.get("in")), str(param.get("name")))] = param
    if merged:
        resolved["parameters"] = list(merged.values())
    return resolved


def effective_servers(operation: LocatedOperation) -> list[str]:
    """Server URLs that apply to the operation (operation, then path, then document)."""
    for holder in (operation.raw, operation.path_item, operation.document):
        servers = holder.get("servers")
        if servers:
            return [
                str(server.get("url", "")).rstrip("/")
                for server in servers
                if isinstance(server, Mapping)
            ]
    return []


def describe_scheme(scheme: Mapping[str, Any] | None, name: str) -> str:
    """What a client must send for a security scheme, in words that ignore its name."""
    if not scheme:
        return f"undefined security scheme {name!r}"
    kind = scheme.get("type")
    if kind == "apiKey":
        where = scheme.get("in")
        key = str(scheme.get("name"))
        return f"API key in {where} {key.lower() if where == 'header' else key}"
    if kind == "http":
        text = f"HTTP {str(scheme.get('scheme', '')).lower()}"
        return f"{text} ({scheme['bearerFormat']})" if scheme.get("bearerFormat") else text
    if kind == "openIdConnect":
        return f"OpenID Connect {scheme.get('openIdConnectUrl')}"
    return str(kind)


def auth_alternatives(operation: LocatedOperation) -> set[frozenset[str]]:
    """Each way to authenticate (OR), as the set of credentials it takes (AND)."""
    raw = operation.raw
    requirements = raw["security"] if "security" in raw else operation.document.get("security")
    schemes = resolve_refs(
        operation.document,
        (operation.document.get("components") or {}).get("securitySchemes") or {},
    )
    if not requirements:
        return {frozenset()}
    return {
        frozenset(describe_scheme(schemes.get(name), str(name)) for name in requirement or {})
        for requirement in requirements
    }


def find_webhook_payload(
    documents: Iterable[tuple[str, dict[str, Any]]], create: OperationKey | None
) -> LocatedSchema | None:
    """The webhook body schema: the vendored component name, or a callback of the create
    operation (how OpenAPI 3.0 documents a webhook, should upstream ever do so)."""
    for origin, document in documents:
        schemas = (document.get("components") or {}).get("schemas") or {}
        if WEBHOOK_PAYLOAD_SCHEMA in schemas:
            path: JsonPath = ("components", "schemas", WEBHOOK_PAYLOAD_SCHEMA)
            return LocatedSchema(schemas[WEBHOOK_PAYLOAD_SCHEMA], document, path, origin)
        if create is None:
            continue
        located = find_operations([(origin, document)], [create]).get(create)
        if located is None:
            continue
        for name, callback in (located.raw.get("callbacks") or {}).items():
            for expression, item in resolve_refs(document, callback).items():
                body = ((item or {}).get("post") or {}).get("requestBody") or {}
                for media_type, entry in (body.get("content") or {}).items():
                    if "json" in media_type and (entry or {}).get("schema") is not None:
                        at: JsonPath = (
                            *located.json_path,
                            "callbacks",
                            name,
                            expression,
                            "post",
                            "requestBody",
                            "content",
                            media_type,
                            "schema",
                        )
                        return LocatedSchema(entry["schema"], document, at, origin)
    return None


def ref_closure(document: Mapping[str, Any], node: Any) -> list[tuple[str, str]]:
    """Every ``components`` entry ``node`` reaches through ``$ref``, transitively, in order."""
    found: list[tuple[str, str]] = []
    components = document.get("components") or {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/"):
                parts = ref[len("#/components/") :].split("/")
                if len(parts) == 2:
                    section, name = (p.replace("~1", "/").replace("~0", "~") for p in parts)
                    if (section, name) not in found:
                        found.append((section, name))
                        walk((components.get(section) or {}).get(name))
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(node)
    return found
