"""``drift --update`` accepts upstream changes into a copy of the vendored spec."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
from drift_support import BASELINE, UPSTREAM, UPSTREAM_DOCS, case, needs_upstream

from mockserver.drift import check_drift, load_source, update_vendored
from mockserver.drift.update import UpdateError
from mockserver.spec import load_spec, load_yaml, vendored_spec_dir

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
    assert result.kept == (("kling-v3-omni-tasks.yaml",
                            "no drift in its operations: left as it is"),)
    assert (spec_dir / "kling-v3-omni-tasks.yaml").read_bytes() == tasks_before
    request = load_yaml((spec_dir / "kling-v3-omni-std.yaml").read_bytes())["components"][
        "schemas"]["kling-v3-omni-video-reference-request"]
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
        ("kling-v3-omni-tasks.yaml",
         "upstream lacks GET /v1/ai/reference-to-video/kling-v3-omni"),
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


@needs_upstream
def test_accepting_the_magnific_spec(tmp_path: Path) -> None:
    spec_dir = _copy(vendored_spec_dir(), tmp_path)
    snapshot = str(UPSTREAM / "freepik-openapi-kacperpaczos-1373326.yaml")
    result = update_vendored(spec_dir, load_source(snapshot), today=TODAY)
    assert sorted(entry.name for entry in result.written) == [
        "kling-v3-omni-std.yaml", "kling-v3-omni-tasks.yaml"
    ]
    spec = load_spec(spec_dir)  # the fake and the contract tests read this
    assert {operation.auth_header for operation in spec} == {"x-magnific-api-key"}
    post = spec.by_id("postAiReferenceToVideoKlingV3OmniStd")
    assert post.request_schema is not None
    assert post.request_schema["properties"]["cfg_scale"]["maximum"] == 1
    assert post.request_schema["properties"]["aspect_ratio"]["default"] == "16:9"
    task = spec.by_id("getAiReferenceToVideoKlingV3OmniTask")
    assert "404" in task.responses  # x-derived: kept although upstream lacks it
    tasks = load_yaml((spec_dir / "kling-v3-omni-tasks.yaml").read_bytes())
    assert "kling-v3-omni-webhook-payload" in tasks["components"]["schemas"]
    report, _ = check_drift([snapshot], spec_dir=spec_dir, require_all=True)
    assert report.findings == ()
    assert report.exit_code() == 0


@needs_upstream
def test_accepting_the_seed_docs_page_restores_the_seed_byte_for_byte(tmp_path: Path) -> None:
    spec_dir = _copy(vendored_spec_dir(), tmp_path)
    magnific = str(UPSTREAM / "freepik-openapi-kacperpaczos-1373326.yaml")
    update_vendored(spec_dir, load_source(magnific), today=TODAY)
    page = UPSTREAM_DOCS / "freepik-docs-Knguyen-data-5e0ab63-generate-std-video-reference.md"
    result = update_vendored(spec_dir, load_source(str(page)), today=TODAY)
    assert [(e.name, e.kind) for e in result.written] == [
        ("kling-v3-omni-std.yaml", "upstream copy: the docs page's OpenAPI block, byte-for-byte")
    ]
    seed = vendored_spec_dir() / "kling-v3-omni-std.yaml"
    assert (spec_dir / "kling-v3-omni-std.yaml").read_bytes() == seed.read_bytes()
