"""Bodies built from a schema: deterministic, and valid against it."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from mockserver.spec import to_json_schema
from mockserver.synthesis import body_for, is_valid, value_for

SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "object",
        "required": ["id", "when"],
        "properties": {
            "id": {"type": "integer", "minimum": 7},
            "when": {"type": "string", "format": "date-time"},
            "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
            "kind": {"type": "string", "enum": ["a", "b"]},
            "name": {"type": "string", "minLength": 12, "maxLength": 12},
            "url": {"type": "string", "format": "uri"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "maybe": {"type": "string", "nullable": True},
        },
    },
    {"allOf": [{"properties": {"a": {"type": "string"}}}, {"required": ["a"]}]},
    {"oneOf": [{"type": "integer", "maximum": -3}, {"type": "string"}]},
    {"type": "array", "items": {"type": "string", "format": "uuid"}, "maxItems": 0},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_built_value_meets_its_schema(schema: dict[str, Any]) -> None:
    for minimal in (False, True):
        value = value_for(schema, minimal=minimal)
        validator = jsonschema.Draft4Validator(
            to_json_schema(schema), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
        )
        assert not list(validator.iter_errors(value)), value
        assert value_for(schema, minimal=minimal) == value  # the same every time


def test_minimal_values_hold_only_what_is_required() -> None:
    value = value_for(SCHEMAS[0], minimal=True)
    assert set(value) == {"id", "when"} and value["id"] == 7
    assert set(value_for(SCHEMAS[0])) > {"id", "when", "tags"}


def test_examples_are_preferred_where_they_meet_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "example": 5}}}
    assert value_for(schema) == {"n": 5}
    wrong = {"type": "integer", "example": "five", "minimum": 2}
    assert value_for(wrong) == 2
    assert body_for(schema, iter([{"n": "x"}, {"n": 9}])) == {"n": 9}


def test_is_valid_checks_formats() -> None:
    assert not is_valid({"type": "string", "format": "uri"}, "not a uri")
    assert is_valid({"type": "string", "format": "uri"}, "https://example.com/")
