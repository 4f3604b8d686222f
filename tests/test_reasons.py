"""The 400 body per profile: the live API's envelope and pydantic's words, or the spec's."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from mockserver.reasons import SPEC_REASONS, invalid_params_body, spec_reason
from mockserver.spec import load_spec
from mockserver.validation import OperationValidator, Problem, RequestInvalid

CFG_TOO_HIGH = Problem(
    ("body", "cfg_scale"), "less_than_equal", "Input should be less than or equal to 2", {"le": 2.0}
)
PAGE_TOO_LOW = Problem(
    ("query", "page"), "greater_than", "Input should be greater than 0", {"gt": 0}
)


def test_the_observed_body_is_the_live_apis() -> None:
    # As recorded from the live API (facts file): the field a location path, pydantic's msg.
    assert invalid_params_body([CFG_TOO_HIGH, PAGE_TOO_LOW], "observed") == {
        "message": "Validation error",
        "invalid_params": [
            {"field": "body.cfg_scale", "reason": "Input should be less than or equal to 2"},
            {"field": "query.page", "reason": "Input should be greater than 0"},
        ],
    }


def test_the_spec_body_has_the_shape_and_style_of_the_spec_example() -> None:
    spec = load_spec()
    documented = spec.by_id("getAiReferenceToVideoKlingV3OmniTasks").source
    doc = spec.documents[documented]
    example = doc["paths"]["/v1/ai/reference-to-video/kling-v3-omni"]["get"]["responses"]["400"][
        "content"
    ]["application/problem+json"]["examples"]["invalid_page"]["value"]
    body = invalid_params_body([PAGE_TOO_LOW], "spec")
    assert body["message"] == example["message"]
    assert body["invalid_params"] == [example["invalid_params"][0]]  # page must be > 0


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        (Problem(("body", "video_url"), "missing", "Field required", {}),
         "Parameter 'video_url' is required"),
        (Problem(("body",), "missing", "Field required", {}), "Request body is required"),
        (CFG_TOO_HIGH, "Parameter 'cfg_scale' must be at most 2"),
        (Problem(("body", "cfg_scale"), "greater_than_equal", "", {"ge": 0.0}),
         "Parameter 'cfg_scale' must be at least 0"),
        (Problem(("body", "cfg_scale"), "greater_than", "", {"gt": 0.5}),
         "Parameter 'cfg_scale' must be greater than 0.5"),
        (Problem(("body", "prompt"), "string_too_long", "", {"max_length": 2500}),
         "Parameter 'prompt' must be at most 2500 characters long"),
        (Problem(("body", "duration"), "string_type", "", {}),
         "Parameter 'duration' must be a string"),
        (Problem(("body", "cfg_scale"), "float_type", "", {}),
         "Parameter 'cfg_scale' must be a number"),
        (Problem(("query", "page"), "int_parsing", "", {}), "Parameter 'page' must be an integer"),
        (Problem(("body", "aspect_ratio"), "literal_error", "", {"expected": "'auto' or '1:1'"}),
         "Parameter 'aspect_ratio' must be one of: 'auto' or '1:1'"),
        (Problem(("body", "video_url"), "url_parsing", "", {"error": "empty host"}),
         "Parameter 'video_url' must be a valid uri"),
        (Problem(("body", "ids"), "too_long", "", {"max_length": 6, "actual_length": 7}),
         "Parameter 'ids' must have at most 6 items"),
        (Problem(("body",), "model_attributes_type", "", {}),
         "Request body must be a JSON object"),
        (Problem(("body", "elements", 0, "url"), "string_type", "", {}),
         "Parameter 'elements.0.url' must be a string"),
        (Problem(("body", 7), "json_invalid", "JSON decode error", {"error": "Expecting value"}),
         "Request body is not valid JSON: Expecting value (char 7)"),
        (Problem(("body", "x"), "some_future_type", "", {}), "Parameter 'x' is not valid"),
    ],
)  # fmt: skip
def test_each_spec_reason_reads_like_the_spec_examples(problem: Problem, reason: str) -> None:
    assert spec_reason(problem) == reason
    assert invalid_params_body([problem], "spec")["invalid_params"][0]["reason"] == reason


def test_a_malformed_body_is_named_body_in_the_spec_profile() -> None:
    problem = Problem(("body", 3), "json_invalid", "JSON decode error", {"error": "x"})
    assert invalid_params_body([problem], "spec")["invalid_params"][0]["name"] == "body"
    assert invalid_params_body([problem], "observed")["invalid_params"][0]["field"] == "body.3"


BROKEN_BODIES: list[Any] = [
    {},
    [],
    {"video_url": "x", "prompt": 1, "cfg_scale": "1", "duration": 5, "aspect_ratio": None},
    {"video_url": 1, "prompt": "x" * 2501, "cfg_scale": -1, "negative_prompt": None},
    {"video_url": None, "cfg_scale": 9, "webhook_url": "http://"},
]


def test_every_problem_the_vendored_spec_yields_has_its_own_spec_reason() -> None:
    spec = load_spec()
    seen: set[str] = set()
    for operation in spec:
        validator = OperationValidator(operation, "spec")
        raws = [orjson.dumps(b) for b in BROKEN_BODIES] + [b"", b"{", b"\xff"]
        for raw in raws if validator.has_body_schema else []:
            try:
                validator.body(raw)
            except RequestInvalid as exc:
                seen.update(p.type for p in exc.problems)
        for query in ({"page": "0"}, {"page": "x", "page_size": "101"}):
            try:
                validator.query(query)
            except RequestInvalid as exc:
                seen.update(p.type for p in exc.problems)
    assert seen - {"json_invalid"} <= set(SPEC_REASONS)
    assert {"missing", "model_attributes_type", "url_parsing", "greater_than_equal"} <= seen
