"""The profiles' expectations: the live API's answers, checked against pydantic itself,
and the spec's examples; and valid bodies that keep the spec's rules across fields."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from hypothesis import given, settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract_tests.exchange import Exchange
from contract_tests.mutations import Mutation
from contract_tests.operations import ContractSpec, request_schema
from contract_tests.profiles import (
    OBSERVED_INVALID_KEY_BODY,
    Broken,
    Profile,
    reason_problems,
)
from contract_tests.rules import keeps_rules
from contract_tests.strategies import boundary_bodies, minimal_body, valid_bodies
from mockserver.errors import OBSERVED_INVALID_KEY_BODY as FAKES_BODY

OBSERVED = Profile("observed")
SPEC_PROFILE = Profile("spec")
LIVE_HEADERS = {
    "x-request-id": "ak-0123456789abcdef0123456789abcdef",
    "cache-control": "max-age=0, no-cache, no-store",
    "pragma": "no-cache",
    "expires": "Tue, 01 Dec 2026 10:00:00 GMT",
}


def test_the_wrong_key_body_is_the_recorded_one() -> None:
    # Copied from the facts file's recordings; the fake's copy must be the same bytes.
    assert len(OBSERVED_INVALID_KEY_BODY) == 220
    assert OBSERVED_INVALID_KEY_BODY.endswith(b"}\n")
    assert OBSERVED_INVALID_KEY_BODY == FAKES_BODY


class Body(BaseModel):
    """A FastAPI-style model with the rules the mutations break (lax, as FastAPI reads)."""

    model_config = ConfigDict(extra="ignore")
    name: str
    prompt: str | None = Field(default=None, max_length=5)
    one: str | None = Field(default=None, max_length=1)
    ratio: Literal["16:9", "9:16", "1:1"] | None = None
    scale: float | None = Field(default=None, ge=0, le=2)
    count: int | None = Field(default=None, ge=1, le=100)
    flag: bool | None = None
    items: list[str] | None = None


SCHEMAS: dict[str, dict[str, Any]] = {
    "name": {"type": "string"},
    "prompt": {"type": "string", "maxLength": 5},
    "one": {"type": "string", "maxLength": 1},
    "ratio": {"type": "string", "enum": ["16:9", "9:16", "1:1"]},
    "scale": {"type": "number", "minimum": 0, "maximum": 2},
    "count": {"type": "integer", "minimum": 1, "maximum": 100},
    "flag": {"type": "boolean"},
    "items": {"type": "array", "items": {"type": "string"}},
}


def _pydantic_reason(body: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as refused:
        Body.model_validate(body)
    (error,) = refused.value.errors()
    return ".".join(map(str, ("body", *error["loc"]))), error["msg"]


@pytest.mark.parametrize(
    ("mutation", "body"),
    [
        (Mutation("missing_required"), {}),
        (Mutation("over_max_length", "prompt"), {"prompt": "abcdef"}),
        (Mutation("over_max_length", "one"), {"one": "ab"}),
        (Mutation("outside_enum", "ratio"), {"ratio": "4:3"}),
        (Mutation("wrong_type", "ratio"), {"ratio": 7}),
        (Mutation("out_of_range", "scale"), {"scale": 2.5}),
        (Mutation("out_of_range", "scale"), {"scale": -1}),
        (Mutation("out_of_range", "count"), {"count": 101}),
        (Mutation("out_of_range", "count"), {"count": 0}),
        (Mutation("wrong_type", "prompt"), {"prompt": 5}),
        (Mutation("wrong_type", "scale"), {"scale": "not-a-number"}),
        (Mutation("wrong_type", "count"), {"count": "abc"}),
        (Mutation("wrong_type", "flag"), {"flag": "not-a-boolean"}),
        (Mutation("wrong_type", "items"), {"items": "x"}),
    ],
)
def test_each_expected_reason_is_pydantics_own(mutation: Mutation, body: dict[str, Any]) -> None:
    field = mutation.field or "name"
    full = {"name": "n", **body} if mutation.kind != "missing_required" else body
    location, reason = _pydantic_reason(full)
    assert location == f"body.{field}"
    broken = Broken(location, Mutation(mutation.kind, field), SCHEMAS[field], full.get(field))
    assert reason_problems(broken, reason) == [], reason
    # ... and another wording is caught.
    assert reason_problems(broken, "is not valid")


@pytest.mark.parametrize("value", [[], "video", 5, None])
def test_a_body_that_is_no_object_gets_pydantics_reason(value: Any) -> None:
    class Model(BaseModel):
        name: str

    def fastapi_reads(raw: Any) -> str:
        if raw is None:  # FastAPI reads a JSON null as no body: the body is missing
            return "Field required"
        with pytest.raises(ValidationError) as refused:
            Model.model_validate(raw, from_attributes=True)
        return str(refused.value.errors()[0]["msg"])

    broken = Broken("body", Mutation("non_object_body"), None, value)
    assert reason_problems(broken, fastapi_reads(value)) == []


def _answer(
    status: int, body: Any, raw: bytes = b"", headers: dict[str, str] | None = None
) -> Exchange:
    return Exchange(
        "POST",
        "/v1/x",
        status=status,
        content_type="application/json",
        response_body=body,
        json_ok=True,
        response_headers={**LIVE_HEADERS, **(headers or {})},
        response_raw=raw,
    )


def test_observed_refusal_wants_one_item_per_broken_field_and_no_other() -> None:
    broken = [
        Broken("body.prompt", Mutation("over_max_length", "prompt"), SCHEMAS["prompt"], "abcdef"),
        Broken("body.count", Mutation("out_of_range", "count"), SCHEMAS["count"], 0),
    ]
    good = {
        "message": "Validation error",
        "invalid_params": [
            {"field": "body.prompt", "reason": "String should have at most 5 characters"},
            {"field": "body.count", "reason": "Input should be greater than or equal to 1"},
        ],
    }
    assert OBSERVED.refusal({}, _answer(400, good), broken) == []
    twice = {**good, "invalid_params": [*good["invalid_params"], good["invalid_params"][0]]}
    assert any("named twice" in p for p in OBSERVED.refusal({}, _answer(400, twice), broken))
    extra = {
        **good,
        "invalid_params": [*good["invalid_params"], {"field": "body.x", "reason": "r"}],
    }
    assert any("not broken" in p for p in OBSERVED.refusal({}, _answer(400, extra), broken))
    by_name = {
        "message": "Your request parameters didn't validate.",
        "invalid_params": [{"name": "prompt", "reason": "r"}, {"name": "count", "reason": "r"}],
    }
    problems = OBSERVED.refusal({}, _answer(400, by_name), broken)
    assert any("'Validation error'" in p for p in problems)
    # The spec profile takes the spec's example form instead.
    spec = ContractSpec.load()
    create = spec.creates[0]
    examples = spec.examples(create, "400")
    assert SPEC_PROFILE.refusal(examples, _answer(400, by_name), broken) == []
    assert SPEC_PROFILE.refusal(examples, _answer(400, good), broken)


def test_observed_wants_the_live_headers_on_every_answer() -> None:
    assert Profile.header_problems(_answer(404, {})) == []
    wrong = _answer(404, {}, headers={"x-request-id": "req-1", "pragma": "cache"})
    problems = Profile.header_problems(wrong)
    assert len(problems) == 2
    assert "x-request-id" in problems[0] and "pragma" in problems[1]


def test_observed_wants_the_create_answer_byte_for_byte() -> None:
    task = "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
    raw = f'{{"data":{{"task_id":"{task}","status":"CREATED","generated":[]}}}}'.encode()
    assert len(raw) == 93
    body = {"data": {"task_id": task, "status": "CREATED", "generated": []}}
    assert OBSERVED.created(_answer(200, body, raw)) == []
    reordered = f'{{"data":{{"generated":[],"task_id":"{task}","status":"CREATED"}}}}'.encode()
    assert OBSERVED.created(_answer(200, body, reordered))
    assert SPEC_PROFILE.created(_answer(200, body, reordered)) == []


def test_the_wrong_key_401_per_profile() -> None:
    spec = ContractSpec.load()
    examples = spec.examples(spec.creates[0], "401")
    live = _answer(401, {"message": "x"}, OBSERVED_INVALID_KEY_BODY)
    documented = _answer(401, {"message": "Invalid API key"}, b'{"message":"Invalid API key"}')
    assert OBSERVED.refused_key(examples, live, "wrong") == []
    assert OBSERVED.refused_key(examples, documented, "wrong")
    assert SPEC_PROFILE.refused_key(examples, documented, "wrong") == []
    assert SPEC_PROFILE.refused_key(examples, live, "wrong")
    missing = _answer(401, {"message": "Missing API key"})
    for profile in (OBSERVED, SPEC_PROFILE):  # never observed: the documented reading
        assert profile.refused_key(examples, missing, "none") == []


# The text/image-to-video request with rules across its fields as the spec states them
# in prose, declared in the extension the fake and the contract suite read.
RULED = {
    **request_schema(ContractSpec.load().families[1].creates[0]),
    "x-freepik-mock-rules": [
        {"given": ["prompt", "multi_prompt"], "min": 1, "unless_given": ["image_url"]},
        {"given": ["prompt", "multi_prompt"], "min": 1, "max": 1, "when_given": ["image_url"]},
        {"items": ["elements", "image_urls"], "max": 4},
        {"items": ["voice_ids"], "max": 2},
    ],
}


def test_the_minimal_and_boundary_bodies_keep_the_rules() -> None:
    assert minimal_body(RULED) == {"prompt": "x"}
    bodies = boundary_bodies(RULED, null_optional=True)
    assert bodies and all(keeps_rules(RULED, body) for body in bodies)


@settings(max_examples=150)
@given(body=valid_bodies(RULED, null_optional=True))
def test_generated_bodies_keep_the_rules(body: dict[str, Any]) -> None:
    assert keeps_rules(RULED, body)
    assert body.get("prompt") is not None or body.get("multi_prompt") is not None
    assert len(body.get("voice_ids") or []) <= 2
