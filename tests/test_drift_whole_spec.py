"""``freepik-mock drift`` over the whole upstream API: every operation, per family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mockserver.cli import main

WHOLE = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"
SPEC = WHOLE / "source" / "magnific-api-v1-openapi.yaml"


def _drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["drift", "--spec-dir", str(WHOLE), *args])
    return code, capsys.readouterr().out


def test_the_whole_spec_against_itself_has_no_drift(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _drift(capsys, "--upstream", str(SPEC), "--require-all")
    assert code == 0
    assert "Compared: 436 operations in " in out
    assert "No differences in what was compared." in out


def test_drift_in_one_family_is_reported_for_that_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SPEC.read_text(encoding="utf-8")
    # Upstream drops the documented 400 of the Mystic list.
    start = text.index("  /v1/ai/mystic:")
    cut = text.index('        "400":', start)
    text = text[:cut] + text[text.index('        "401":', cut) :]
    changed = tmp_path / "changed.yaml"
    changed.write_text(text, encoding="utf-8")
    code, out = _drift(capsys, "--upstream", str(changed), "--format", "json")
    report = json.loads(out)
    assert code == 1
    drifted = {family: row for family, row in report["by_family"].items() if row["breaking"]}
    assert drifted == {
        "/v1/ai/mystic": {"compared": 3, "breaking": 1, "non-breaking": 0, "info": 0}
    }
    assert len(report["compared"]) == 436
    code, out = _drift(capsys, "--upstream", str(changed))
    assert "/v1/ai/mystic  1 breaking" in out.split("By family (1 of ")[1]


def test_families_are_the_fakes_own_shared_reads_in_each_tier_and_calls_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads((WHOLE / "magnific-api-v1-openapi.json").read_bytes())
    paths = document["paths"]
    # Upstream drops the 404 of the read every Seedance 2.0 Pro tier shares, and the 400
    # of two synchronous calls.
    del paths["/v1/ai/video/seedance-2-pro/{task-id}"]["get"]["responses"]["404"]
    del paths["/v1/ai/text-to-image"]["post"]["responses"]["400"]
    del paths["/v1/icons"]["get"]["responses"]["400"]
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(document), encoding="utf-8")
    code, out = _drift(capsys, "--upstream", str(changed), "--format", "json")
    report = json.loads(out)
    assert code == 1
    drifted = {family: row["breaking"] for family, row in report["by_family"].items()}
    drifted = {family: count for family, count in drifted.items() if count}
    tiers = [f"/v1/ai/video/seedance-2-pro-{tier}" for tier in ("1080p", "480p", "720p")]
    # Served by the fake to each tier's tasks, so it is each tier's drift; no family of
    # its own path, and the calls in one group rather than one family each.
    assert drifted == {**dict.fromkeys(tiers, 1), "calls": 2}
    shared = "GET /v1/ai/video/seedance-2-pro/{task-id}"
    assert report["families"][shared] == tiers
    assert report["families"]["POST /v1/ai/text-to-image"] == ["calls"]
    # Each tier: its create, its own list, the list of all tiers and the shared read.
    assert {report["by_family"][tier]["compared"] for tier in tiers} == {4}
    _, out = _drift(capsys, "--upstream", str(changed))
    assert "Compared: 436 operations in 136 families and 34 calls <- " in out
    assert "  calls" in out.split("By family (4 of ")[1]
