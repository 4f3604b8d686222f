"""Differential mode: the same requests to two servers, every disagreement reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from contract_runs import run_contract, served_fake

from contract_tests.differential import DifferentialReport, compare
from contract_tests.exchange import Exchange

# Each test runs the contract suite in a subprocess against served fakes.
pytestmark = pytest.mark.slow


def _answer(status: int, body: Any) -> Exchange:
    return Exchange(
        "POST",
        "/v1/x",
        request_body={"cfg_scale": 3},
        status=status,
        content_type="application/json",
        response_body=body,
        json_ok=True,
    )


FIELD = {"message": "m", "invalid_params": [{"field": "cfg_scale", "reason": "r"}]}


def test_compare_sees_status_shape_and_fields_named() -> None:
    assert compare(_answer(400, FIELD), _answer(400, FIELD)) == []
    assert compare(_answer(400, FIELD), _answer(422, FIELD)) == ["status"]
    assert compare(_answer(400, FIELD), _answer(400, {"message": "m"})) == [
        "body shape",
        "fields named",
    ]
    by_name = {"message": "m", "invalid_params": [{"name": "cfg_scale", "reason": "r"}]}
    assert compare(_answer(400, FIELD), _answer(400, by_name)) == ["body shape"]
    # Values never count: two task ids are different by nature.
    a = {"data": {"task_id": "a", "status": "CREATED", "generated": []}}
    b = {"data": {"task_id": "b", "status": "COMPLETED", "generated": ["https://x"]}}
    assert compare(_answer(200, a), _answer(200, b)) == []


def test_the_report_groups_disagreements_and_keeps_the_shortest_request() -> None:
    report = DifferentialReport("A", "B")
    long = Exchange("POST", "/v1/x", request_body={"prompt": "x" * 50}, status=400)
    short = Exchange("POST", "/v1/x", request_body={"prompt": ""}, status=400)
    report.add("create: wrong type: prompt", long, Exchange("POST", "/v1/x", status=200))
    report.add("create: wrong type: prompt", short, Exchange("POST", "/v1/x", status=200))
    report.add("list", Exchange("GET", "/v1/y", status=200), Exchange("GET", "/v1/y", status=200))
    assert report.requests == 3
    (only,) = report.disagreements
    assert only.seen == 2 and only.a is short
    table = report.table()
    assert "create: wrong type: prompt (x2) | status" in table
    assert json.loads(json.dumps(report.to_json()))["disagreements"][0]["a"]["status"] == 400


def test_fake_against_a_broken_variant_reports_the_difference(tmp_path: Path) -> None:
    diff = tmp_path / "diff.json"
    run = run_contract(
        tmp_path,
        "--target", "fake",
        "--compare", "asgi:broken_variants:undocumented_status",
        "--examples", "10",
        "--diff-json", str(diff),
    )  # fmt: skip
    assert run.code == 1, run.output
    data = json.loads(diff.read_text())
    assert data["a"] == "fake (in-process)"
    kinds = {d["request_kind"]: d for d in data["disagreements"]}
    missing = kinds["POST /v1/ai/reference-to-video/kling-v3-omni-pro: missing required: video_url"]
    assert missing["differences"] == ["status"]
    assert (missing["a"]["status"], missing["b"]["status"]) == (400, 422)
    assert "| status" in run.output  # the table
    assert "disagreements as JSON" in run.output


def test_fake_against_a_served_fake_with_the_spec_example_keys(tmp_path: Path) -> None:
    # The spec's example keys invalid_params items by "name", the API by "field": the
    # comparison reports a body-shape difference, not a field-naming one; under the
    # observed profile (the default) every error body that is not the live API's is a
    # difference too: the 400s, and the wrong-key 401 whose shape agrees.
    with served_fake(
        "--clock", "manual", "--profile", "spec", "--api-key", "contract-test-key"
    ) as url:  # fmt: skip
        run = run_contract(
            tmp_path, "--target", "fake", "--compare", url, "--examples", "10",
            "--diff-json", str(tmp_path / "diff.json"),
        )  # fmt: skip
    assert run.code == 1, run.output
    data = json.loads((tmp_path / "diff.json").read_text())
    assert data["profile"] == "observed"
    differences = {tuple(d["differences"]) for d in data["disagreements"]}
    # A valid create with null on an optional field: the observed fake takes the null as
    # absent, the spec fake refuses it.
    assert differences <= {
        ("body shape", "error body"),
        ("error body",),
        ("status", "body shape", "fields named"),
    }
    assert {("body shape", "error body"), ("error body",)} <= differences
    for item in data["disagreements"]:
        if "status" in item["differences"]:
            assert item["request_kind"].endswith("(valid)")
            assert None in item["request"]["body"].values()
            assert (item["a"]["status"], item["b"]["status"]) == (200, 400)
    only_bodies = [d for d in data["disagreements"] if d["differences"] == ["error body"]]
    assert {d["a"]["status"] for d in only_bodies} == {401}


def test_the_differential_follows_the_profile(tmp_path: Path) -> None:
    # Under --profile spec the in-process fake answers the spec's examples too: it and a
    # served fake under the spec profile agree; under observed the same pair would not.
    with served_fake(
        "--clock", "manual", "--profile", "spec", "--api-key", "contract-test-key"
    ) as url:  # fmt: skip
        run = run_contract(
            tmp_path, "--target", "fake", "--compare", url, "--examples", "10",
            "--profile", "spec",
        )  # fmt: skip
    assert run.code == 0, run.output
    assert "agree on every status, body shape and field named" in run.output


def test_under_observed_missing_live_headers_are_a_difference() -> None:
    live = {
        "x-request-id": "ak-" + "0" * 32,
        "cache-control": "max-age=0, no-cache, no-store",
        "pragma": "no-cache",
        "expires": "Tue, 01 Dec 2026 10:00:00 GMT",
    }
    a = Exchange("GET", "/v1/y", status=404, response_headers=live, response_raw=b"{}")
    b = Exchange("GET", "/v1/y", status=404, response_headers={}, response_raw=b"{}")
    assert compare(a, b, "observed") == ["headers"]
    assert compare(a, b, "spec") == []
    c = Exchange("GET", "/v1/y", status=404, response_headers=live, response_raw=b'{"a":1}')
    assert compare(a, c, "observed") == ["error body"]


def test_two_identical_fakes_agree(tmp_path: Path) -> None:
    with served_fake("--clock", "manual", "--api-key", "contract-test-key") as url:
        run = run_contract(tmp_path, "--target", "fake", "--compare", url, "--examples", "10")
    assert run.code == 0, run.output
    assert "agree on every status, body shape and field named" in run.output
