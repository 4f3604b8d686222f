"""Valid-request strategies: valid per the spec, covering it, and following it when it changes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator

from contract_tests.operations import ContractSpec, request_schema
from contract_tests.strategies import (
    UnsupportedSchema,
    boundary_bodies,
    boundary_values,
    from_schema,
    valid_bodies,
    valid_queries,
)
from mockserver.spec import load_yaml, vendored_spec_dir

SPEC = ContractSpec.load()
# The first family and its first create (the reference-to-video family): the checks below
# are about one operation; the suite runs them for every operation of every family.
FAMILY = SPEC.families[0]
CREATE = FAMILY.creates[0]
SCHEMA = request_schema(CREATE)
VALIDATOR = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)


@settings(max_examples=200)
@given(body=valid_bodies(SCHEMA))
def test_generated_bodies_are_valid_per_the_spec(body: dict[str, Any]) -> None:
    assert list(VALIDATOR.iter_errors(body)) == []


@settings(max_examples=100)
@given(query=valid_queries(FAMILY.query_parameters()))
def test_generated_queries_are_valid_per_the_spec(query: dict[str, str]) -> None:
    for param in FAMILY.query_parameters():
        if param.name in query:
            value = int(query[param.name])  # both are integers in the spec
            assert Draft4Validator(param.schema).is_valid(value)


def test_boundary_bodies_cover_every_field_enum_value_and_limit() -> None:
    bodies = boundary_bodies(SCHEMA)
    for body in bodies:
        assert VALIDATOR.is_valid(body), body
    properties = SCHEMA["properties"]
    assert set().union(*(body.keys() for body in bodies)) == set(properties)
    durations = {body.get("duration") for body in bodies}
    assert set(properties["duration"]["enum"]) <= durations
    ratios = {body.get("aspect_ratio") for body in bodies}
    assert set(properties["aspect_ratio"]["enum"]) <= ratios
    cfg = {body.get("cfg_scale") for body in bodies}
    assert {0, 2, 0.5} <= cfg  # minimum, maximum and default
    prompts = [body["prompt"] for body in bodies if "prompt" in body]
    assert max(len(p) for p in prompts) == properties["prompt"]["maxLength"]


def test_openapi_specifics_are_honoured() -> None:
    nullable: dict[str, Any] = {"type": ["string", "null"], "maxLength": 3}
    assert None in boundary_values(nullable)
    assert boundary_values({"type": "number", "minimum": 0, "maximum": 1, "format": "float"}) == [
        0,
        1,
    ]
    with pytest.raises(UnsupportedSchema, match="oneOf"):
        from_schema({"oneOf": [{"type": "string"}]})


@settings(max_examples=50)
@given(data=st.data())
def test_format_float_values_fit_in_32_bits(data: st.DataObject) -> None:
    import struct

    value = data.draw(from_schema({"type": "number", "format": "float"}))
    assert struct.unpack("f", struct.pack("f", value))[0] == value


def _spec_copy(tmp_path: Path, edit: Any) -> ContractSpec:
    for source in vendored_spec_dir().glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    # The document holding the create operation the contract tests exercise.
    target = tmp_path / CREATE.source.name
    doc = load_yaml(target.read_bytes())
    edit(doc["components"]["schemas"])
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return ContractSpec.load(tmp_path)


def test_changing_the_spec_changes_what_is_generated(tmp_path: Path) -> None:
    def edit(schemas: dict[str, Any]) -> None:
        request = schemas["kling-v3-omni-video-reference-request"]
        request["properties"]["cfg_scale"]["maximum"] = 1
        request["properties"]["seed"] = {"type": "integer", "minimum": 0, "maximum": 99}
        schemas["kling-v3-duration"]["enum"].append("20")

    changed = request_schema(_spec_copy(tmp_path, edit).families[0].creates[0])
    bodies = boundary_bodies(changed)
    assert {b.get("cfg_scale") for b in bodies} >= {0, 1}
    assert 2 not in {b.get("cfg_scale") for b in bodies}
    assert {b.get("seed") for b in bodies} >= {0, 99}
    assert "20" in {b.get("duration") for b in bodies}
    assert "20" not in {b.get("duration") for b in boundary_bodies(SCHEMA)}

    @settings(max_examples=100)
    @given(body=valid_bodies(changed))
    def within_new_limits(body: dict[str, Any]) -> None:
        assert body.get("cfg_scale", 0) <= 1
        assert 0 <= body.get("seed", 0) <= 99

    within_new_limits()
