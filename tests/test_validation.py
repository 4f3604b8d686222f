"""Every rule the request schema states, judged as pydantic itself judges it.

The live API is FastAPI on pydantic v2, so each verdict and each wording is compared with
pydantic's own, for a model written here by hand from the vendored spec (the way the real
API's code declares its body), validated as FastAPI validates a body
(``validate_python(body, from_attributes=True)``, errors under ``("body", ...)``). Where
the evidence is silent, the stricter reading holds: the hand-written models are strict.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from pydantic import (
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from mockserver.spec import Operation, Parameter, SpecError, load_spec
from mockserver.validation import (
    BodyValidator,
    OperationValidator,
    Problem,
    Profile,
    RequestInvalid,
    compile_schema,
)

VIDEO = "https://example.com/reference.mp4"
CREATE_ID = "postAiReferenceToVideoKlingV3OmniStd"
LIST_ID = "getAiReferenceToVideoKlingV3OmniTasks"
NEGATIVE = "blur, distort, and low quality"

Duration = Literal["3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"]
AspectRatio = Literal["auto", "16:9", "9:16", "1:1"]
Prompt = Annotated[str, Field(max_length=2500)]
CfgScale = Annotated[float, Field(ge=0, le=2)]


# openapi/kling-v3-omni-std.yaml, kling-v3-omni-video-reference-request, by hand, in its
# property order. Observed: every optional field also takes null (the live API took
# "prompt": null); spec: null only where the spec says nullable (nowhere).
class ObservedCreateBody(BaseModel):
    model_config = ConfigDict(strict=True)
    webhook_url: AnyUrl | None = None
    prompt: Prompt | None = None
    image_url: str | None = None
    video_url: AnyUrl
    duration: Duration | None = "5"
    aspect_ratio: AspectRatio | None = "16:9"
    cfg_scale: CfgScale | None = 0.5
    negative_prompt: Prompt | None = NEGATIVE


class SpecCreateBody(BaseModel):
    model_config = ConfigDict(strict=True)
    webhook_url: AnyUrl = AnyUrl("https://unused.example")
    prompt: Prompt = ""
    image_url: str = ""
    video_url: AnyUrl
    duration: Duration = "5"
    aspect_ratio: AspectRatio = "16:9"
    cfg_scale: CfgScale = 0.5
    negative_prompt: Prompt = NEGATIVE


# openapi/kling-v3-omni-tasks.yaml, the list operation's query, as FastAPI declares query
# parameters: lax, since a query value is a string on the wire.
class ListQuery(BaseModel):
    page: Annotated[int, Field(ge=1)] = 1
    page_size: Annotated[int, Field(ge=1, le=100)] = 20


MODELS: dict[Profile, type[BaseModel]] = {"observed": ObservedCreateBody, "spec": SpecCreateBody}

Verdict = list[tuple[str, tuple[str | int, ...], str]]


@functools.cache
def _operation(operation_id: str) -> Operation:
    return load_spec().by_id(operation_id)


@pytest.fixture(scope="module", params=["observed", "spec"])
def profile(request: pytest.FixtureRequest) -> Profile:
    value: Profile = request.param
    return value


@pytest.fixture(scope="module")
def create(profile: Profile) -> OperationValidator:
    return OperationValidator(_operation(CREATE_ID), profile)


@pytest.fixture(scope="module")
def listing() -> OperationValidator:
    return OperationValidator(_operation(LIST_ID))


def ours(validate: Any, value: Any) -> Verdict:
    try:
        validate(value)
    except RequestInvalid as exc:
        return [(p.type, p.loc, p.message) for p in exc.problems]
    return []


def pydantics(model: type[BaseModel], value: Any, source: str = "body") -> Verdict:
    """pydantic's errors as FastAPI reports a body (or a query), one per location."""
    try:
        TypeAdapter(model).validate_python(value, from_attributes=source == "body")
    except ValidationError as exc:
        found: dict[tuple[str | int, ...], tuple[str, tuple[str | int, ...], str]] = {}
        for error in exc.errors(include_url=False):
            loc = (source, *error["loc"])
            found.setdefault(loc, (error["type"], loc, error["msg"]))
        return list(found.values())
    return []


def post(validator: OperationValidator, value: Any) -> Verdict:
    return ours(validator.body, orjson.dumps(value))


VALID_EDGES: list[dict[str, Any]] = [
    {},
    {"prompt": "x" * 2500},
    {"prompt": ""},
    {"negative_prompt": "y" * 2500},
    {"cfg_scale": 0},
    {"cfg_scale": 2},
    {"cfg_scale": 0.5},
    {"cfg_scale": 1.999},
    *({"duration": str(d)} for d in range(3, 16)),
    *({"aspect_ratio": r} for r in ("auto", "16:9", "9:16", "1:1")),
    {"webhook_url": "http://127.0.0.1:9000/hook"},
    {"image_url": "not a uri either, but image_url has no format"},
    {"unknown_extra_field": 1},
]


@pytest.mark.parametrize("extra", VALID_EDGES, ids=repr)
def test_valid_edges_pass(create: OperationValidator, extra: dict[str, Any]) -> None:
    assert post(create, {"video_url": VIDEO, **extra}) == []


INVALID_EDGES: list[dict[str, Any]] = [
    {"prompt": "x" * 2501},  # maxLength
    {"negative_prompt": "y" * 2501},
    {"cfg_scale": -0.01},  # minimum
    {"cfg_scale": 2.01},  # maximum
    {"cfg_scale": "1"},  # a numeric string is not a number
    {"cfg_scale": "0.5"},
    {"cfg_scale": True},  # nor is true
    {"prompt": 5},  # type
    {"prompt": ["a"]},
    {"image_url": {}},
    {"duration": 5},  # enum
    {"duration": "16"},
    {"duration": "2"},
    {"aspect_ratio": "4:3"},
    {"aspect_ratio": 1.5},
    {"video_url": "not a uri"},  # format: uri
    {"video_url": ""},
    {"video_url": "http://"},
    {"video_url": 5},
    {"webhook_url": "/relative/hook"},
]


@pytest.mark.parametrize("extra", INVALID_EDGES, ids=repr)
def test_each_rule_is_refused_as_pydantic_refuses_it(
    create: OperationValidator, profile: Profile, extra: dict[str, Any]
) -> None:
    body = {"video_url": VIDEO, **extra}
    verdict = post(create, body)
    assert verdict == pydantics(MODELS[profile], body)
    assert len(verdict) == 1
    assert verdict[0][1] == ("body", *extra)


def test_a_missing_required_field_is_field_required(
    create: OperationValidator, profile: Profile
) -> None:
    body = {"prompt": "a cat @Video1"}
    assert post(create, body) == pydantics(MODELS[profile], body)
    assert post(create, body) == [("missing", ("body", "video_url"), "Field required")]


@pytest.mark.parametrize("body", [[], ["x"], "video", 5, 1.5, True, False])
def test_a_body_that_is_not_an_object_is_refused_as_a_model_body(
    create: OperationValidator, profile: Profile, body: Any
) -> None:
    assert post(create, body) == pydantics(MODELS[profile], body)
    assert post(create, body) == [
        (
            "model_attributes_type",
            ("body",),
            "Input should be a valid dictionary or object to extract fields from",
        )
    ]


def test_several_failures_come_one_per_field_in_the_spec_property_order(
    create: OperationValidator, profile: Profile
) -> None:
    body = {
        "negative_prompt": 1,
        "cfg_scale": 3,
        "aspect_ratio": "4:3",
        "duration": 7.5,
        "prompt": None if profile == "spec" else 1,
        "webhook_url": "nope",
    }
    verdict = post(create, body)
    assert verdict == pydantics(MODELS[profile], body)
    properties = list(CREATE_SCHEMA["properties"])
    fields = [loc[1] for _, loc, _ in verdict]
    assert fields == sorted(fields, key=properties.index)
    assert fields == [
        "webhook_url", "prompt", "video_url", "duration", "aspect_ratio", "cfg_scale",
        "negative_prompt",
    ]  # fmt: skip


def test_the_reasons_are_pydantics_own_words(create: OperationValidator) -> None:
    body = {"video_url": "not a uri", "duration": 7.5, "aspect_ratio": "4:3", "cfg_scale": 3}
    assert post(create, body) == [
        (
            "url_parsing",
            ("body", "video_url"),
            "Input should be a valid URL, relative URL without a base",
        ),
        (
            "literal_error",
            ("body", "duration"),
            "Input should be '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', "
            "'14' or '15'",
        ),
        (
            "literal_error",
            ("body", "aspect_ratio"),
            "Input should be 'auto', '16:9', '9:16' or '1:1'",
        ),
        ("less_than_equal", ("body", "cfg_scale"), "Input should be less than or equal to 2"),
    ]


def test_null_on_an_optional_field_counts_as_absent_in_the_observed_profile() -> None:
    observed = OperationValidator(_operation(CREATE_ID), "observed")
    body = {"video_url": VIDEO, "prompt": None, "negative_prompt": None, "cfg_scale": None}
    assert pydantics(ObservedCreateBody, body) == []
    params = observed.body(orjson.dumps(body))
    # Absent: gone from the body the handler gets, and the default fills in where any.
    assert "prompt" not in params
    assert params["negative_prompt"] == NEGATIVE
    assert params["cfg_scale"] == 0.5


@pytest.mark.parametrize("field", ["prompt", "negative_prompt", "cfg_scale", "duration"])
def test_null_on_a_non_nullable_field_is_refused_in_the_spec_profile(field: str) -> None:
    spec = OperationValidator(_operation(CREATE_ID), "spec")
    body = {"video_url": VIDEO, field: None}
    verdict = post(spec, body)
    assert verdict == pydantics(SpecCreateBody, body)
    assert [loc for _, loc, _ in verdict] == [("body", field)]


def test_null_on_a_required_field_is_refused_in_both_profiles(create: OperationValidator) -> None:
    assert post(create, {"video_url": None}) == [
        ("url_type", ("body", "video_url"), "URL input should be a string or URL")
    ]


def test_the_body_is_the_json_as_sent_with_top_level_defaults(create: OperationValidator) -> None:
    sent = {"video_url": "https://EXAMPLE.com", "duration": "10", "cfg_scale": 1, "extra": [1]}
    assert create.body(orjson.dumps(sent)) == {
        "duration": "10",
        "aspect_ratio": "16:9",
        "cfg_scale": 1,  # not 1.0: the value as sent, not pydantic's
        "negative_prompt": NEGATIVE,
        "video_url": "https://EXAMPLE.com",  # not normalised as pydantic's Url would be
        "extra": [1],
    }


@pytest.mark.parametrize("raw", [b"", b"null"])
def test_an_empty_body_is_field_required_as_fastapi_says(
    create: OperationValidator, raw: bytes
) -> None:
    # FastAPI (fastapi/dependencies/utils.py) reads no body and a JSON null alike.
    assert ours(create.body, raw) == [("missing", ("body",), "Field required")]


def test_an_optional_body_may_be_left_out_but_must_then_meet_its_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 3}}}
    assert BodyValidator(schema).body(b"") == {"n": 3}
    strict = BodyValidator({"type": "object", "required": ["n"]})
    assert ours(strict.body, b"") == [("missing", ("body", "n"), "Field required")]


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"video_url": ', b" ", b"{} {}", b"\xef\xbb\xbf{}", b"[1,]"]
)
def test_malformed_json_is_located_as_fastapi_locates_it(
    create: OperationValidator, raw: bytes
) -> None:
    # What FastAPI answers when json.loads refuses a body (fastapi/routing.py).
    with pytest.raises(json.JSONDecodeError) as refused:
        json.loads(raw.decode("utf-8"))
    with pytest.raises(RequestInvalid) as ours_refused:
        create.body(raw)
    assert ours_refused.value.problems == (
        Problem(
            ("body", refused.value.pos),
            "json_invalid",
            "JSON decode error",
            {"error": refused.value.msg},
        ),
    )


def test_what_pythons_json_reads_but_json_does_not_allow_is_refused(
    create: OperationValidator,
) -> None:
    for raw in (b'{"cfg_scale": NaN}', b'{"cfg_scale": Infinity}', b'{"n": ' + b"9" * 5000 + b"}"):
        ((kind, loc, message),) = ours(create.body, raw)
        assert (kind, loc[0], message) == ("json_invalid", "body", "JSON decode error")


def test_bytes_that_are_not_utf8_say_which_byte_and_where(create: OperationValidator) -> None:
    with pytest.raises(RequestInvalid) as refused:
        create.body(b'{"video_url":\n "caf\xe9"}')
    (problem,) = refused.value.problems
    assert (problem.loc, problem.type, problem.message) == (
        ("body", 19),
        "json_invalid",
        "JSON decode error",
    )
    assert problem.ctx == {"error": "Invalid UTF-8 byte 0xe9 at line 2 column 6"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"page": 1, "page_size": 20}),
        ({"page": "3"}, {"page": 3, "page_size": 20}),
        ({"page_size": "100"}, {"page": 1, "page_size": 100}),
        ({"page": " 2 ", "other": "x"}, {"page": 2, "page_size": 20}),
    ],
)
def test_query_strings_are_read_as_their_types_with_defaults(
    listing: OperationValidator, query: dict[str, str], expected: dict[str, Any]
) -> None:
    assert listing.query(query) == expected
    assert TypeAdapter(ListQuery).validate_python(query).model_dump() == expected


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page": "-1"},
        {"page": "abc"},
        {"page": ""},
        {"page": "1.5"},
        {"page_size": "0"},
        {"page_size": "101"},
        {"page": "0", "page_size": "x"},
    ],
)
def test_query_rules_are_refused_as_pydantic_refuses_them(
    listing: OperationValidator, query: dict[str, str]
) -> None:
    verdict = ours(listing.query, query)
    assert verdict == pydantics(ListQuery, query, source="query")
    assert [loc for _, loc, _ in verdict] == [("query", name) for name in query]


def test_a_query_integer_that_is_not_one_says_so_in_pydantics_words(
    listing: OperationValidator,
) -> None:
    assert ours(listing.query, {"page": "abc"}) == [
        (
            "int_parsing",
            ("query", "page"),
            "Input should be a valid integer, unable to parse string as an integer",
        )
    ]


# The text-to-video request of /v1/ai/video/kling-v3-omni-std (docs page copy
# upstream/docs/freepik-docs-Knguyen-data-5e0ab63-generate-std-video.md, commit 5e0ab63,
# components.schemas.kling-v3-omni-request; descriptions left out, aspect_ratio and
# duration trimmed): arrays, array limits, booleans and nested objects.
T2V_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "webhook_url": {"type": "string", "format": "uri"},
        "prompt": {"type": "string", "maxLength": 2500},
        "multi_prompt": {"type": "array", "items": {"type": "string"}, "maxItems": 6},
        "shot_type": {"type": "string", "enum": ["customize"], "default": "customize"},
        "image_url": {"type": "string"},
        "image_urls": {"type": "array", "items": {"type": "string"}},
        "elements": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "reference_image_urls": {"type": "array", "items": {"type": "string"}},
                    "frontal_image_url": {"type": "string"},
                },
            },
        },
        "generate_audio": {"type": "boolean"},
        "voice_ids": {"type": "array", "items": {"type": "string"}},
        "aspect_ratio": {"type": "string", "enum": ["auto", "16:9", "9:16", "1:1"]},
        "duration": {"type": "string", "enum": ["3", "5", "10", "15"], "default": "5"},
    },
}


class T2VElement(BaseModel):
    model_config = ConfigDict(strict=True)
    reference_image_urls: list[str] | None = None
    frontal_image_url: str | None = None


class T2VBody(BaseModel):
    model_config = ConfigDict(strict=True)
    webhook_url: AnyUrl | None = None
    prompt: Prompt | None = None
    multi_prompt: Annotated[list[str], Field(max_length=6)] | None = None
    shot_type: Literal["customize"] | None = "customize"
    image_url: str | None = None
    image_urls: list[str] | None = None
    elements: list[T2VElement] | None = None
    generate_audio: bool | None = None
    voice_ids: list[str] | None = None
    aspect_ratio: AspectRatio | None = None
    duration: Literal["3", "5", "10", "15"] | None = "5"


T2V = BodyValidator(T2V_SCHEMA)


@pytest.mark.parametrize(
    "body",
    [
        {"multi_prompt": ["a"] * 7},  # maxItems
        {"multi_prompt": "a"},
        {"multi_prompt": ["a", 2, None]},
        {"generate_audio": "true"},
        {"generate_audio": 1},
        {"elements": [{"frontal_image_url": 1}, "x", {"reference_image_urls": [1]}]},
        {"elements": {"frontal_image_url": "x"}},
        {"shot_type": "auto", "voice_ids": [1]},
        {"prompt": None, "multi_prompt": ["a"] * 6, "generate_audio": False},
    ],
    ids=repr,
)
def test_arrays_booleans_and_nested_objects_as_pydantic_reads_them(body: dict[str, Any]) -> None:
    assert ours(T2V.body, orjson.dumps(body)) == pydantics(T2VBody, body)


def test_array_limits_in_pydantics_words() -> None:
    limited = BodyValidator(
        {"type": "object", "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 2}}}
    )
    assert ours(limited.body, b'{"ids": [1, 2, 3]}') == [
        ("too_long", ("body", "ids"), "List should have at most 2 items after validation, not 3")
    ]
    assert ours(limited.body, b'{"ids": []}') == [
        ("too_short", ("body", "ids"), "List should have at least 1 item after validation, not 0")
    ]


def test_a_union_reports_one_problem_at_the_field_not_at_its_branches() -> None:
    schema = {
        "type": "object",
        "properties": {
            "scale": {"oneOf": [{"type": "integer", "maximum": 4}, {"type": "string"}]},
            "sizes": {"type": "array", "items": {"type": ["integer", "string"]}},
        },
    }
    validator = BodyValidator(schema)
    assert ours(validator.body, b'{"scale": 9, "sizes": [1, null]}') == [
        ("less_than_equal", ("body", "scale"), "Input should be less than or equal to 4"),
        ("int_type", ("body", "sizes", 1), "Input should be a valid integer"),
    ]


def test_all_of_members_are_merged_into_one_rule_set() -> None:
    schema = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"a": {"maxLength": 2}, "b": {"enum": [1, 2]}}, "required": ["b"]},
        ]
    }
    validator = BodyValidator(schema)
    assert ours(validator.body, b'{"a": "xyz", "b": true}') == [
        ("string_too_long", ("body", "a"), "String should have at most 2 characters"),
        ("literal_error", ("body", "b"), "Input should be 1 or 2"),  # true is not 1
    ]
    assert validator.body(b'{"a": "xy", "b": 2}') == {"a": "xy", "b": 2}


def test_additional_properties_false_refuses_extra_fields() -> None:
    validator = BodyValidator({"type": "object", "additionalProperties": False})
    assert ours(validator.body, b'{"x": 1}') == [
        ("extra_forbidden", ("body", "x"), "Extra inputs are not permitted")
    ]


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "/properties/a"),
        ({"type": "string", "format": "email"}, "/format"),
        ({"type": "array", "items": [{"type": "string"}]}, "/items"),
        ({"patternProperties": {"^x": {}}}, ""),
        ({"allOf": [{"type": "object"}, {"not": {}}]}, "/allOf/1"),
        ({"type": "object", "properties": {"a~/b": {"minProperties": 1}}}, "/properties/a~0~1b"),
    ],
)
def test_an_unsupported_keyword_fails_at_compile_time_naming_it_and_where(
    schema: dict[str, Any], named: str
) -> None:
    with pytest.raises(SpecError) as refused:
        compile_schema(schema, where="doc.yaml")
    assert str(refused.value).startswith(f"doc.yaml#{named}")


def test_keywords_that_only_annotate_compile() -> None:
    schema = {
        "type": "number",
        "format": "float",
        "title": "t",
        "description": "d",
        "example": 1,
        "deprecated": True,
        "x-anything": {},
    }
    assert compile_schema(schema).validate_python(1.5) == 1.5


# A value for each vendored field that passes or fails its rule; jsonschema judges them.
FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["", "5", "15", "16", "auto", "16:9", "4:3", "1.5", "x" * 2501]),
    st.sampled_from([VIDEO, "http://127.0.0.1:9000/hook", "not a uri", "ftp://x/y", "/rel"]),
    st.lists(st.integers(-9, 9), max_size=2),
    st.dictionaries(st.sampled_from(["a"]), st.integers(-9, 9), max_size=1),
)
CREATE_SCHEMA: dict[str, Any] = _operation(CREATE_ID).request_schema or {}
URI_FIELDS = {n for n, s in CREATE_SCHEMA["properties"].items() if s.get("format") == "uri"}
VALIDATORS = {p: OperationValidator(_operation(CREATE_ID), p) for p in ("observed", "spec")}
JSONSCHEMA = Draft4Validator(CREATE_SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)


def _jsonschema_fields(body: Mapping[str, Any]) -> set[str]:
    failing: set[str] = set()
    for error in JSONSCHEMA.iter_errors(body):
        if error.validator == "required":
            failing.update(n for n in error.validator_value if n not in body)
        else:
            failing.add(str(error.absolute_path[0]))
    return failing


@settings(max_examples=400, deadline=None)
@given(
    body=st.fixed_dictionaries(
        {}, optional=dict.fromkeys(CREATE_SCHEMA["properties"], FIELD_VALUES)
    )
)
def test_the_verdict_is_jsonschemas_but_for_the_documented_differences(
    body: dict[str, Any],
) -> None:
    """Documented differences: the observed profile takes null on an optional field as
    absent; ``format: uri`` is pydantic's URL (WHATWG parsing, absolute URLs only) where
    jsonschema's is RFC 3986. Found none other on this schema."""
    expected = _jsonschema_fields(body)
    uri_strings = {f for f in URI_FIELDS if isinstance(body.get(f), str)}
    for profile, validator in VALIDATORS.items():
        got = {str(loc[1]) for _, loc, _ in post(validator, body)}
        absent = {f for f in CREATE_SCHEMA["properties"] if body.get(f, 0) is None}
        if profile == "observed":
            absent.discard("video_url")  # required: null is no absence there
            assert got - uri_strings == expected - uri_strings - absent, (profile, body)
        else:
            assert got - uri_strings == expected - uri_strings, (profile, body)


# The text/image-to-video request's rules across fields (issue 17; the docs page's prose:
# text-to-video needs prompt unless multi_prompt is given; image-to-video takes prompt or
# multi_prompt, not both; at most 4 elements plus reference images; at most 2 voice ids;
# at most 6 shots), declared as the extension on the T2V schema above.
RULES = [
    {"given": ["prompt", "multi_prompt"], "min": 1, "unless_given": ["image_url"]},
    {"given": ["prompt", "multi_prompt"], "min": 1, "max": 1, "when_given": ["image_url"]},
    {"items": ["elements", "image_urls"], "max": 4},
    {"items": ["voice_ids"], "max": 2},
    {"items": ["multi_prompt"], "max": 6, "message": "at most 6 shots"},
]
RULED = BodyValidator({**T2V_SCHEMA, "x-freepik-mock-rules": RULES})
RULED_SPEC = BodyValidator({**T2V_SCHEMA, "x-freepik-mock-rules": RULES}, profile="spec")


class RuledT2VBody(T2VBody):
    """The same rules as a FastAPI app would write them: one model validator."""

    @model_validator(mode="after")
    def rules_across_fields(self) -> RuledT2VBody:
        prompts = (self.prompt is not None) + (self.multi_prompt is not None)
        if self.image_url is None and prompts < 1:
            raise ValueError("one of prompt, multi_prompt is required unless image_url is given")
        if self.image_url is not None and prompts != 1:
            raise ValueError(
                "exactly one of prompt, multi_prompt is required when image_url is given"
            )
        if len(self.elements or []) + len(self.image_urls or []) > 4:
            raise ValueError("elements, image_urls may hold at most 4 items in all")
        if len(self.voice_ids or []) > 2:
            raise ValueError("voice_ids may hold at most 2 items in all")
        return self


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "a cat"},
        {"multi_prompt": ["a", "b"]},
        {"prompt": None, "multi_prompt": ["a"]},  # null is absent
        {"image_url": "https://example.com/a.png", "multi_prompt": ["a"]},
        {"prompt": "a", "elements": [{}, {}], "image_urls": ["x", "y"], "voice_ids": ["v"]},
        {},  # text-to-video without a prompt
        {"prompt": None},
        {"image_url": "https://example.com/a.png"},
        {"image_url": "https://example.com/a.png", "prompt": "a", "multi_prompt": ["b"]},
        {"prompt": "a", "elements": [{}, {}, {}], "image_urls": ["x", "y"]},
        {"prompt": "a", "voice_ids": ["1", "2", "3"]},
        {"prompt": 5},  # a field's own rule first: the object's rules are not asked
    ],
    ids=repr,
)
def test_rules_across_fields_answer_as_a_pydantic_model_validator(body: dict[str, Any]) -> None:
    assert ours(RULED.body, orjson.dumps(body)) == pydantics(RuledT2VBody, body)


def test_a_broken_rule_is_one_problem_at_the_body_in_the_same_envelope() -> None:
    from mockserver.reasons import invalid_params_body

    with pytest.raises(RequestInvalid) as refused:
        RULED_SPEC.body(b'{"prompt": "a", "voice_ids": ["1", "2", "3"]}')
    (problem,) = refused.value.problems
    assert problem == Problem(
        ("body",),
        "value_error",
        "Value error, voice_ids may hold at most 2 items in all",
        {"error": "voice_ids may hold at most 2 items in all"},
    )
    assert invalid_params_body([problem], "observed") == {
        "message": "Validation error",
        "invalid_params": [
            {"field": "body", "reason": "Value error, voice_ids may hold at most 2 items in all"}
        ],
    }
    assert invalid_params_body([problem], "spec")["invalid_params"] == [
        {"name": "body", "reason": "Request body is not valid: voice_ids may hold at most 2 items "
         "in all"}
    ]  # fmt: skip


def test_a_rule_may_say_it_in_its_own_words() -> None:
    # multi_prompt's maxItems 6 refuses 7 shots first; here the rule does, on 7 of 8 allowed.
    schema = {
        "type": "object",
        "properties": {"shots": {"type": "array"}},
        "x-freepik-mock-rules": [{"items": ["shots"], "max": 6, "message": "at most 6 shots"}],
    }
    assert ours(BodyValidator(schema).body, b'{"shots": [1, 2, 3, 4, 5, 6, 7]}') == [
        ("value_error", ("body",), "Value error, at most 6 shots")
    ]


@pytest.mark.parametrize(
    ("rules", "complaint"),
    [
        ({"given": ["prompt"]}, "needs a min or a max"),
        ({"given": ["nope"], "min": 1}, "names no property nope"),
        ({"given": ["prompt"], "items": ["voice_ids"], "max": 1}, "either 'given' or 'items'"),
        ({"items": ["voice_ids"], "min": 1}, "takes a max only"),
        ({"given": ["prompt"], "min": 1, "sometimes": True}, "a rule takes"),
    ],
)
def test_a_malformed_rule_fails_at_compile_time_saying_where(
    rules: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(SpecError, match=complaint) as refused:
        BodyValidator({**T2V_SCHEMA, "x-freepik-mock-rules": [rules]}, where="t2v.yaml")
    assert str(refused.value).startswith("t2v.yaml#/x-freepik-mock-rules/0: ")


def test_the_rules_survive_the_spec_conversion() -> None:
    from mockserver.spec import to_json_schema

    converted = to_json_schema({**T2V_SCHEMA, "x-freepik-mock-rules": RULES, "x-other": 1})
    assert converted["x-freepik-mock-rules"] == RULES
    assert "x-other" not in converted


def test_header_parameters_are_read_lax_by_any_case_and_lists_by_commas() -> None:
    operation = _operation(LIST_ID)._replace(
        parameters=(
            Parameter("X-Retries", "header", True, {"type": "integer", "maximum": 3}),
            Parameter("X-Tags", "header", False, {"type": "array", "items": {"enum": ["a", "b"]}}),
            Parameter("Content-Type", "header", True, {"enum": ["text/csv"]}),  # ignored
            Parameter("x-freepik-api-key", "header", True, {"type": "string"}),  # auth's
        ),
        source=Path("spec.yaml"),
    )
    validator = OperationValidator(operation)
    assert validator.has_headers
    assert ours(validator.headers, {"x-retries": "3", "X-TAGS": "a, b"}) == []
    assert ours(validator.headers, {"x-retries": "4", "x-tags": "a,c"}) == [
        ("less_than_equal", ("header", "X-Retries"), "Input should be less than or equal to 3"),
        ("literal_error", ("header", "X-Tags", 1), "Input should be 'a' or 'b'"),
    ]
    assert ours(validator.headers, {}) == [("missing", ("header", "X-Retries"), "Field required")]
    # The vendored list declares no header parameter: nothing to check.
    assert not OperationValidator(_operation(LIST_ID)).has_headers
