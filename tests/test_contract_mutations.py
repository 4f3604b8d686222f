"""Invalid requests: each is invalid exactly where its mutation says, and follows the spec."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from jsonschema import Draft4Validator

from contract_tests.mutations import (
    Mutation,
    applicable_mutations,
    every_field_invalid_body,
    explicit_invalid_bodies,
    explicit_invalid_queries,
    invalid_bodies,
    invalid_queries,
    multi_field_invalid_bodies,
)
from contract_tests.operations import ContractSpec, request_schema
from mockserver.spec import load_yaml, vendored_spec_dir
from mockserver.validation import OperationValidator, RequestInvalid

SPEC = ContractSpec.load()
# The first family and its first create (the reference-to-video family): the checks below
# are about one operation; the suite runs them for every operation of every family.
FAMILY = SPEC.families[0]
CREATE = FAMILY.creates[0]
SCHEMA = request_schema(CREATE)
VALIDATOR = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)
LIST_VALIDATOR = OperationValidator(FAMILY.list)


def _failing_fields(body: Any) -> set[str]:
    fields: set[str] = set()
    for error in VALIDATOR.iter_errors(body):
        if error.validator == "required" and not error.absolute_path:
            fields.update(f for f in error.validator_value if f not in body)
        else:
            fields.add(".".join(map(str, error.absolute_path)) or "(body)")
    return fields


def _check(body: Any, mutation: Mutation) -> None:
    expected = {mutation.field} if mutation.field is not None else {"(body)"}
    assert _failing_fields(body) == expected, (body, mutation)


@settings(max_examples=300)
@given(case=invalid_bodies(SCHEMA))
def test_each_invalid_body_fails_on_exactly_its_mutated_field(case: tuple[Any, Mutation]) -> None:
    _check(*case)


def test_every_fixed_invalid_body_fails_on_exactly_its_mutated_field() -> None:
    cases = explicit_invalid_bodies(SCHEMA)
    for body, mutation in cases:
        _check(body, mutation)
    assert {m for _, m in cases} == set(applicable_mutations(SCHEMA))


def test_every_mutation_kind_the_spec_admits_is_generated() -> None:
    kinds = {m.kind for m in applicable_mutations(SCHEMA)}
    assert kinds == {
        "missing_required", "wrong_type", "outside_enum", "over_max_length",
        "out_of_range", "not_a_uri", "null", "non_object_body",
    }  # fmt: skip
    # Read off the spec: only uri fields can be "not a uri", only cfg_scale has a range.
    assert {m.field for m in applicable_mutations(SCHEMA) if m.kind == "not_a_uri"} == {
        "video_url",
        "webhook_url",
    }
    assert {m.field for m in applicable_mutations(SCHEMA) if m.kind == "out_of_range"} == {
        "cfg_scale"
    }


@settings(max_examples=150)
@given(case=multi_field_invalid_bodies(SCHEMA))
def test_multi_field_bodies_fail_on_each_mutated_field(
    case: tuple[dict[str, Any], tuple[Mutation, ...]],
) -> None:
    body, mutations = case
    assert len(mutations) >= 2
    assert _failing_fields(body) == {m.field for m in mutations}


def test_the_every_field_body_breaks_every_field() -> None:
    body, mutations = every_field_invalid_body(SCHEMA)
    assert _failing_fields(body) == set(SCHEMA["properties"])
    assert len(mutations) == len(SCHEMA["properties"])


@settings(max_examples=150)
@given(case=invalid_queries(FAMILY.query_parameters()))
def test_each_invalid_query_fails_on_its_parameter(case: tuple[dict[str, str], Mutation]) -> None:
    query, mutation = case
    with pytest.raises(RequestInvalid) as refused:
        LIST_VALIDATOR.query(query)
    assert {p.loc for p in refused.value.problems} == {("query", mutation.field)}


def test_fixed_invalid_queries_hit_both_ends_of_page_size() -> None:
    cases = explicit_invalid_queries(FAMILY.query_parameters())
    assert ({"page_size": "101"}, Mutation("out_of_range", "page_size")) in cases
    assert ({"page_size": "0"}, Mutation("out_of_range", "page_size")) in cases


def test_a_spec_change_changes_the_mutations(tmp_path: Path) -> None:
    for source in vendored_spec_dir().glob("*.yaml"):
        shutil.copy(source, tmp_path / source.name)
    # The document holding the create operation the contract tests exercise.
    target = tmp_path / CREATE.source.name
    doc = load_yaml(target.read_bytes())
    request = doc["components"]["schemas"]["kling-v3-omni-video-reference-request"]
    del request["properties"]["cfg_scale"]["maximum"]
    request["properties"]["image_url"]["format"] = "uri"
    request["required"].append("prompt")
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    changed = request_schema(ContractSpec.load(tmp_path).families[0].creates[0])

    mutations = set(applicable_mutations(changed))
    assert Mutation("not_a_uri", "image_url") in mutations
    assert Mutation("missing_required", "prompt") in mutations
    out_of_range = Mutation("out_of_range", "cfg_scale")
    cfg_values = [b["cfg_scale"] for b, m in explicit_invalid_bodies(changed) if m == out_of_range]
    assert cfg_values == [-0.1]  # only below the minimum is left
