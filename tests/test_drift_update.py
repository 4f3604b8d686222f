"""``drift --update`` accepts upstream changes into a copy of the vendored spec."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
import yaml
from drift_support import BASELINE, MAGNIFIC, MAGNIFIC_R2V_STD, UPSTREAM_DOCS, case

from mockserver.drift import FailOn, check_drift, load_source, update_vendored
from mockserver.drift.update import UpdateError
from mockserver.spec import json_twin, load_spec, load_yaml, read_document, vendored_spec_dir

TODAY = dt.date(2026, 11, 24)


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "openapi"
    shutil.copytree(source, target)
    return target


def _provenance_rows(spec_dir: Path) -> dict[str, str]:
    lines = (spec_dir / "PROVENANCE.md").read_text().splitlines()
    return {line.split("`")[1]: line for line in lines if line.startswith("| `")}


def test_only_files_with_drift_are_rewritten(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    tasks_before = (spec_dir / "kling-v3-omni-tasks.yaml").read_bytes()
    result = update_vendored(spec_dir, load_source(case("cfg-scale-max-1")), today=TODAY)
    assert [entry.name for entry in result.written] == ["kling-v3-omni-std.yaml"]
    assert result.kept == (
        ("kling-v3-omni-tasks.yaml", "no drift in its operations: left as it is"),
    )
    assert (spec_dir / "kling-v3-omni-tasks.yaml").read_bytes() == tasks_before
    request = load_yaml((spec_dir / "kling-v3-omni-std.yaml").read_bytes())["components"][
        "schemas"
    ]["kling-v3-omni-video-reference-request"]
    assert request["properties"]["cfg_scale"]["maximum"] == 1
    report, _ = check_drift([case("cfg-scale-max-1")], spec_dir=spec_dir)
    assert report.findings == ()


def test_provenance_records_source_date_and_sha256(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    [document] = load_source(case("magnific-rebrand"))
    update_vendored(spec_dir, [document], today=TODAY)
    rows = _provenance_rows(spec_dir)
    assert set(rows) == {"kling-v3-omni-std.yaml", "kling-v3-omni-tasks.yaml"}
    for name, row in rows.items():
        digest = hashlib.sha256((spec_dir / name).read_bytes()).hexdigest()
        assert row.endswith(f"| 2026-11-24 | `{digest}` |")
        assert case("magnific-rebrand") in row and document.sha256 in row


def test_the_webhook_payload_follows_upstream_when_upstream_has_one(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    update_vendored(spec_dir, load_source(case("webhook-payload-new-field")), today=TODAY)
    assert check_drift([case("webhook-payload-new-field")], spec_dir=spec_dir)[0].findings == ()


def test_a_partial_source_leaves_the_files_it_cannot_fill(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    result = update_vendored(spec_dir, load_source(case("list-endpoint-removed")), today=TODAY)
    assert result.written == ()
    assert result.kept == (
        ("kling-v3-omni-std.yaml", "no drift in its operations: left as it is"),
        ("kling-v3-omni-tasks.yaml", "upstream lacks GET /v1/ai/reference-to-video/kling-v3-omni"),
    )


def test_conflicting_components_from_two_sources_write_nothing(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    before = {p.name: p.read_bytes() for p in spec_dir.iterdir()}
    first = load_source(case("task-status-new-value"))[0]
    second = load_source(case("identical"))[0]
    # The tasks file takes its GET list from one source and GET by id from the other,
    # and the two disagree on the shared "task" schema.
    del first.document["paths"]["/v1/ai/reference-to-video/kling-v3-omni/{task-id}"]
    with pytest.raises(UpdateError, match=r"components\.schemas\.task differs between"):
        update_vendored(spec_dir, [first, second], today=TODAY)
    assert {p.name: p.read_bytes() for p in spec_dir.iterdir()} == before


def test_accepting_the_whole_magnific_spec_rewrites_every_file(tmp_path: Path) -> None:
    spec_dir = _copy(vendored_spec_dir(), tmp_path)
    result = update_vendored(spec_dir, load_source(str(MAGNIFIC)), today=TODAY)
    assert sorted(entry.name for entry in result.written) == sorted(
        path.name for path in vendored_spec_dir().glob("*.yaml")
    )
    spec = load_spec(spec_dir)  # the fake and the contract tests read this
    assert len(spec.operations) == 8
    assert {operation.auth_header for operation in spec} == {"x-magnific-api-key"}
    for operation_id in (
        "postAiReferenceToVideoKlingV3OmniStd",
        "postAiReferenceToVideoKlingV3OmniPro",
    ):
        request = spec.by_id(operation_id).request_schema
        assert request is not None
        assert request["properties"]["cfg_scale"]["maximum"] == 1
        # Upstream writes 16:9 unquoted; the rewrite keeps the string, not 969.
        assert request["properties"]["aspect_ratio"]["default"] == "16:9"
    for path in (
        "/v1/ai/reference-to-video/kling-v3-omni/{task-id}",
        "/v1/ai/video/kling-v3-omni/{task-id}",
    ):
        task = spec.find("get", path)
        assert task is not None and "404" in task.responses  # x-derived: kept
    tasks = load_yaml((spec_dir / "kling-v3-omni-tasks.yaml").read_bytes())
    assert "kling-v3-omni-webhook-payload" in tasks["components"]["schemas"]
    report, _ = check_drift([str(MAGNIFIC)], spec_dir=spec_dir, require_all=True)
    assert report.findings == ()
    assert report.exit_code() == 0


def test_accepting_the_seed_docs_page_restores_the_seed_byte_for_byte(tmp_path: Path) -> None:
    spec_dir = _copy(vendored_spec_dir(), tmp_path)
    update_vendored(spec_dir, load_source(str(MAGNIFIC_R2V_STD)), today=TODAY)
    page = UPSTREAM_DOCS / "freepik-docs-Knguyen-data-5e0ab63-generate-std-video-reference.md"
    result = update_vendored(spec_dir, load_source(str(page)), today=TODAY)
    assert [(e.name, e.kind) for e in result.written] == [
        ("kling-v3-omni-std.yaml", "upstream copy: the docs page's OpenAPI block, byte-for-byte")
    ]
    seed = vendored_spec_dir() / "kling-v3-omni-std.yaml"
    assert (spec_dir / "kling-v3-omni-std.yaml").read_bytes() == seed.read_bytes()


# --- the fake's own extensions (x-freepik-mock-*) ---------------------------------------

RULES = {"one-of-required": [["prompt"], ["multi_prompt"]]}  # content the drift check ignores
REQUEST = "kling-v3-omni-video-reference-request"


def _with_rules(spec_dir: Path, name: str, at: tuple[str, ...]) -> None:
    """Give the schema at ``at`` in file ``name`` an x-freepik-mock-rules key."""
    path = spec_dir / name
    document = load_yaml(path.read_bytes())
    node = document
    for part in at:
        node = node[part]
    node["x-freepik-mock-rules"] = RULES
    node["x-freepik-mock-note"] = "any x-freepik-mock-* key is ours"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def _rules_in(spec_dir: Path, name: str, at: tuple[str, ...]) -> object:
    node = load_yaml((spec_dir / name).read_bytes())
    for part in at:
        node = node[part]
    return node.get("x-freepik-mock-rules")


def test_an_upstream_without_the_fakes_extensions_is_not_drift(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    at = ("components", "schemas", REQUEST)
    _with_rules(spec_dir, "kling-v3-omni-std.yaml", at)
    report, _ = check_drift([case("identical")], spec_dir=spec_dir)
    assert report.findings == () and report.exit_code(FailOn.ANY) == 0
    notes = {note.path: note.reason for note in report.not_covered}
    request = (
        "$.paths['/v1/ai/reference-to-video/kling-v3-omni-std'].post.requestBody"
        ".content['application/json'].schema"
    )
    assert notes[f"{request}['x-freepik-mock-rules']"] == (
        "x-freepik-mock-rules is the fake's own extension, which this source does not have"
    )
    assert f"{request}['x-freepik-mock-note']" in notes


def test_update_keeps_the_fakes_extensions(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    at = ("components", "schemas", REQUEST)
    _with_rules(spec_dir, "kling-v3-omni-std.yaml", at)
    result = update_vendored(spec_dir, load_source(case("cfg-scale-max-1")), today=TODAY)
    [written] = result.written
    assert "kept the fake's own extensions" in written.kind
    assert _rules_in(spec_dir, "kling-v3-omni-std.yaml", at) == RULES
    spec = load_spec(spec_dir)
    post = spec.by_id("postAiReferenceToVideoKlingV3OmniStd")
    assert post.request_schema is not None
    assert post.request_schema["properties"]["cfg_scale"]["maximum"] == 1
    report, _ = check_drift([case("cfg-scale-max-1")], spec_dir=spec_dir)
    assert report.findings == ()


def test_update_keeps_the_fakes_extensions_when_upstream_renames_the_schema(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    at = ("components", "schemas", REQUEST)
    _with_rules(spec_dir, "kling-v3-omni-std.yaml", at)
    upstream = load_yaml(Path(case("cfg-scale-max-1")).read_bytes())
    schemas = upstream["components"]["schemas"]
    schemas["video-reference-request"] = schemas.pop(REQUEST)
    body = upstream["paths"]["/v1/ai/reference-to-video/kling-v3-omni-std"]["post"]["requestBody"][
        "content"
    ]["application/json"]
    body["schema"] = {"$ref": "#/components/schemas/video-reference-request"}
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(yaml.safe_dump(upstream, sort_keys=False), encoding="utf-8")
    update_vendored(spec_dir, load_source(str(renamed)), today=TODAY)
    assert (
        _rules_in(
            spec_dir, "kling-v3-omni-std.yaml", ("components", "schemas", "video-reference-request")
        )
        == RULES
    )


def test_an_extension_upstream_leaves_no_place_for_stops_the_update(tmp_path: Path) -> None:
    spec_dir = _copy(BASELINE, tmp_path)
    _with_rules(
        spec_dir,
        "kling-v3-omni-std.yaml",
        ("components", "schemas", REQUEST, "properties", "image_url"),
    )
    before = {p.name: p.read_bytes() for p in spec_dir.iterdir()}
    with pytest.raises(UpdateError, match=r"x-freepik-mock-\w+ at .*image_url has no place"):
        update_vendored(spec_dir, load_source(case("image-url-removed")), today=TODAY)
    assert {p.name: p.read_bytes() for p in spec_dir.iterdir()} == before


def test_a_rewritten_document_gets_its_json_twin_rewritten_in_the_same_step(
    tmp_path: Path,
) -> None:
    spec_dir = _copy(vendored_spec_dir(), tmp_path)
    update_vendored(spec_dir, load_source(str(MAGNIFIC)), today=TODAY)
    for source in sorted(spec_dir.glob("*.yaml")):
        twin = json_twin(source)
        # What start-up reads (the twin made from these bytes) is what the YAML now says.
        written = read_document(twin.read_bytes(), ".json")
        assert written["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert written["document"] == load_yaml(source.read_bytes())
    assert {operation.auth_header for operation in load_spec(spec_dir)} == {"x-magnific-api-key"}
