"""Invalid requests: a valid one with exactly one named mutation (or a few, on distinct fields).

Every mutation is read off the spec's schema: a field with ``maxLength`` can be too
long, one with an ``enum`` can be outside it, one with ``format: uri`` can be no URI,
and so on. Each generated request carries its :class:`Mutation`, so a check can ask
whether the server's 400 names the field that was broken.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from hypothesis import strategies as st

from mockserver.spec import Parameter

from .strategies import (
    merged_schema,
    minimal_body,
    query_value,
    types_of,
    valid_bodies,
    valid_queries,
)

__all__ = [
    "MUTATION_KINDS",
    "Mutation",
    "applicable_mutations",
    "every_field_invalid_body",
    "explicit_invalid_bodies",
    "explicit_invalid_queries",
    "invalid_bodies",
    "invalid_queries",
    "multi_field_invalid_bodies",
]

MutationKind = Literal[
    "missing_required",
    "wrong_type",
    "outside_enum",
    "over_max_length",
    "out_of_range",
    "not_a_uri",
    "null",
    "non_object_body",
]
MUTATION_KINDS: tuple[MutationKind, ...] = get_args(MutationKind)


@dataclass(frozen=True, order=True)
class Mutation:
    """What was broken: ``kind`` of ``field`` (``None``: the body as a whole)."""

    kind: MutationKind
    field: str | None = None

    def __str__(self) -> str:
        words = self.kind.replace("_", " ")
        return words if self.field is None else f"{words}: {self.field}"


_LETTERS = st.text(string.ascii_letters, min_size=1, max_size=8)
_SAMPLES: dict[str, Any] = {
    "string": "not-the-right-type",
    "integer": 7,
    "number": 0.25,
    "boolean": True,
    "array": ["x"],
    "object": {"x": 1},
}


def _wrong_types(schema: Mapping[str, Any]) -> list[str]:
    allowed = set(types_of(schema))
    if "number" in allowed:
        allowed.add("integer")  # every integer is a number
    return [kind for kind in _SAMPLES if kind not in allowed]


def _of_type(kind: str) -> st.SearchStrategy[Any]:
    return {
        "string": _LETTERS,
        "integer": st.integers(-(2**31), 2**31),
        "number": st.floats(-1e6, 1e6).filter(lambda x: not x.is_integer()),
        "boolean": st.booleans(),
        "array": st.lists(st.integers(0, 9), max_size=2),
        "object": st.dictionaries(_LETTERS, st.integers(0, 9), max_size=2),
    }[kind]


def _numeric(schema: Mapping[str, Any]) -> bool:
    return bool({"number", "integer"} & set(types_of(schema)))


def _kinds_for(schema: Mapping[str, Any]) -> list[MutationKind]:
    kinds: list[MutationKind] = []
    if _wrong_types(schema):
        kinds.append("wrong_type")
    if "enum" in schema:
        kinds.append("outside_enum")
    if "maxLength" in schema and "string" in types_of(schema):
        kinds.append("over_max_length")
    if _numeric(schema) and ("minimum" in schema or "maximum" in schema):
        kinds.append("out_of_range")
    if schema.get("format") == "uri":
        kinds.append("not_a_uri")
    if "null" not in types_of(schema):
        kinds.append("null")
    return kinds


def applicable_mutations(
    schema: Mapping[str, Any], *, null_is_absent: bool = True
) -> list[Mutation]:
    """Every mutation the body schema admits, in the spec's field order.

    ``null_is_absent``: null on an optional field is no mutation (the live API took
    ``"prompt": null`` as absent, facts file, observed); without it (the spec's reading)
    null is refused wherever the schema does not allow it.
    """
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    required = schema.get("required") or []
    found = [Mutation("missing_required", name) for name in required]
    for name, sub in properties.items():
        refused_null = name in required or not null_is_absent
        kinds = [k for k in _kinds_for(sub) if k != "null" or refused_null]
        found.extend(Mutation(kind, name) for kind in kinds)
    found.append(Mutation("non_object_body"))
    return found


def _enum_outsider(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    enum = list(schema["enum"])
    kinds = types_of(schema)
    base = (
        st.integers(-1000, 1000)
        if "string" not in kinds
        else _LETTERS | st.integers(-1000, 1000).map(str)
    )
    return base.filter(lambda v: v not in enum)


def _out_of_range(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    # Clearly outside (not by one rounding step), so a float32 server is not a false alarm.
    integer = "number" not in types_of(schema)
    options: list[st.SearchStrategy[Any]] = []
    if "maximum" in schema:
        high = schema["maximum"]
        step = 1 if integer else max(1e-3, abs(high) * 1e-6)
        start = high if schema.get("exclusiveMaximum") else high + step
        options.append(
            st.integers(int(start), int(high) + 10**6)
            if integer
            else st.floats(start, high + 1e6) | st.integers(int(high) + 1, int(high) + 10**6)
        )
    if "minimum" in schema:
        low = schema["minimum"]
        step = 1 if integer else max(1e-3, abs(low) * 1e-6)
        end = low if schema.get("exclusiveMinimum") else low - step
        options.append(
            st.integers(int(low) - 10**6, int(end))
            if integer
            else st.floats(low - 1e6, end) | st.integers(int(low) - 10**6, int(low) - 1)
        )
    return st.one_of(options)


def _not_uris() -> st.SearchStrategy[str]:
    # No colon, so no scheme: never an absolute URI.
    return st.sampled_from(["not a uri", "www.example.com/video.mp4", "/videos/a.mp4"]) | st.text(
        st.characters(exclude_characters=":", codec="utf-8"), max_size=30
    )


def _mutated_value(schema: Mapping[str, Any], kind: MutationKind) -> st.SearchStrategy[Any]:
    if kind == "wrong_type":
        return st.one_of([_of_type(k) for k in _wrong_types(schema)])
    if kind == "outside_enum":
        return _enum_outsider(schema)
    if kind == "over_max_length":
        limit = int(schema["maxLength"])
        return st.text(min_size=limit + 1, max_size=limit + 20)
    if kind == "out_of_range":
        return _out_of_range(schema)
    if kind == "not_a_uri":
        return _not_uris()
    if kind == "null":
        return st.none()
    raise ValueError(f"{kind} is not a field value mutation")


def _fixed_values(schema: Mapping[str, Any], kind: MutationKind) -> list[Any]:
    """One or two deterministic values per mutation, the ones a server most often misses."""
    if kind == "wrong_type":
        return [_SAMPLES[_wrong_types(schema)[0]]]
    if kind == "outside_enum":
        enum = list(schema["enum"])
        numeric = [int(v) for v in enum if isinstance(v, str) and v.lstrip("-").isdigit()]
        if numeric and len(numeric) == len(enum):
            return [str(max(numeric) + 1)]  # the next value after the list ends
        return ["not-a-listed-value"] if "string" in types_of(schema) else [max(enum) + 1]
    if kind == "over_max_length":
        return ["a" * (int(schema["maxLength"]) + 1)]
    if kind == "out_of_range":
        integer = "number" not in types_of(schema)
        step = 1 if integer else 0.1
        values = []
        if "maximum" in schema:
            values.append(schema["maximum"] + (0 if schema.get("exclusiveMaximum") else step))
        if "minimum" in schema:
            values.append(schema["minimum"] - (0 if schema.get("exclusiveMinimum") else step))
        return values
    if kind == "not_a_uri":
        return ["not a uri"]
    return [None]


def _apply(body: dict[str, Any], mutation: Mutation, value: Any = None) -> dict[str, Any]:
    out = dict(body)
    assert mutation.field is not None
    if mutation.kind == "missing_required":
        out.pop(mutation.field, None)
    else:
        out[mutation.field] = value
    return out


_NON_OBJECTS: st.SearchStrategy[Any] = st.one_of(
    st.lists(st.integers(0, 9), max_size=3), _LETTERS, st.integers(), st.booleans()
)


def invalid_bodies(
    schema: Mapping[str, Any], *, null_is_absent: bool = True, body_required: bool = True
) -> st.SearchStrategy[tuple[Any, Mutation]]:
    """A valid body with exactly one mutation applied, and that mutation. A JSON null is
    a non-object body only where the body is required: FastAPI reads it as no body."""
    non_objects = st.one_of(_NON_OBJECTS, st.none()) if body_required else _NON_OBJECTS
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    mutations = applicable_mutations(schema, null_is_absent=null_is_absent)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Any, Mutation]:
        mutation = draw(st.sampled_from(mutations))
        if mutation.field is None:
            return draw(non_objects), mutation
        body = draw(valid_bodies(schema))
        if mutation.kind == "missing_required":
            return _apply(body, mutation), mutation
        value = draw(_mutated_value(properties[mutation.field], mutation.kind))
        return _apply(body, mutation, value), mutation

    return build()


def explicit_invalid_bodies(
    schema: Mapping[str, Any], *, null_is_absent: bool = True, body_required: bool = True
) -> list[tuple[Any, Mutation]]:
    """At least one fixed invalid body per applicable mutation, on the minimal body (a
    JSON null among the non-objects only where the body is required)."""
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    base = minimal_body(schema)
    out: list[tuple[Any, Mutation]] = []
    for mutation in applicable_mutations(schema, null_is_absent=null_is_absent):
        if mutation.field is None:
            non_objects: list[Any] = [[], "video", 5, *([None] if body_required else [])]
            out.extend((value, mutation) for value in non_objects)
        elif mutation.kind == "missing_required":
            out.append((_apply(base, mutation), mutation))
        else:
            for value in _fixed_values(properties[mutation.field], mutation.kind):
                out.append((_apply(base, mutation, value), mutation))
    return out


def _field_mutations(
    schema: Mapping[str, Any], null_is_absent: bool = True
) -> dict[str, list[Mutation]]:
    by_field: dict[str, list[Mutation]] = {}
    for mutation in applicable_mutations(schema, null_is_absent=null_is_absent):
        if mutation.field is not None:
            by_field.setdefault(mutation.field, []).append(mutation)
    return by_field


def multi_field_invalid_bodies(
    schema: Mapping[str, Any], *, null_is_absent: bool = True
) -> st.SearchStrategy[tuple[dict[str, Any], tuple[Mutation, ...]]]:
    """Bodies broken on two or more distinct fields at once, and those mutations."""
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    by_field = _field_mutations(schema, null_is_absent)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Mutation, ...]]:
        fields = draw(
            st.lists(st.sampled_from(sorted(by_field)), min_size=2, max_size=4, unique=True)
        )
        body = draw(valid_bodies(schema))
        mutations = []
        for name in fields:
            mutation = draw(st.sampled_from(by_field[name]))
            mutations.append(mutation)
            value = (
                None
                if mutation.kind == "missing_required"
                else draw(_mutated_value(properties[name], mutation.kind))
            )
            body = _apply(body, mutation, value)
        return body, tuple(mutations)

    return build()


def every_field_invalid_body(
    schema: Mapping[str, Any], *, null_is_absent: bool = True
) -> tuple[dict[str, Any], tuple[Mutation, ...]]:
    """One body with every field broken by its first applicable mutation."""
    schema = merged_schema(schema)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    body = minimal_body(schema)
    mutations = []
    for name, candidates in _field_mutations(schema, null_is_absent).items():
        mutation = candidates[0]
        value = (
            None
            if mutation.kind == "missing_required"
            else _fixed_values(properties[name], mutation.kind)[0]
        )
        body = _apply(body, mutation, value)
        mutations.append(mutation)
    return body, tuple(mutations)


def _query_kinds(param: Parameter) -> list[MutationKind]:
    kinds: list[MutationKind] = []
    if set(types_of(param.schema)) & {"integer", "number", "boolean"}:
        kinds.append("wrong_type")
    return kinds + [k for k in _kinds_for(param.schema) if k not in ("wrong_type", "null")]


def _query_wrong_type(param: Parameter) -> st.SearchStrategy[str]:
    # Letters only: no server reads them as a number or a boolean ("true" aside).
    return _LETTERS.filter(lambda s: s not in ("true", "false"))


def invalid_queries(
    parameters: Sequence[Parameter],
) -> st.SearchStrategy[tuple[dict[str, str], Mutation]]:
    """A valid query with exactly one parameter broken, and that mutation."""
    candidates = [(p, Mutation(k, p.name)) for p in parameters for k in _query_kinds(p)]
    if not candidates:
        return st.nothing()

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, str], Mutation]:
        param, mutation = draw(st.sampled_from(candidates))
        query = draw(valid_queries(parameters))
        if mutation.kind == "wrong_type":
            query[param.name] = draw(_query_wrong_type(param))
        else:
            query[param.name] = query_value(draw(_mutated_value(param.schema, mutation.kind)))
        return query, mutation

    return build()


def explicit_invalid_queries(
    parameters: Sequence[Parameter],
) -> list[tuple[dict[str, str], Mutation]]:
    out: list[tuple[dict[str, str], Mutation]] = []
    for param in parameters:
        for kind in _query_kinds(param):
            mutation = Mutation(kind, param.name)
            values = ["abc"] if kind == "wrong_type" else _fixed_values(param.schema, kind)
            out.extend(({param.name: query_value(v)}, mutation) for v in values)
    return out
