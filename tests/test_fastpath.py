"""The compiled fast path agrees with jsonschema on every generated body.

Bodies are generated from the vendored spec's own schemas (values inside, on and just
past every bound, enum members and near misses, URI-like strings and junk, wrong
types, missing required fields, unknown fields, non-object bodies), so no field is
named here and a changed spec changes what is generated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from mockserver.cache import CACHE_DIR_ENV
from mockserver.fastpath import compile_acceptor
from mockserver.spec import load_spec
from mockserver.validation import OperationValidator, _BodyExplainer, format_checker

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
URI_LIKE = st.sampled_from(
    [
        "https://example.com/reference.mp4",
        "http://127.0.0.1:8080/hook?x=1#y",
        "not a uri",
        "",
        "http://",
        "//example.com/a",
        "/relative/path",
        "ftp://example.com/a b",
        "urn:isbn:0451450523",
        "mailto:someone@example.com",
        "http://[::1]:80/",
        "http://exa mple.com/",
        "https://example.com/%zz",
        "a:b",
        ":",
        "https://例え.jp/",
    ]
)


def _body_schemas() -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (op.operation_id, op.request_schema)
        for op in load_spec(None)
        if op.request_schema is not None
    ]


def values_for(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Values for one schema: many near its edges, some of any JSON type."""
    options: list[st.SearchStrategy[Any]] = [ANY_JSON]
    if "enum" in schema:
        members = [m for m in schema["enum"]]
        options.append(st.sampled_from(members))
        options.append(
            st.sampled_from(members).flatmap(
                lambda m: st.sampled_from([f"{m} ", f" {m}", str(m).upper(), f"{m}0", str(m)[:-1]])
            )
        )
    kind = schema.get("type")
    if kind == "string":
        options.append(st.text(max_size=30))
        for bound in ("maxLength", "minLength"):
            if bound in schema:
                n = int(schema[bound])
                options.append(
                    st.integers(max(0, n - 2), n + 2).flatmap(
                        lambda k: st.sampled_from(["a" * k, "é" * k, "😀" * k])
                    )
                )
        if "format" in schema:
            options.append(URI_LIKE)
    if kind in ("number", "integer"):
        edges = [schema[k] for k in ("minimum", "maximum") if k in schema]
        for edge in edges:
            options.append(
                st.sampled_from(
                    [
                        edge,
                        edge + 1,
                        edge - 1,
                        math.nextafter(edge, math.inf),
                        math.nextafter(edge, -math.inf),
                        float(edge),
                        int(edge),
                    ]
                )
            )
        low = min(edges, default=-10) - 5
        high = max(edges, default=10) + 5
        options.append(st.floats(low, high) | st.integers(int(low), int(high)))
        options.append(st.sampled_from([True, False, "1", None]))
    if kind == "object" and "properties" in schema:
        options.append(objects_for(schema))
    return st.one_of(options)


def objects_for(schema: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of the schema's properties, sometimes unknown ones too."""
    properties = schema.get("properties") or {}
    known = st.fixed_dictionaries({}, optional={n: values_for(s) for n, s in properties.items()})
    extra = st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=2)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


def bodies_for(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    return objects_for(schema) | values_for(schema)


SCHEMAS = _body_schemas()


def test_the_vendored_create_schema_gets_a_fast_path() -> None:
    assert SCHEMAS, "the vendored spec has an operation with a body schema"
    for operation_id, schema in SCHEMAS:
        assert compile_acceptor(schema, format_checker()) is not None, operation_id


@pytest.mark.parametrize(("operation_id", "schema"), SCHEMAS, ids=[s[0] for s in SCHEMAS])
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fast_path_agrees_with_jsonschema(
    operation_id: str, schema: Mapping[str, Any], data: st.DataObject
) -> None:
    checker = format_checker()
    accepts = compile_acceptor(schema, checker)
    assert accepts is not None
    body = data.draw(bodies_for(schema))
    expected = Draft4Validator(schema, format_checker=checker.jsonschema).is_valid(body)
    assert accepts(body) == expected, body


@pytest.mark.parametrize(("operation_id", "schema"), SCHEMAS, ids=[s[0] for s in SCHEMAS])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_the_cached_fast_path_decides_like_a_freshly_generated_one(
    operation_id: str,
    schema: Mapping[str, Any],
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The generated code is kept in the start-up cache; a start that reads it back
    (no fastjsonschema at all) must decide exactly as one that generates it."""
    checker = format_checker()
    folder = tmp_path_factory.mktemp("acceptor-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, "off")
        generated = compile_acceptor(schema, checker)
        patch.setenv(CACHE_DIR_ENV, str(folder))
        stored = compile_acceptor(schema, checker)  # generates and writes the entry
        read_back = compile_acceptor(schema, checker)
    assert len(list(folder.glob("acceptor-*"))) == 1
    assert generated is not None and stored is not None and read_back is not None
    body = data.draw(bodies_for(schema))
    assert generated(body) == stored(body) == read_back(body), body


def test_a_number_that_json_never_yields_is_left_to_jsonschema() -> None:
    """The cached code stands in its own type for decimal.Decimal: a Decimal is only
    ever refused here (and decided by jsonschema), never wrongly accepted."""
    accepts = compile_acceptor({"type": "number", "maximum": 2}, format_checker())
    assert accepts is not None
    assert accepts(1.5) and accepts(2) and not accepts(2.5)
    assert not accepts(Decimal("1.5"))


def test_fast_path_refuses_what_the_notes_warn_about() -> None:
    """``format: uri`` is really checked, and a refusal still gets jsonschema's reasons."""
    for operation_id, schema in SCHEMAS:
        accepts = compile_acceptor(schema, format_checker())
        assert accepts is not None
        uri_fields = [
            name for name, sub in schema["properties"].items() if sub.get("format") == "uri"
        ]
        valid = Draft4Validator(schema)  # no format checker: the required shape only
        base = {name: "https://example.com/a.mp4" for name in uri_fields}
        assert valid.is_valid(base) and accepts(base), operation_id
        for name in uri_fields:
            assert not accepts({**base, name: "not a uri"})


def test_validate_body_explains_with_jsonschema_and_leaves_the_body_alone() -> None:
    operation = next(op for op in load_spec(None) if op.request_schema is not None)
    validator = OperationValidator(operation)
    schema = operation.request_schema
    assert schema is not None
    required = {name: "https://example.com/a.mp4" for name in schema.get("required", [])}
    body = dict(required)
    assert validator.validate_body(body) == []
    assert body == required, "the fast path must not fill defaults into the body"
    problems = validator.validate_body({})
    expected = {e.path[0] if e.path else e.validator_value[0] for e in
                Draft4Validator(schema).iter_errors({})}  # fmt: skip
    assert {p.field for p in problems} == expected


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"n": {"enum": [1, 2]}}},
        {"type": "string", "pattern": "^a"},
        {"type": "array", "uniqueItems": True},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        {"type": ["string", "null"]},
        {"$ref": "#/definitions/x", "definitions": {"x": {"type": "string"}}},
    ],
)
def test_schemas_outside_the_shared_subset_stay_on_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_acceptor(schema, format_checker()) is None


_EXPLAINERS: dict[str, _BodyExplainer] = {}


def _explained(errors: Any) -> list[tuple[list[str], str, Any]]:
    ordered = sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])
    return [([str(p) for p in e.absolute_path], e.validator, e.validator_value) for e in ordered]


@pytest.mark.parametrize(("operation_id", "schema"), SCHEMAS, ids=[s[0] for s in SCHEMAS])
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_refusal_explained_field_by_field_is_the_whole_body_explanation(
    operation_id: str, schema: Mapping[str, Any], data: st.DataObject
) -> None:
    """validation._BodyExplainer finds the very errors a whole-body pass finds, in order,
    also when it answers from what it kept of earlier bodies (one explainer for all)."""
    checker = format_checker()
    explainer = _EXPLAINERS.setdefault(operation_id, _BodyExplainer(dict(schema), checker))
    body = data.draw(bodies_for(schema))
    whole = list(Draft4Validator(schema, format_checker=checker.jsonschema).iter_errors(body))
    assert _explained(explainer.errors(body)) == _explained(whole), body
    assert _explained(explainer.errors(body)) == _explained(whole), body  # kept this time


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "required": ["a"],
            "additionalProperties": False,
            "properties": {"a": {"type": "integer", "maximum": 3}, "b": {"enum": ["x"]}},
        },
        {
            "type": "object",
            "properties": {"a": {"type": "array", "items": {"type": "string"}, "maxItems": 2}},
            "additionalProperties": {"type": "integer"},
        },
        {"allOf": [{"required": ["a"]}], "properties": {"a": {"type": "string"}}},
    ],
)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_field_by_field_explanations_hold_beyond_the_vendored_schema(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    checker = format_checker()
    explainer = _BodyExplainer(schema, checker)
    body = data.draw(bodies_for(schema) | ANY_JSON)
    whole = Draft4Validator(schema, format_checker=checker.jsonschema).iter_errors(body)
    assert _explained(explainer.errors(body)) == _explained(whole), body
