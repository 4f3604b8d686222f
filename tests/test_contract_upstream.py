"""The contract suite over the whole upstream API (``--spec-dir fixtures/upstream``): its
families are the fake's, and a bounded run (``--families``) against the in-process fake
serving that spec passes without a 500 or a false difference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contract_runs import REPO_ROOT, run_contract

from contract_tests.checks import check_not_found
from contract_tests.exchange import Exchange
from contract_tests.mutations import Mutation, explicit_invalid_bodies
from contract_tests.operations import ContractSpec, SpecMismatch
from contract_tests.profiles import Broken, reason_problems
from contract_tests.strategies import (
    boundary_values,
    merged_schema,
    minimal_body,
    unsupported_keywords,
)

UPSTREAM = REPO_ROOT / "fixtures" / "upstream"
# A handful: an image family, tiers sharing one read beside their own lists and a list
# of all tiers, tiers sharing a read and a list, an audio family.
CHOSEN = ("/v1/ai/mystic", "seedance-2-pro", "image-to-video/kling-v2-1", "music-generation")


@pytest.fixture(scope="module")
def upstream() -> ContractSpec:
    return ContractSpec.load(UPSTREAM)


def test_the_whole_spec_has_the_fakes_families(upstream: ContractSpec) -> None:
    by_name = {family.collection: family for family in upstream.families}
    tiers = [by_name[f"/v1/ai/video/seedance-2-pro-{t}"] for t in ("480p", "720p", "1080p")]
    # Each tier reads through the read of all tiers and lists through its own list.
    assert {tier.get.path for tier in tiers} == {"/v1/ai/video/seedance-2-pro/{task-id}"}
    assert [tier.list.path for tier in tiers] == [tier.collection for tier in tiers]
    kling = by_name["/v1/ai/video/kling-v3-omni"]
    assert sorted(op.path for op in kling.creates) == [
        "/v1/ai/video/kling-v3-omni-pro",
        "/v1/ai/video/kling-v3-omni-std",
    ]
    # No synchronous operation is a family's.
    assert "/v1/ai/text-to-image" not in by_name
    assert all(op.method in ("post", "get") for op in upstream.operations)
    # What the suite cannot exercise is said, not failed.
    assert "own" in upstream.left_out["/v1/ai/image-style-transfer"]
    assert "oneOf" in upstream.left_out["/v1/ai/image-to-video/minimax-hailuo-02-768p"]
    # An empty anyOf states no rule: those bodies the suite builds.
    assert "/v1/ai/reference-to-video/wan-2-7" in by_name
    assert "0 and 0" in upstream.left_out["/v1/ai/loras/styles"]
    assert not set(upstream.left_out) & set(by_name)


def test_a_bounded_run_takes_the_families_asked_for(upstream: ContractSpec) -> None:
    chosen = upstream.only(CHOSEN)
    assert [f.collection for f in chosen.families] == [
        f.collection for f in upstream.families if any(w in f.collection for w in CHOSEN)
    ]
    assert len(chosen.families) == 7
    with pytest.raises(SpecMismatch, match="no task family"):
        upstream.only(["no-such-family"])


def test_the_vendored_spec_leaves_nothing_out() -> None:
    vendored = ContractSpec.load()
    assert vendored.left_out == {}
    assert [f.collection for f in vendored.families] == [
        "/v1/ai/reference-to-video/kling-v3-omni",
        "/v1/ai/video/kling-v3-omni",
    ]


# What the whole upstream API taught the suite: readings that were false differences.


def test_a_property_several_allof_parts_declare_keeps_each_parts_rules() -> None:
    schema = {
        "allOf": [
            {
                "title": "A",
                "properties": {"images": {"type": "array", "items": {"type": "integer"}}},
            },
            {
                "title": "B",
                "properties": {"images": {"description": "Reference images", "minItems": 1}},
            },
        ],
        "required": ["images"],
    }
    assert merged_schema(schema)["properties"]["images"]["minItems"] == 1
    assert minimal_body(schema) == {"images": [0]}


def test_boundary_strings_meet_the_pattern_and_a_refused_default_is_not_sent() -> None:
    assert boundary_values({"type": "string", "pattern": "^[a-z]{2}$"}) == []
    limits = {"type": "string", "pattern": "^a+$", "minLength": 1, "maxLength": 2}
    assert boundary_values(limits) == ["aa"]
    assert None not in boundary_values({"type": "string", "default": None})
    assert None in boundary_values({"type": ["string", "null"], "default": None})


def test_a_null_body_is_an_invalid_body_only_where_the_body_is_required() -> None:
    schema = {"properties": {"prompt": {"type": "string"}}}
    bodies = [body for body, _ in explicit_invalid_bodies(schema, body_required=False)]
    assert None not in bodies and [] in bodies
    assert None in [body for body, _ in explicit_invalid_bodies(schema)]


def test_alternatives_are_keywords_the_suite_cannot_build_but_an_empty_one_is_none() -> None:
    assert unsupported_keywords({"properties": {"a": {"oneOf": [{"type": "string"}]}}}) == {"oneOf"}
    assert unsupported_keywords({"anyOf": [], "properties": {"a": {"type": "string"}}}) == set()


def test_enum_reasons_are_quoted_as_pydantic_prints_them() -> None:
    schema = {"enum": ["social_5_4", "social_post_4_5'", None]}
    broken = Broken("body.ratio", Mutation("outside_enum", "ratio"), schema, 7)
    assert reason_problems(broken, "Input should be 'social_5_4' or \"social_post_4_5'\"") == []
    assert reason_problems(broken, "Input should be 'social_5_4' or 'social_post_4_5''")


def _not_found(status: int, body: object, upstream: ContractSpec) -> list[str]:
    read = next(f.get for f in upstream.families if f.collection == "/v1/ai/mystic")
    exchange = Exchange("GET", "/v1/ai/mystic/x", status=status, response_body=body, json_ok=True)
    return check_not_found(read, exchange)


def test_a_404_a_read_leaves_out_is_the_apis_not_found(upstream: ContractSpec) -> None:
    assert _not_found(404, {"message": "AI resource not found"}, upstream) == []
    assert _not_found(404, {"detail": "nope"}, upstream)
    assert _not_found(409, {"message": "conflict"}, upstream)  # still undocumented


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["observed", "spec"])
def test_a_bounded_run_over_the_whole_spec_passes(tmp_path: Path, profile: str) -> None:
    record = tmp_path / "recorded"
    run = run_contract(
        tmp_path,
        "--spec-dir",
        str(UPSTREAM),
        "--families",
        *CHOSEN,
        "--examples",
        "4",
        "--profile",
        profile,
        "--record",
        str(record),
    )
    assert run.code == 0, run.output
    assert run.report is not None
    outcomes = {c["check"]: c["outcome"] for c in run.report["checks"]}
    assert set(outcomes.values()) <= {"passed", "skipped"}, run.output
    assert outcomes["test_tasks_are_read_only_through_their_own_family"] == "passed"
    assert outcomes["test_task_lifecycle"] == "passed"
    exchanges = [json.loads(p.read_text()) for p in sorted(record.glob("*.json"))]
    assert all(e["response"]["status"] < 500 for e in exchanges)
    paths = {e["request"]["path"] for e in exchanges}
    # The fake served the whole spec: every chosen family's create was sent.
    for create in ("/v1/ai/mystic", "/v1/ai/video/seedance-2-pro-720p", "/v1/ai/music-generation"):
        assert create in paths
    assert any(
        note.startswith("task family /v1/ai/image-style-transfer left out")
        for note in run.report["notes"]
    )
