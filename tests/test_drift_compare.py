"""Each fixture pair names exactly the change made, with the right class and exit code."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from drift_support import ALL_OPERATIONS, BASELINE, CASES, LIST, POST, TASK, WEBHOOK, case

from mockserver.drift import FailOn, Severity, check_drift, compare_documents
from mockserver.drift.findings import DriftReport
from mockserver.spec import load_spec, load_yaml

B, N, INFO = Severity.BREAKING, Severity.NON_BREAKING, Severity.INFO
REQUEST = (
    "['/v1/ai/reference-to-video/kling-v3-omni-std'].post.requestBody.content"
    "['application/json'].schema"
)

# case -> (exit code, [(class, rule, path ends with, old, new, operations)])
EXPECTED: dict[str, tuple[int, list[tuple[Severity, str, str, Any, Any, tuple[str, ...]]]]] = {
    "identical": (0, []),
    "cfg-scale-max-1": (
        1,
        [(B, "range-narrowed", f"{REQUEST}.properties.cfg_scale.maximum", 2, 1, (POST,))],
    ),
    "duration-drops-15": (
        1,
        [
            (
                B,
                "enum-value-removed",
                f"{REQUEST}.properties.duration.enum",
                [str(n) for n in range(3, 16)],
                [str(n) for n in range(3, 15)],
                (POST,),
            )
        ],
    ),
    "video-url-optional": (
        2,
        [(N, "field-no-longer-required", f"{REQUEST}.required", ["video_url"], [], (POST,))],
    ),
    "new-required-field": (
        1,
        [
            (
                B,
                "required-field-added",
                f"{REQUEST}.properties.mode",
                None,
                {"type": "string", "enum": ["std", "pro"]},
                (POST,),
            )
        ],
    ),
    "unauthorized-body-changed": (
        1,
        [
            (
                B,
                "field-removed",
                ".post.responses['401'].content['application/json'].schema.properties.message",
                {"type": "string"},
                None,
                (POST,),
            ),
            (
                N,
                "field-added",
                ".post.responses['401'].content['application/json'].schema.properties.error",
                None,
                {"type": "string"},
                (POST,),
            ),
        ],
    ),
    "webhook-payload-new-field": (
        2,
        [
            (
                N,
                "field-added",
                "$.components.schemas['kling-v3-omni-webhook-payload'].properties.created_at",
                None,
                {"type": "string", "format": "date-time"},
                (WEBHOOK,),
            ),
        ],
    ),
    "magnific-rebrand": (
        1,
        [
            (
                B,
                "server-changed",
                "$.servers",
                ["https://api.freepik.com"],
                ["https://api.magnific.com"],
                ALL_OPERATIONS,
            ),
            (
                B,
                "auth-changed",
                "$.security",
                ["API key in header x-freepik-api-key"],
                ["API key in header x-magnific-api-key"],
                ALL_OPERATIONS,
            ),
        ],
    ),
    "aspect-ratio-new-value-unquoted": (
        2,
        [
            (
                N,
                "enum-value-added",
                f"{REQUEST}.properties.aspect_ratio.enum",
                ["auto", "16:9", "9:16", "1:1"],
                ["auto", "16:9", "9:16", "1:1", "4:3"],
                (POST,),
            ),
        ],
    ),
    "page-size-widened": (
        2,
        [(N, "range-widened", ".get.parameters[1].schema.maximum", 100, 200, (LIST,))],
    ),
    "list-endpoint-removed": (0, []),
    "new-response-code": (
        2,
        [(N, "response-added", ".get.responses['429']", None, "Too Many Requests", (TASK,))],
    ),
    "response-503-removed": (
        1,
        [(B, "response-removed", ".post.responses['503']", "Service Unavailable", None, (POST,))],
    ),
    "descriptions-only": (
        0,
        [
            (
                INFO,
                "description-changed",
                ".post.summary",
                "Kling 3 Omni Standard - Video-to-video generation",
                "Kling 3 Omni Standard - Video reference",
                (POST,),
            ),
            (
                INFO,
                "description-changed",
                f"{REQUEST}.properties.cfg_scale.description",
                "Guidance scale for prompt adherence. Higher values mean stronger",
                "Guidance scale, 0 to 2.",
                (POST,),
            ),
        ],
    ),
    "renamed-component": (0, []),
    "negative-prompt-type-changed": (
        1,
        [
            (
                B,
                "type-changed",
                f"{REQUEST}.properties.negative_prompt.type",
                "string",
                "array",
                (POST,),
            )
        ],
    ),
    "image-url-removed": (
        1,
        [
            (
                B,
                "field-removed",
                f"{REQUEST}.properties.image_url",
                {"type": "string"},
                None,
                (POST,),
            )
        ],
    ),
    "task-status-new-value": (
        2,
        [
            (
                N,
                "enum-value-added",
                "schema.properties.data.items.properties.status.enum",
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED"],
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"],
                (LIST,),
            ),
            (
                N,
                "enum-value-added",
                "schema.properties.data.properties.status.enum",
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED"],
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"],
                (TASK,),
            ),
            (
                N,
                "enum-value-added",
                "$.components.schemas['kling-v3-omni-webhook-payload'].properties.status.enum",
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED"],
                ["CREATED", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"],
                (WEBHOOK,),
            ),
        ],
    ),
}


def _report(name: str, require_all: bool = False) -> DriftReport:
    report, _ = check_drift([case(name)], spec_dir=BASELINE, require_all=require_all)
    return report


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_names_exactly_its_change(name: str) -> None:
    exit_code, expected = EXPECTED[name]
    report = _report(name)
    got = sorted(((f.severity, f.rule, f.path, f.operations) for f in report.findings), key=str)
    assert len(report.findings) == len(expected), [f.message for f in report.findings]
    for severity, rule, path_end, old, new, operations in expected:
        matches = [f for f in report.findings if f.rule == rule and f.path.endswith(path_end)]
        assert len(matches) == 1, (rule, path_end, got)
        finding = matches[0]
        assert finding.severity is severity
        assert finding.operations == operations
        if isinstance(old, str) and isinstance(finding.old, str):
            assert finding.old.startswith(old)
        else:
            assert finding.old == old
        assert finding.new == new
    assert report.exit_code() == exit_code


def test_identical_copy_compares_every_operation_and_the_webhook() -> None:
    report = _report("identical")
    assert set(report.compared) == {POST, LIST, TASK, WEBHOOK}
    assert report.missing == ()
    assert report.not_covered == ()


def test_a_missing_operation_is_listed_and_breaking_only_with_require_all() -> None:
    lenient = _report("list-endpoint-removed")
    assert lenient.missing == (LIST,)
    assert lenient.exit_code() == 0
    strict = _report("list-endpoint-removed", require_all=True)
    assert [(f.severity, f.rule, f.operations) for f in strict.findings] == [
        (B, "operation-missing", (LIST,))
    ]
    assert strict.exit_code() == 1


def test_fail_on_decides_which_classes_exit_non_zero() -> None:
    info_only = _report("descriptions-only")
    assert [info_only.exit_code(f) for f in FailOn] == [0, 0, 2]
    non_breaking = _report("page-size-widened")
    assert [non_breaking.exit_code(f) for f in FailOn] == [0, 2, 2]
    breaking = _report("cfg-scale-max-1")
    assert [breaking.exit_code(f) for f in FailOn] == [1, 1, 1]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path, doc in load_spec(BASELINE).documents.items()]


def _upstream() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml((CASES / "identical.yaml").read_bytes())
    return document


def test_a_source_without_webhook_schema_reports_it_not_covered_not_removed() -> None:
    upstream = _upstream()
    del upstream["components"]["schemas"]["kling-v3-omni-webhook-payload"]
    report = compare_documents(_documents(), [("up", upstream)])
    assert report.findings == ()
    assert WEBHOOK not in report.compared
    assert [n.path for n in report.not_covered] == [
        "$.components.schemas['kling-v3-omni-webhook-payload']"
    ]


def test_a_derived_response_upstream_lacks_is_not_covered_but_a_plain_one_is_removed() -> None:
    upstream = _upstream()
    task = upstream["paths"]["/v1/ai/reference-to-video/kling-v3-omni/{task-id}"]["get"]
    del task["responses"]["404"]  # marked x-derived in the baseline
    del task["responses"]["503"]  # not marked: an upstream response
    report = compare_documents(_documents(), [("up", upstream)])
    assert [(f.rule, f.path[-16:]) for f in report.findings] == [
        ("response-removed", "responses['503']")
    ]
    assert [n.path[-16:] for n in report.not_covered] == ["responses['404']"]


def test_path_parameter_names_do_not_matter_for_matching() -> None:
    upstream = _upstream()
    paths = upstream["paths"]
    item = paths.pop("/v1/ai/reference-to-video/kling-v3-omni/{task-id}")
    item["get"]["parameters"][0]["name"] = "task_id"
    paths["/v1/ai/reference-to-video/kling-v3-omni/{task_id}"] = item
    report = compare_documents(_documents(), [("up", upstream)])
    assert TASK in report.compared
    assert [(f.severity, f.rule) for f in report.findings] == [(INFO, "parameter-renamed")]


def test_an_added_way_to_authenticate_is_not_breaking() -> None:
    upstream = _upstream()
    upstream["components"]["securitySchemes"]["bearerAuth"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for item in upstream["paths"].values():
        for operation in item.values():
            operation["security"] = [{"apiKey": []}, {"bearerAuth": []}]
    report = compare_documents(_documents(), [("up", upstream)])
    assert [(f.severity, f.rule, f.operations) for f in report.findings] == [
        (N, "auth-added", (POST, LIST, TASK))
    ]


def test_operation_level_security_equal_to_the_global_one_is_no_drift() -> None:
    upstream = _upstream()
    for item in upstream["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
    assert compare_documents(_documents(), [("up", upstream)]).findings == ()


def test_the_first_source_holding_an_operation_wins() -> None:
    changed = _upstream()
    changed["components"]["schemas"]["kling-v3-duration"]["enum"].remove("15")
    only_post = copy.deepcopy(changed)
    only_post["paths"] = {k: v for k, v in only_post["paths"].items() if k.endswith("-std")}
    report = compare_documents(_documents(), [("page", only_post), ("full", _upstream())])
    assert report.compared[POST] == "page"
    assert report.compared[LIST] == "full"
    assert [f.rule for f in report.findings] == ["enum-value-removed"]


def _create(operation_id: str) -> dict[str, Any]:
    return {"post": {"operationId": operation_id, "responses": {"200": {"description": "OK"}}}}


def test_only_new_operations_of_a_covered_family_are_listed() -> None:
    upstream = _upstream()
    upstream["paths"].update(
        {
            # A new tier of the covered family, its create beside std.
            "/v1/ai/reference-to-video/kling-v3-omni-4k": _create("fourK"),
            # Another family (its own list), and one whose name only starts alike.
            "/v1/ai/mystic": {**_create("mystic"), "get": {"responses": {}}},
            "/v1/ai/reference-to-video/kling-v3-omnibus": _create("omnibus"),
            "/v1/ai/reference-to-video/kling-v3-omnibus/{id}": {
                "get": {
                    "parameters": [{"name": "id", "in": "path", "required": True}],
                    "responses": {},
                }
            },
        }
    )
    report = compare_documents(_documents(), [("upstream", upstream)])
    listed = [f for f in report.findings if f.rule == "operation-not-vendored"]
    assert [(f.severity, f.operations) for f in listed] == [
        (INFO, ("POST /v1/ai/reference-to-video/kling-v3-omni-4k",))
    ]
    assert report.families["POST /v1/ai/reference-to-video/kling-v3-omni-4k"] == (
        "/v1/ai/reference-to-video/kling-v3-omni",
    )
    assert report.exit_code() == 0 and report.exit_code(FailOn.ANY) == 2


def test_a_docs_page_of_a_new_tier_alone_is_placed_in_its_family() -> None:
    # The page holds only the create; the vendored spec knows the family's GET paths.
    page = {
        "openapi": "3.0.0",
        "paths": {"/v1/ai/reference-to-video/kling-v3-omni-4k": _create("fourK")},
    }
    report = compare_documents(_documents(), [("page.md", page)])
    assert [f.operations for f in report.findings if f.rule == "operation-not-vendored"] == [
        ("POST /v1/ai/reference-to-video/kling-v3-omni-4k",)
    ]


def test_without_listing_new_operations_nothing_is_listed() -> None:
    page = {
        "openapi": "3.0.0",
        "paths": {"/v1/ai/reference-to-video/kling-v3-omni-4k": _create("fourK")},
    }
    report = compare_documents(_documents(), [("page.md", page)], list_not_vendored=False)
    assert report.findings == ()
