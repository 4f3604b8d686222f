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
