"""The three report formats carry the same findings, each readable by its audience."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from drift_support import BASELINE, FIXTURES, LIST, MAGNIFIC, POST, R2V_PRO, TASK, WEBHOOK, case

from mockserver.drift import FailOn, Finding, Severity, check_drift, render
from mockserver.drift.findings import DriftReport


def _report(*sources: str) -> DriftReport:
    return check_drift(list(sources), spec_dir=BASELINE)[0]


def test_json_lists_every_finding_with_path_old_new_and_class() -> None:
    document = json.loads(render(_report(case("unauthorized-body-changed")), "json"))
    assert document["summary"] == {"breaking": 1, "non-breaking": 1, "info": 0}
    assert document["exit_code"] == 1
    assert {
        (f["class"], f["rule"], f["old"] is None, f["new"] is None) for f in document["findings"]
    } == {
        ("breaking", "field-removed", False, True),
        ("non-breaking", "field-added", True, False),
    }
    assert all(f["path"].startswith("$.paths[") for f in document["findings"])


def test_text_lists_missing_operations_and_what_the_source_does_not_cover() -> None:
    text = render(_report(str(FIXTURES / "docs-page-cfg-scale-max-1.md")), "text")
    assert (
        "Not in the upstream source (not compared; with --require-all a missing operation "
        "is breaking):\n  " + LIST + "\n  " + TASK + "\n" in text
    )
    assert "Not covered by this source" in text
    assert "$.components.schemas['kling-v3-omni-webhook-payload']: webhook payload" in text


def test_junit_has_a_case_per_operation_and_a_failure_per_failing_finding() -> None:
    report = _report(case("magnific-rebrand"))
    suite = ET.fromstring(render(report, "junit"))
    assert suite.tag == "testsuite"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {POST, LIST, TASK, WEBHOOK}
    assert suite.get("failures") == "3"
    failures = cases[POST].findall("failure")
    assert sorted(f.get("message", "")[:14] for f in failures) == [
        "authentication",
        "server https:/",
    ]
    assert cases[WEBHOOK].find("failure") is None


def test_junit_failures_follow_fail_on() -> None:
    report = _report(case("page-size-widened"))
    strict = ET.fromstring(render(report, "junit", FailOn.NON_BREAKING))
    lenient = ET.fromstring(render(report, "junit", FailOn.BREAKING))
    assert strict.get("failures") == "1"
    assert lenient.get("failures") == "0"
    out = lenient.find("testcase[@name='" + LIST + "']/system-out")
    assert out is not None and "range-widened" in (out.text or "")


def test_junit_marks_missing_operations_skipped() -> None:
    report = _report(case("list-endpoint-removed"))
    suite = ET.fromstring(render(report, "junit"))
    skipped = [c.get("name") for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert skipped == [LIST]


def test_a_new_tier_is_its_own_junit_case_failing_only_with_fail_on_any() -> None:
    report = _report(str(MAGNIFIC))
    for fail_on, failing in ((FailOn.NON_BREAKING, False), (FailOn.ANY, True)):
        suite = ET.fromstring(render(report, "junit", fail_on))
        case_ = suite.find(f"testcase[@name='{R2V_PRO}']")
        assert case_ is not None
        assert (case_.find("failure") is not None) is failing
        if not failing:
            out = case_.find("system-out")
            assert out is not None and "operation-not-vendored" in (out.text or "")


def test_grouped_info_counts_operations_beyond_a_few() -> None:
    report = _report(str(MAGNIFIC))
    text = render(report, "text")
    # example-changed touches the three baseline operations: named; JSON keeps each.
    line = next(line for line in text.splitlines() if line.startswith("  example-changed"))
    assert line.endswith(f"in {POST}, {LIST}, {TASK}")
    many = DriftReport(
        sources=(),
        vendored="v",
        compared={},
        missing=(),
        findings=tuple(
            Finding(Severity.INFO, "description-changed", "$", None, None, "m", (f"GET /{n}",))
            for n in range(6)
        ),
    )
    assert "  description-changed    6  in 6 operations\n" in render(many, "text")
    assert len(json.loads(render(many, "json"))["findings"]) == 6
