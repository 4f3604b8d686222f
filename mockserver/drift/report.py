"""Rendering a :class:`DriftReport` as text (people), JSON (scripts) or JUnit XML (CI).

The text report lists breaking and non-breaking findings one by one, and info findings
(descriptions, examples, new operations of a covered family) as one line per rule with a
count and the operations it concerns, unless ``show_info``: a docs page differs from the
vendored spec in dozens of reworded descriptions, which would bury the one finding that
matters. The JSON report always holds every finding.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from .findings import (
    CALLS,
    EXIT_UNREADABLE,
    DriftReport,
    FailOn,
    Finding,
    Severity,
    UpdateOutcome,
)

__all__ = ["FORMATS", "render", "render_json", "render_junit", "render_text"]

FORMATS = ("text", "json", "junit")

_VERDICT = {
    0: "no drift that fails this check",
    1: "breaking drift: clients of the API may break",
    2: "drift that is not breaking: review it and accept it with --update",
    EXIT_UNREADABLE: "--update wrote nothing",
}
# A grouped info line names its operations up to this many, then counts them.
_NAMED_OPERATIONS = 4
_ORDER = (Severity.BREAKING, Severity.NON_BREAKING, Severity.INFO)
_COUNTED = tuple(severity.value for severity in _ORDER)
# Reports comparing more operations than this list them per family (a whole API).
_LISTED_OPERATIONS = 24


def render(
    report: DriftReport,
    fmt: str,
    fail_on: FailOn = FailOn.NON_BREAKING,
    *,
    show_info: bool = False,
    update: UpdateOutcome | None = None,
) -> str:
    """The report in ``fmt``; with ``update``, its verdict is the drift left after it."""
    if fmt == "json":
        return render_json(report, fail_on, update=update)
    if fmt == "junit":
        return render_junit(report, fail_on)
    return render_text(report, fail_on, show_info=show_info, update=update)


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _counts(report: DriftReport) -> str:
    return ", ".join(f"{report.count(severity)} {severity.value}" for severity in _ORDER)


def _summary(report: DriftReport, fail_on: FailOn) -> str:
    code = report.exit_code(fail_on)
    return f"{_counts(report)} -> exit {code} ({_VERDICT[code]})"


def _result(report: DriftReport, fail_on: FailOn, update: UpdateOutcome | None) -> list[str]:
    """The verdict line(s): the exit code printed is the exit code returned."""
    if update is None:
        return [f"Result: {_summary(report, fail_on)}"]
    lines = [f"Found: {_counts(report)} (before --update)"]
    if update.after is None:
        return [
            *lines,
            f"Result: -> exit {EXIT_UNREADABLE} ({_VERDICT[EXIT_UNREADABLE]}: {update.problem})",
        ]
    remains = "; run drift again to list what remains" if update.after.findings else ""
    return [*lines, f"Result after --update: {_summary(update.after, fail_on)}{remains}"]


def render_text(
    report: DriftReport,
    fail_on: FailOn = FailOn.NON_BREAKING,
    *,
    show_info: bool = False,
    update: UpdateOutcome | None = None,
) -> str:
    lines = [
        f"freepik-mock drift: {report.vendored} (old) vs upstream (new)",
        *(f"  upstream: {source}" for source in report.sources),
        "",
    ]
    by_family = report.by_family()
    if len(report.compared) <= _LISTED_OPERATIONS:
        lines += ["Compared:"]
        lines += [f"  {label}  <- {origin}" for label, origin in report.compared.items()]
    else:
        # A whole API: one line per task family, not hundreds of operations.
        origins = ", ".join(dict.fromkeys(report.compared.values()))
        calls = by_family.get(CALLS, {}).get("compared", 0)
        families = len(by_family) - (CALLS in by_family)
        grouped = f"{families} families" + (f" and {calls} calls" if calls else "")
        lines += [f"Compared: {len(report.compared)} operations in {grouped} <- {origins}"]
    if not report.compared:
        lines.append("  nothing: the upstream source holds none of the covered operations")
    if report.missing:
        consequence = (
            "breaking (--require-all)"
            if report.require_all
            else "not compared; with --require-all a missing operation is breaking"
        )
        lines += [
            "",
            f"Not in the upstream source ({consequence}):",
            *(f"  {label}" for label in report.missing),
        ]
    if report.not_covered:
        lines += ["", "Not covered by this source (vendored parts it says nothing about):"]
        lines += [f"  {note.path}: {note.reason}" for note in report.not_covered]
    for severity in _ORDER:
        found = report.of(severity)
        if not found:
            continue
        if severity is Severity.INFO and not show_info:
            lines += ["", f"INFO ({len(found)}, by rule; --show-info lists each):"]
            lines += _grouped(found)
            continue
        lines += ["", f"{severity.value.upper()} ({len(found)}):"]
        for finding in found:
            lines += _text_finding(finding)
    drifted = {family: row for family, row in by_family.items() if any(row[s] for s in _COUNTED)}
    if len(by_family) > 1 and drifted:
        lines += ["", f"By family ({len(drifted)} of {len(by_family)} drifted):"]
        width = max(len(family) for family in drifted)
        for family, row in drifted.items():
            counts = ", ".join(f"{row[s]} {s}" for s in _COUNTED if row[s])
            lines.append(f"  {family:<{width}}  {counts}")
    if not report.findings:
        lines += ["", "No differences in what was compared."]
    lines += ["", *_result(report, fail_on, update)]
    return "\n".join(lines) + "\n"


def _grouped(findings: list[Finding]) -> list[str]:
    """One line per rule: how many findings, in which operations."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    width = max(len(rule) for rule in by_rule)
    lines = []
    for rule, group in by_rule.items():
        operations = list(dict.fromkeys(op for finding in group for op in finding.operations))
        where = (
            ", ".join(operations)
            if len(operations) <= _NAMED_OPERATIONS
            else f"{len(operations)} operations"
        )
        lines.append(
            f"  {rule:<{width}} {len(group):>4}  in {where}"
            if operations
            else f"  {rule:<{width}} {len(group):>4}"
        )
    return lines


def _text_finding(finding: Finding) -> list[str]:
    out = [
        f"  [{finding.severity.value}] {finding.message}",
        f"      rule  {finding.rule}",
        f"      path  {finding.path}",
        f"      old   {_short(finding.old)}",
        f"      new   {_short(finding.new)}",
    ]
    if finding.operations:
        out.append(f"      in    {', '.join(finding.operations)}")
    return out


def render_json(
    report: DriftReport,
    fail_on: FailOn = FailOn.NON_BREAKING,
    *,
    update: UpdateOutcome | None = None,
) -> str:
    document: dict[str, Any] = {
        "vendored": report.vendored,
        "sources": list(report.sources),
        "compared": report.compared,
        "missing": list(report.missing),
        "require_all": report.require_all,
        "not_covered": [
            {"path": note.path, "reason": note.reason, "operations": list(note.operations)}
            for note in report.not_covered
        ],
        "families": report.families,
        "by_family": report.by_family(),
        "summary": {severity.value: report.count(severity) for severity in _ORDER},
        "fail_on": fail_on.value,
        "exit_code": report.exit_code(fail_on) if update is None else update.exit_code(fail_on),
        "findings": [finding.as_dict() for finding in report.findings],
    }
    if update is not None:
        after = update.after
        document["update"] = {
            "written": [{"file": name, "kind": kind} for name, kind in update.written],
            "kept": [{"file": name, "reason": reason} for name, reason in update.kept],
            "problem": update.problem,
            "summary_after": None
            if after is None
            else {severity.value: after.count(severity) for severity in _ORDER},
            "findings_after": None
            if after is None
            else [finding.as_dict() for finding in after.findings],
        }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def render_junit(report: DriftReport, fail_on: FailOn = FailOn.NON_BREAKING) -> str:
    """One test case per covered operation; a failing finding is a <failure>."""
    labels = [*report.compared, *report.missing]
    labels += sorted(
        {op for finding in report.findings for op in finding.operations if op not in labels}
    )
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
            ET.SubElement(
                case, "failure", type=finding.severity.value, message=finding.message
            ).text = "\n".join(_text_finding(finding))
        if failing:
            failures += 1
        elif label in report.missing:
            ET.SubElement(case, "skipped", message="not in the upstream source")
            skipped += 1
        quiet = [finding for finding in findings if finding not in failing]
        notes = [
            f"  not covered: {note.path}: {note.reason}"
            for note in report.not_covered
            if label in note.operations
        ]
        if quiet or notes:
            text = [line for finding in quiet for line in _text_finding(finding)] + notes
            ET.SubElement(case, "system-out").text = "\n".join(text)
    suite.set("tests", str(len(labels)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
