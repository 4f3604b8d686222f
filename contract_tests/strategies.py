"""Hypothesis strategies for *valid* requests, built from the spec's JSON Schemas.

One entry point per need: :func:`from_schema` (any valid value), :func:`boundary_values`
(the values a server is most likely to get wrong: every enum value, each end of a
range, a string of exactly ``maxLength``), and the body and query builders on top.

Why not hypothesis-jsonschema: it is unmaintained, and the schemas here are OpenAPI
3.0 turned into Draft 4 by :func:`mockserver.spec.to_json_schema`, with OpenAPI-only
formats (``float``) it does not know. The subset the vendored spec uses is small; an
unsupported keyword raises :class:`UnsupportedSchema` instead of being ignored, so a
spec change that needs more support is noticed, not silently mis-generated.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from hypothesis import strategies as st

from mockserver.spec import Parameter

from .rules import keeps_rules, rules_of

__all__ = [
    "UnsupportedSchema",
    "boundary_bodies",
    "boundary_values",
    "from_schema",
    "merged_schema",
    "minimal_body",
    "query_value",
    "types_of",
    "uris",
    "valid_bodies",
    "valid_queries",
]

# Keywords that only document, or that the builders below handle.
_KNOWN = frozenset(
    {
        "type", "enum", "format", "default", "description", "title",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern",
        "properties", "required", "additionalProperties",
        "items", "minItems", "maxItems", "allOf",
    }
)  # fmt: skip

_JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
_FLOAT32_MAX = 3.4028234663852886e38


class UnsupportedSchema(ValueError):
    """A schema uses something the builders cannot generate faithfully."""


def types_of(schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The JSON types a schema allows (all of them when it says nothing)."""
    kind = schema.get("type")
    if kind is None:
        if "enum" in schema:
            return tuple(sorted({_json_type(v) for v in schema["enum"]}))
        return _JSON_TYPES
    return tuple(kind) if isinstance(kind, list) else (str(kind),)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def unsupported_keywords(schema: Any) -> set[str]:
    """The keywords anywhere in ``schema`` (its properties, items and allOf parts) that
    the builders cannot generate values for: an operation with any is not exercised."""
    if not isinstance(schema, Mapping):
        return set()
    # An empty anyOf states no rule (upstream writes `anyOf: []` beside properties).
    found = {
        k for k, v in schema.items() if k not in _KNOWN and not str(k).startswith("x-") and v != []
    }
    subschemas = [
        *(schema.get("properties") or {}).values(),
        *(schema.get("allOf") or []),
        schema.get("items"),
        schema.get("additionalProperties"),
    ]
    for sub in subschemas:
        found |= unsupported_keywords(sub)
    return found


def _check_supported(schema: Mapping[str, Any]) -> None:
    unknown = sorted(k for k in schema if k not in _KNOWN and not str(k).startswith("x-"))
    if unknown:
        raise UnsupportedSchema(f"cannot generate values for schema keywords {unknown}")


# Keywords that only document: allOf parts may word them differently.
_ANNOTATIONS = frozenset({"description", "title", "example", "examples", "$comment"})


def merged_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``allOf`` parts merged into one object schema (a property
    several parts declare holds the rules of each: one part's type, another's minItems)."""
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or []:
        part = merged_schema(part)
        for key, value in part.items():
            if key == "properties":
                properties = dict(merged.get("properties", {}))
                for name, sub in value.items():
                    properties[name] = (
                        _joined(properties[name], sub, name) if name in properties else sub
                    )
                merged["properties"] = properties
            elif key == "required":
                merged["required"] = sorted({*merged.get("required", []), *value})
            elif key in merged and merged[key] != value and key not in _ANNOTATIONS:
                raise UnsupportedSchema(f"allOf parts disagree on {key!r}")
            else:
                merged.setdefault(key, value)
    return merged


def _joined(first: Any, second: Any, name: str) -> Any:
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        return second
    joined = dict(first)
    for key, value in second.items():
        if key in joined and joined[key] != value and key not in _ANNOTATIONS:
            raise UnsupportedSchema(f"allOf parts disagree on {key!r} of {name!r}")
        joined.setdefault(key, value)
    return joined


def uris() -> st.SearchStrategy[str]:
    """Absolute http(s) URIs that any RFC 3986 checker accepts."""
    segment = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
    return st.builds(
        "{}://{}.example/{}{}".format,
        st.sampled_from(["https", "http"]),
        segment,
        st.lists(segment, max_size=3).map("/".join),
        st.sampled_from(["", ".mp4", ".mov", ".png", ".jpg", "?v=1"]),
    )


def _numbers(schema: Mapping[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    exclusive_low = bool(schema.get("exclusiveMinimum"))
    exclusive_high = bool(schema.get("exclusiveMaximum"))
    if "multipleOf" in schema:
        raise UnsupportedSchema("multipleOf is not supported")
    if integer:
        lo = None if low is None else math.floor(low) + 1 if exclusive_low else math.ceil(low)
        hi = None if high is None else math.ceil(high) - 1 if exclusive_high else math.floor(high)
        return st.integers(lo, hi)
    # OpenAPI's format float is 32 bits wide; keep to it when the bounds allow.
    float32 = schema.get("format") == "float" and _fits_float32(low, high)
    width: Literal[32, 64] = 32 if float32 else 64
    bound = _FLOAT32_MAX if width == 32 else None
    floats = st.floats(
        min_value=low if low is not None else None if bound is None else -bound,
        max_value=high if high is not None else bound,
        exclude_min=exclusive_low and low is not None,
        exclude_max=exclusive_high and high is not None,
        allow_nan=False,
        allow_infinity=False,
        width=width,
    )
    # JSON has one number type: integral values are numbers too (exact in the float width).
    exact = 2**24 if width == 32 else 2**53
    return st.one_of(floats, _numbers(schema, integer=True).filter(lambda n: abs(n) <= exact))


def _fits_float32(*bounds: float | None) -> bool:
    return all(b is None or struct.unpack("f", struct.pack("f", b))[0] == b for b in bounds)


def _strings(schema: Mapping[str, Any]) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if fmt == "uri":
        base: st.SearchStrategy[str] = uris()
    elif fmt == "uuid":
        base = st.uuids().map(str)
    elif "pattern" in schema:
        base = st.from_regex(schema["pattern"])
    elif fmt in (None, "byte", "binary", "password", "float", "double"):
        return st.text(min_size=low, max_size=high)
    else:
        raise UnsupportedSchema(f"cannot generate strings of format {fmt!r}")
    return base.filter(lambda s: low <= len(s) and (high is None or len(s) <= high))


def from_schema(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (JSON Schema as :func:`to_json_schema` gives it)."""
    schema = merged_schema(schema)
    _check_supported(schema)
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    options: list[st.SearchStrategy[Any]] = []
    for kind in types_of(schema):
        if kind == "null":
            options.append(st.none())
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind in ("integer", "number"):
            options.append(_numbers(schema, integer=kind == "integer"))
        elif kind == "string":
            options.append(_strings(schema))
        elif kind == "array":
            options.append(
                st.lists(
                    from_schema(schema.get("items") or {}),
                    min_size=schema.get("minItems", 0),
                    max_size=schema.get("maxItems", 5),
                )
            )
        elif kind == "object":
            options.append(_objects(schema))
        else:
            raise UnsupportedSchema(f"unknown type {kind!r}")
    return st.one_of(options)


def _objects(
    schema: Mapping[str, Any], null_optional: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects valid against ``schema``, keeping the rules across its fields it declares;
    ``null_optional``: an optional field may be null (the live API takes it as absent)."""
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    missing = required - set(properties)
    if missing:
        raise UnsupportedSchema(f"required fields without a schema: {sorted(missing)}")

    def optional(sub: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        values = from_schema(sub)
        return st.one_of(values, st.none()) if null_optional else values

    objects = st.fixed_dictionaries(
        {name: from_schema(sub) for name, sub in properties.items() if name in required},
        optional={name: optional(sub) for name, sub in properties.items() if name not in required},
    )
    if rules_of(schema):
        objects = objects.filter(lambda body: keeps_rules(schema, body))
    return objects


def boundary_values(schema: Mapping[str, Any]) -> list[Any]:
    """Valid values at the edges: every enum value, range ends, maxLength, the default."""
    schema = merged_schema(schema)
    values: list[Any] = []
    if "enum" in schema:
        values.extend(schema["enum"])
    kinds = types_of(schema)
    if "number" in kinds or "integer" in kinds:
        for key, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if key in schema and not schema.get(exclusive):
                values.append(schema[key])
    if "string" in kinds and "enum" not in schema and schema.get("format") is None:
        texts = []
        if "maxLength" in schema:
            # Exactly at the limit, in ASCII and in a character UTF-16 counts as two units.
            texts.append("a" * schema["maxLength"])
            texts.append("\U0001f3ac" * schema["maxLength"])
        texts.append("x" * schema.get("minLength", 0))
        # Only those a pattern allows (JSON Schema's: found anywhere in the text).
        pattern = schema.get("pattern")
        values.extend(t for t in texts if pattern is None or re.search(pattern, t))
    if "null" in kinds:
        values.append(None)
    # A default the schema itself refuses (upstream's `type: string, default: null`) is
    # no valid value to send.
    if "default" in schema and (schema["default"] is not None or "null" in kinds):
        values.append(schema["default"])
    unique: list[Any] = []
    for value in values:
        if not any(type(value) is type(u) and value == u for u in unique):
            unique.append(value)
    return unique


def _minimal(schema: Mapping[str, Any]) -> Any:
    """A fixed valid value for a field that must be present."""
    if "default" in schema and (schema["default"] is not None or "null" in types_of(schema)):
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = types_of(schema)[0]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "uri":
            return "https://example.com/reference.mp4"
        if fmt == "uuid":
            return "00000000-0000-4000-8000-000000000000"
        return "x" * max(1, schema.get("minLength", 0))
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "object":
        return minimal_body(schema)
    if kind == "array":
        return [_minimal(schema.get("items") or {})] * int(schema.get("minItems", 0))
    return {"boolean": True, "null": None}[kind]


def minimal_body(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest valid body: required fields, each a fixed valid value, plus the
    fields a rule across fields asks for (the first of its fields, in its order)."""
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    body = {name: _minimal(properties[name]) for name in schema.get("required") or []}
    for rule in rules_of(schema):
        if rule.counts_items or rule.min is None or not rule.applies(body):
            continue
        for name in rule.fields:
            if rule.count(body) >= rule.min:
                break
            if body.get(name) is None and name in properties:
                body[name] = _minimal(properties[name])
    if not keeps_rules(schema, body):
        raise UnsupportedSchema("no minimal body keeps the rules across fields the spec states")
    return body


def valid_bodies(
    schema: Mapping[str, Any], *, null_optional: bool = False
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid request bodies, each optional field present or absent at random (and, with
    ``null_optional``, sometimes null)."""
    return _objects(merged_schema(schema), null_optional)


def boundary_bodies(
    schema: Mapping[str, Any], *, null_optional: bool = False
) -> list[dict[str, Any]]:
    """Bodies that together use every field and every boundary value at least once.

    The minimal body, one body with every field set, then one body per boundary value
    of each field (the rest minimal), so a failure names one value; with
    ``null_optional``, one more with every optional field null. Bodies that would break
    a rule across fields the spec states are left out.
    """
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    base = minimal_body(schema)
    every_field = {name: _minimal(sub) for name, sub in properties.items()}
    bodies = [base, every_field]
    for name, sub in properties.items():
        for value in boundary_values(sub):
            body = {**base, name: value}
            if body not in bodies:
                bodies.append(body)
    if null_optional:
        required = set(schema.get("required") or ())
        nulls = {name: None for name in properties if name not in required and name not in base}
        bodies.append({**base, **nulls})
    return [body for body in bodies if keeps_rules(schema, body)]


def query_value(value: Any) -> str:
    """A JSON value as it travels in a query string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def valid_queries(parameters: Sequence[Parameter]) -> st.SearchStrategy[dict[str, str]]:
    """Valid query strings: each optional parameter present or absent at random."""

    def strategy(param: Parameter) -> st.SearchStrategy[str]:
        return from_schema(param.schema).map(query_value)

    return st.fixed_dictionaries(
        {p.name: strategy(p) for p in parameters if p.required},
        optional={p.name: strategy(p) for p in parameters if not p.required},
    )
