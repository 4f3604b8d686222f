"""Every rule the request schema states: an edge that passes and one that fails."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.spec import load_spec
from mockserver.validation import InvalidParam, OperationValidator, format_checker

VIDEO = "https://example.com/reference.mp4"


@pytest.fixture(scope="module")
def create_validator() -> OperationValidator:
    return OperationValidator(load_spec().by_id("postAiReferenceToVideoKlingV3OmniStd"))


@pytest.fixture(scope="module")
def list_validator() -> OperationValidator:
    return OperationValidator(load_spec().by_id("getAiReferenceToVideoKlingV3OmniTasks"))


def fields(problems: list[InvalidParam]) -> list[str]:
    return [p.field for p in problems]


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
def test_valid_edges_pass(create_validator: OperationValidator, extra: dict[str, Any]) -> None:
    assert create_validator.validate_body({"video_url": VIDEO, **extra}) == []


INVALID_EDGES: list[tuple[dict[str, Any], str, str]] = [
    ({"prompt": "x" * 2501}, "prompt", "at most 2500 characters"),
    ({"negative_prompt": "y" * 2501}, "negative_prompt", "at most 2500 characters"),
    ({"cfg_scale": -0.01}, "cfg_scale", "at least 0"),
    ({"cfg_scale": 2.01}, "cfg_scale", "at most 2"),
    ({"cfg_scale": "1"}, "cfg_scale", "must be a number"),
    ({"cfg_scale": True}, "cfg_scale", "must be a number"),
    ({"duration": 5}, "duration", "must be a string"),
    ({"duration": "2"}, "duration", "must be one of"),
    ({"duration": "16"}, "duration", "must be one of"),
    ({"aspect_ratio": "4:3"}, "aspect_ratio", "must be one of"),
    ({"aspect_ratio": None}, "aspect_ratio", "must be a string"),
    ({"video_url": "not a uri"}, "video_url", "must be a valid uri"),
    ({"video_url": 42}, "video_url", "must be a string"),
    ({"webhook_url": "no scheme here"}, "webhook_url", "must be a valid uri"),
    ({"prompt": None}, "prompt", "must be a string"),
    ({"image_url": ["a"]}, "image_url", "must be a string"),
]


@pytest.mark.parametrize(("extra", "field", "reason"), INVALID_EDGES, ids=repr)
def test_invalid_edges_fail_naming_the_field(
    create_validator: OperationValidator, extra: dict[str, Any], field: str, reason: str
) -> None:
    problems = create_validator.validate_body({"video_url": VIDEO, **extra})
    assert fields(problems) == [field]
    assert reason in problems[0].reason
    assert problems[0].reason.startswith(f"Parameter '{field}'")


def test_missing_video_url_is_required(create_validator: OperationValidator) -> None:
    problems = create_validator.validate_body({"prompt": "a cat @Video1"})
    assert problems == [InvalidParam("video_url", "Parameter 'video_url' is required")]


def test_every_failing_field_is_reported_once(create_validator: OperationValidator) -> None:
    body = {"cfg_scale": 3, "duration": 5, "aspect_ratio": "4:3", "prompt": "x" * 2501}
    problems = create_validator.validate_body(body)
    assert sorted(fields(problems)) == [
        "aspect_ratio",
        "cfg_scale",
        "duration",
        "prompt",
        "video_url",
    ]


@pytest.mark.parametrize("body", [[], "text", 3, None, [{"video_url": VIDEO}]], ids=repr)
def test_a_non_object_body_is_refused_as_a_whole(
    create_validator: OperationValidator, body: Any
) -> None:
    problems = create_validator.validate_body(body)
    assert problems == [InvalidParam("body", "Request body must be a JSON object")]


def test_defaults_come_from_the_spec(create_validator: OperationValidator) -> None:
    filled = create_validator.with_defaults({"video_url": VIDEO, "duration": "10"})
    assert filled["duration"] == "10"
    assert filled["aspect_ratio"] == "16:9"
    assert filled["cfg_scale"] == 0.5
    assert filled["negative_prompt"] == "blur, distort, and low quality"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"page": 1, "page_size": 20}),
        ({"page": "3", "page_size": "1"}, {"page": 3, "page_size": 1}),
        ({"page_size": "100"}, {"page": 1, "page_size": 100}),
    ],
)
def test_list_query_is_coerced_and_defaulted(
    list_validator: OperationValidator, query: dict[str, str], expected: dict[str, int]
) -> None:
    assert list_validator.validate_query(query) == (expected, [])


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"page": "0"}, "page", "Parameter 'page' must be at least 1"),
        ({"page": "-1"}, "page", "Parameter 'page' must be at least 1"),
        ({"page": "one"}, "page", "Parameter 'page' must be an integer"),
        ({"page": "1.5"}, "page", "Parameter 'page' must be an integer"),
        ({"page_size": "0"}, "page_size", "Parameter 'page_size' must be at least 1"),
        ({"page_size": "101"}, "page_size", "Parameter 'page_size' must be at most 100"),
    ],
)
def test_bad_list_query_names_the_parameter(
    list_validator: OperationValidator, query: dict[str, str], field: str, reason: str
) -> None:
    _, problems = list_validator.validate_query(query)
    assert problems == [InvalidParam(field, reason)]


URI_CORPUS = [
    "https://example.com/reference.mp4",
    "http://[::1]:8080/a?b=c#d",
    "ftp://user@host/path",
    "urn:isbn:0451450523",
    "mailto:someone@example.com",
    "file:///tmp/a.mp4",
    "HTTP://EXAMPLE.COM",
    "",
    "not a uri",
    "/relative/path",
    "//no-scheme.example.com",
    "https://exa mple.com",
    "https://example.com/%zz",
    "https://例え.jp/",
    "1http://example.com",
    "a:",
]


@given(value=st.one_of(st.text(), st.sampled_from(URI_CORPUS), st.from_regex(r"[a-z]+:[^\s]*")))
def test_uri_is_checked_as_jsonschema_checks_it(value: str) -> None:
    checks = format_checker()
    assert checks.conforms(value, "uri") == checks.jsonschema.conforms(value, "uri"), value


def test_other_formats_are_asked_of_jsonschema() -> None:
    checks = format_checker()
    assert not checks.conforms("nope", "ipv4") and checks.conforms("10.0.0.1", "ipv4")
    assert checks.conforms("anything", "a-format-nobody-knows")


def test_no_uri_checker_means_no_start(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_uri_checkers(name: str, *args: Any) -> Any:
        return None if name in ("rfc3986_validator", "rfc3987") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_uri_checkers)
    with pytest.raises(RuntimeError, match=r"install jsonschema\[format-nongpl\]"):
        format_checker()


def test_refusals_are_explained_without_preparing_first() -> None:
    operation = load_spec().by_id("postAiReferenceToVideoKlingV3OmniStd")
    lazy, prepared = OperationValidator(operation), OperationValidator(operation)
    prepared.prepare()
    body = {"video_url": "not a uri", "duration": "ten", "unknown": 1}
    assert lazy.validate_body(body) == prepared.validate_body(body) != []
