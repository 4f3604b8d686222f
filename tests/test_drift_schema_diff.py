"""Classification rules of one schema comparison, request and response side."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.drift.findings import Direction, Severity
from mockserver.drift.schema_diff import Collector, diff_schema

B, N, INFO = Severity.BREAKING, Severity.NON_BREAKING, Severity.INFO


def _diff(old: Any, new: Any, direction: Direction = Direction.REQUEST) -> list[tuple[Any, ...]]:
    out = Collector()
    diff_schema(old, new, ("s",), "body", direction, out, ("OP",))
    return [(f.severity, f.rule, f.path, f.old, f.new) for f in out.findings]


OBJ: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"type": "integer", "maximum": 5}, {"type": "integer", "maximum": 4},
         (B, "range-narrowed", "$.s.maximum", 5, 4)),
        ({"type": "integer", "maximum": 5}, {"type": "integer", "maximum": 6},
         (N, "range-widened", "$.s.maximum", 5, 6)),
        ({"type": "integer"}, {"type": "integer", "minimum": 1},
         (B, "range-narrowed", "$.s.minimum", None, 1)),
        ({"type": "integer", "minimum": 1}, {"type": "integer"},
         (N, "range-widened", "$.s.minimum", 1, None)),
        ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5},
         (B, "length-narrowed", "$.s.maxLength", 10, 5)),
        ({"type": "number", "maximum": 1}, {"type": "number", "maximum": 1,
                                            "exclusiveMaximum": True},
         (B, "range-narrowed", "$.s.exclusiveMaximum", None, True)),
        ({"type": "string"}, {"type": "integer"},
         (B, "type-changed", "$.s.type", "string", "integer")),
        ({"type": "integer"}, {"type": "number"},
         (N, "type-widened", "$.s.type", "integer", "number")),
        ({"type": "string"}, {"type": "string", "nullable": True},
         (N, "nullable-added", "$.s.type", "string", "null or string")),
        ({"type": "string"}, {"type": "string", "format": "uri"},
         (B, "format-changed", "$.s.format", None, "uri")),
        ({"type": "string", "format": "uri"}, {"type": "string"},
         (N, "format-removed", "$.s.format", "uri", None)),
        ({"type": "number", "format": "float"}, {"type": "number", "format": "double"},
         (INFO, "format-changed", "$.s.format", "float", "double")),
        ({"type": "string"}, {"type": "string", "enum": ["a"]},
         (B, "enum-added", "$.s.enum", None, ["a"])),
        ({"type": "string", "default": "5"}, {"type": "string", "default": "10"},
         (N, "default-changed", "$.s.default", "5", "10")),
        (OBJ, {**OBJ, "additionalProperties": False},
         (B, "additional-properties-forbidden", "$.s.additionalProperties", True, False)),
        ({"type": "string", "description": "x"}, {"type": "string", "description": "y"},
         (INFO, "description-changed", "$.s.description", "x", "y")),
        ({"type": "string", "example": "x"}, {"type": "string", "example": "y"},
         (INFO, "example-changed", "$.s.example", "x", "y")),
        ({"type": "string", "x-note": 1}, {"type": "string", "x-note": 2},
         (INFO, "extension-changed", "$.s['x-note']", 1, 2)),
        ({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
         {"type": "array", "items": {"type": "string", "enum": ["a"]}},
         (B, "enum-value-removed", "$.s.items.enum", ["a", "b"], ["a"])),
    ],
)
def test_one_change_one_finding(old: Any, new: Any, expected: tuple[Any, ...]) -> None:
    assert _diff(old, new) == [expected]


def test_enum_values_keep_their_type() -> None:
    # "16:9" read as YAML 1.1 would be 969: a different value, so it must show as drift.
    assert [rule for _, rule, *_ in _diff({"enum": ["16:9"]}, {"enum": [969]})] == [
        "enum-value-removed", "enum-value-added"
    ]


def test_required_means_opposite_things_for_requests_and_responses() -> None:
    optional = {**OBJ}
    required = {**OBJ, "required": ["a"]}
    assert [(s, r) for s, r, *_ in _diff(optional, required, Direction.REQUEST)] == [
        (B, "field-became-required")
    ]
    assert [(s, r) for s, r, *_ in _diff(required, optional, Direction.REQUEST)] == [
        (N, "field-no-longer-required")
    ]
    assert [(s, r) for s, r, *_ in _diff(optional, required, Direction.RESPONSE)] == [
        (N, "field-became-required")
    ]
    assert [(s, r) for s, r, *_ in _diff(required, optional, Direction.RESPONSE)] == [
        (B, "field-no-longer-required")
    ]


def test_a_new_required_field_breaks_requests_but_not_responses() -> None:
    new = {"type": "object", "properties": {**OBJ["properties"], "b": {"type": "string"}},
           "required": ["b"]}
    assert [(s, r) for s, r, *_ in _diff(OBJ, new, Direction.REQUEST)] == [
        (B, "required-field-added")
    ]
    assert [(s, r) for s, r, *_ in _diff(OBJ, new, Direction.RESPONSE)] == [
        (N, "field-added")
    ]


def test_moving_fields_into_allof_parts_is_not_drift() -> None:
    flat = {"type": "object", "required": ["a", "b"],
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}
    split = {"allOf": [
        {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
        {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}},
    ]}
    assert _diff(flat, split) == []
    assert _diff(split, flat, Direction.RESPONSE) == []


def test_a_type_change_is_reported_once_not_with_every_keyword_it_drags_along() -> None:
    old = {"type": "string", "maxLength": 10, "format": "uri"}
    new = {"type": "array", "items": {"type": "string"}}
    assert [r for _, r, *_ in _diff(old, new)] == ["type-changed"]


def test_the_vendored_x_derived_mark_is_not_compared() -> None:
    assert _diff({"type": "string", "x-derived": True}, {"type": "string"}) == []


def test_a_removed_derived_field_is_a_note_not_a_finding() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string", "x-derived": True}}}
    out = Collector()
    diff_schema(old, {"type": "object"}, ("s",), "body", Direction.RESPONSE, out, ("OP",))
    assert out.findings == []
    assert [n.path for n in out.not_covered] == ["$.s.properties.a"]
