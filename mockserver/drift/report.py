"""Rendering a :class:`DriftReport` as text (people), JSON (scripts) or JUnit XML (CI)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from .findings import DriftReport, FailOn, Finding, Severity

__all__ = ["FORMATS", "render", "render_json", "render_junit", "render_text"]

FORMATS = ("text", "json", "junit")

_VERDICT = {
    0: "no drift that fails this check",
    1: "breaking drift: clients of the API may break",
    2: "drift that is not breaking: review it and accept it with --update",
}
_ORDER = (Severity.BREAKING, Severity.NON_BREAKING, Severity.INFO)


def render(report: DriftReport, fmt: str, fail_on: FailOn = FailOn.NON_BREAKING) -> str:
    if fmt == "json":
        return render_json(report, fail_on)
    if fmt == "junit":
        return render_junit(report, fail_on)
    return render_text(report, fail_on)


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _summary(report: DriftReport, fail_on: FailOn) -> str:
    code = report.exit_code(fail_on)
    counts = ", ".join(f"{report.count(severity)} {severity.value}" for severity in _ORDER)
    return f"{counts} -> exit {code} ({_VERDICT[code]})"


def render_text(report: DriftReport, fail_on: FailOn = FailOn.NON_BREAKING) -> str:
    lines = [
        f"freepik-mock drift: {report.vendored} (old) vs upstream (new)",
        *(f"  upstream: {source}" for source in report.sources),
        "",
        "Compared:",
        *(f"  {label}  <- {origin}" for label, origin in report.compared.items()),
    ]
    if not report.compared:
        lines.append("  nothing: the upstream source holds none of the covered operations")
    if report.missing:
        consequence = ("breaking (--require-all)" if report.require_all
                       else "not compared; with --require-all a missing operation is breaking")
        lines += ["", f"Not in the upstream source ({consequence}):",
                  *(f"  {label}" for label in report.missing)]
    if report.not_covered:
        lines += ["", "Not covered by this source (vendored parts it says nothing about):"]
        lines += [f"  {note.path}: {note.reason}" for note in report.not_covered]
    for severity in _ORDER:
        found = report.of(severity)
        if not found:
            continue
        lines += ["", f"{severity.value.upper()} ({len(found)}):"]
        for finding in found:
            lines += _text_finding(finding)
    if not report.findings:
        lines += ["", "No differences in what was compared."]
    lines += ["", f"Result: {_summary(report, fail_on)}"]
    return "\n".join(lines) + "\n"


def _text_finding(finding: Finding) -> list[str]:
    out = [f"  [{finding.severity.value}] {finding.message}",
           f"      rule  {finding.rule}",
           f"      path  {finding.path}",
           f"      old   {_short(finding.old)}",
           f"      new   {_short(finding.new)}"]
    if finding.operations:
        out.append(f"      in    {', '.join(finding.operations)}")
    return out


def render_json(report: DriftReport, fail_on: FailOn = FailOn.NON_BREAKING) -> str:
    document = {
        "vendored": report.vendored,
        "sources": list(report.sources),
        "compared": report.compared,
        "missing": list(report.missing),
        "require_all": report.require_all,
        "not_covered": [
            {"path": note.path, "reason": note.reason, "operations": list(note.operations)}
            for note in report.not_covered
        ],
        "summary": {severity.value: report.count(severity) for severity in _ORDER},
        "fail_on": fail_on.value,
        "exit_code": report.exit_code(fail_on),
        "findings": [finding.as_dict() for finding in report.findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def render_junit(report: DriftReport, fail_on: FailOn = FailOn.NON_BREAKING) -> str:
    """One test case per covered operation; a failing finding is a <failure>."""
    labels = [*report.compared, *report.missing]
    labels += sorted({op for finding in report.findings for op in finding.operations
                      if op not in labels})
    suite = ET.Element("testsuite", name="freepik-mock drift")
    properties = ET.SubElement(suite, "properties")
    for source in report.sources:
        ET.SubElement(properties, "property", name="upstream", value=source)
    ET.SubElement(properties, "property", name="fail-on", value=fail_on.value)
    failures = skipped = 0
    for label in labels:
        case = ET.SubElement(suite, "testcase", classname="drift", name=label)
        findings = [finding for finding in report.findings if label in finding.operations]
        failing = [finding for finding in findings if report.fails(finding, fail_on)]
        for finding in failing:
            ET.SubElement(case, "failure", type=finding.severity.value,
                          message=finding.message).text = "\n".join(_text_finding(finding))
        if failing:
            failures += 1
        elif label in report.missing:
            ET.SubElement(case, "skipped", message="not in the upstream source")
            skipped += 1
        quiet = [finding for finding in findings if finding not in failing]
        notes = [f"  not covered: {note.path}: {note.reason}" for note in report.not_covered
                 if label in note.operations]
        if quiet or notes:
            text = [line for finding in quiet for line in _text_finding(finding)] + notes
            ET.SubElement(case, "system-out").text = "\n".join(text)
    suite.set("tests", str(len(labels)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
