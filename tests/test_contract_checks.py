"""The checks judge an answer by the spec alone: statuses, schemas, examples, fields named."""

from __future__ import annotations

from typing import Any

from contract_tests import checks
from contract_tests.exchange import Exchange
from contract_tests.operations import ContractSpec

SPEC = ContractSpec.load()
# The first family and its first create (the reference-to-video family): the checks below
# are about one operation; the suite runs them for every operation of every family.
FAMILY = SPEC.families[0]
CREATE = FAMILY.creates[0]
TASK_ID = "046b6c7f-0b8a-43b9-b35d-6489e6daee91"


def _answer(status: int, body: Any, content_type: str = "application/json") -> Exchange:
    return Exchange(
        "GET", "/x", status=status, content_type=content_type, response_body=body, json_ok=True
    )


def test_an_undocumented_status_is_reported() -> None:
    problems = checks.check_answer(CREATE, _answer(422, {"message": "no"}))
    assert problems == ["status 422 is not documented (the spec has 200, 400, 401, 500, 503)"]
    assert checks.check_answer(FAMILY.get, _answer(404, {"message": "AI resource not found"})) == []


def test_bodies_are_checked_against_the_schema_of_their_status() -> None:
    good = {"data": {"task_id": TASK_ID, "status": "COMPLETED", "generated": ["https://x.y/a"]}}
    assert checks.check_answer(FAMILY.get, _answer(200, good)) == []
    bad_status = {"data": {**good["data"], "status": "DONE"}}
    assert "is not one of" in checks.check_answer(FAMILY.get, _answer(200, bad_status))[0]
    no_generated = {"data": {"task_id": TASK_ID, "status": "CREATED"}}
    assert (
        "'generated' is a required property"
        in checks.check_answer(FAMILY.get, _answer(200, no_generated))[0]
    )
    not_a_uri = {"data": {**good["data"], "generated": ["not a uri"]}}
    assert checks.check_answer(FAMILY.get, _answer(200, not_a_uri))


def test_the_post_200_has_no_schema_so_any_json_passes() -> None:
    assert checks.check_answer(CREATE, _answer(200, ["anything"])) == []


def test_a_content_type_the_spec_does_not_document_is_reported() -> None:
    problems = checks.check_answer(CREATE, _answer(400, {"message": "x"}, "text/html"))
    assert "'text/html' is not documented for 400" in problems[0]
    problem_json = _answer(400, {"message": "x"}, "application/problem+json")
    assert checks.check_answer(CREATE, problem_json) == []


def test_a_400_must_name_each_broken_field_by_field_or_name() -> None:
    by_field = _answer(
        400, {"message": "m", "invalid_params": [{"field": "cfg_scale", "reason": "r"}]}
    )
    by_name = _answer(
        400, {"message": "m", "invalid_params": [{"name": "cfg_scale", "reason": "r"}]}
    )
    nested = _answer(400, {"problem": {"message": "m", "invalid_params": [{"name": "cfg_scale"}]}})
    for exchange in (by_field, by_name, nested):
        assert checks.names_fields(exchange, ["cfg_scale"]) == []
    assert checks.names_fields(by_field, ["cfg_scale", "prompt"]) == [
        "the 400 does not name 'prompt' in invalid_params (it names ['cfg_scale'])"
    ]
    assert checks.names_fields(_answer(400, {"message": "m"}), ["prompt"])


def test_a_401_must_be_the_documented_example_for_its_case() -> None:
    examples = SPEC.examples(CREATE, "401")
    missing = checks.example_named(examples, "missing")
    assert missing == "missing_api_key"
    good = _answer(401, {"message": "Missing API key"})
    assert checks.matches_documented_example(examples, good, missing) == []
    swapped = _answer(401, {"message": "Invalid API key"})
    assert checks.matches_documented_example(examples, swapped, missing)
    assert checks.matches_documented_example(examples, _answer(401, {"message": "Unauthorized"}))
