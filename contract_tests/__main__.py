"""``python -m contract_tests`` (and ``freepik-mock contract``): run the suite, summarise it.

Exit codes: 0 every check passed; 1 a contract failure; 2 a usage error (for one,
``--target real`` without ``FREEPIK_API_KEY``); 6 the target could not be reached
(a network failure, not a contract failure); other codes are pytest's own.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from .outcome import EXIT_USAGE, PROFILES
from .progress import ProgressReporter
from .summary import SummaryCollector
from .targets import load_app

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="freepik-mock contract",
        description="Run the contract tests, driven by the vendored Freepik spec, against "
        "the fake, any running server, or the real API. Extra pytest arguments may follow --.",
        epilog="Exit codes: 0 passed, 1 contract failure, 2 usage error, 6 network failure.",
    )
    add = parser.add_argument
    add(
        "--target",
        default="fake",
        metavar="WHERE",
        help="fake (in-process, default), a base URL such as http://127.0.0.1:8080, "
        "real (api.freepik.com; needs FREEPIK_API_KEY), or asgi:MODULE:NAME",
    )
    add("--compare", metavar="WHERE", help="differential mode: compare --target with this one")
    add(
        "--profile",
        choices=PROFILES,
        default="observed",
        help="what the checks expect: observed (default: what the live API was recorded "
        "answering; the profile that must pass against the real API) or spec (the spec's "
        "examples); the in-process fake target runs with the same profile",
    )
    add("--examples", type=int, default=50, metavar="N", help="examples per check (default 50)")
    add("--junit-xml", metavar="FILE", help="also write a JUnit XML report")
    add("--record", metavar="DIR", help="save request/response pairs in DIR, secrets scrubbed")
    add(
        "--allow-spend",
        type=int,
        default=0,
        metavar="N",
        help="real API only: allow at most N paid task creations (default 0: only "
        "cost-free requests: invalid bodies, auth failures, GETs)",
    )
    add(
        "--api-key",
        metavar="KEY",
        help="key for a URL target (default: a test key); the real key comes from "
        "FREEPIK_API_KEY only",
    )
    add("--wait", type=float, metavar="S", help="longest wait for a task to finish")
    add("--spec-dir", metavar="DIR", help="check against these OpenAPI documents instead")
    add(
        "--families",
        metavar="TEXT",
        nargs="+",
        help="only the task families whose path contains one of these (a bounded run "
        "over a whole API: --spec-dir fixtures/upstream --families mystic seedance-2-pro)",
    )
    add("--diff-json", metavar="FILE", help="differential mode: disagreements as JSON")
    add("--report-json", metavar="FILE", help="write the summary as JSON")
    add("pytest_args", nargs="*", help="after --: passed to pytest as they are")
    return parser


def _usage_error(message: str) -> int:
    print(f"freepik-mock contract: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    targets = [args.target, *([args.compare] if args.compare else [])]
    if "real" in targets and not os.environ.get("FREEPIK_API_KEY", "").strip():
        return _usage_error(
            "--target real needs your Freepik API key in the FREEPIK_API_KEY environment "
            "variable (export FREEPIK_API_KEY=...); CI never calls the real API"
        )
    if args.api_key and targets == ["real"]:
        return _usage_error("--api-key is not used for the real API: set FREEPIK_API_KEY")
    if args.examples < 1 or args.allow_spend < 0:
        return _usage_error("--examples must be >= 1 and --allow-spend >= 0")
    for target in targets:
        if target.startswith("asgi:"):
            try:
                load_app(target[len("asgi:") :])
            except ValueError as exc:
                return _usage_error(str(exc))
        elif target not in ("fake", "real") and not target.startswith(("http://", "https://")):
            return _usage_error(
                f"unknown target {target!r}: use fake, real, an http(s):// URL or asgi:MODULE:NAME"
            )
    # Differential mode runs only its own check; otherwise every check but that one.
    suite = "contract_tests.test_differential" if args.compare else "contract_tests"
    pytest_args = [
        "--pyargs",
        suite,
        "-p",
        "freepik_mock_contract",
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=short",
        # No percentage column: the progress lines say how far the run is.
        "-o",
        "console_output_style=classic",
        *([] if args.compare else ["-k", "not test_differential"]),
        "--contract-target",
        args.target,
        "--contract-examples",
        str(args.examples),
        "--contract-allow-spend",
        str(args.allow_spend),
        "--contract-profile",
        args.profile,
    ]
    options = {
        "--contract-compare": args.compare,
        "--contract-record": args.record,
        "--contract-api-key": args.api_key,
        "--contract-wait": None if args.wait is None else str(args.wait),
        "--contract-spec-dir": args.spec_dir,
        "--contract-diff-json": args.diff_json
        or ("contract-differences.json" if args.compare else None),
        "--junit-xml": args.junit_xml,
    }
    for option, value in options.items():
        if value is not None:
            pytest_args += [option, value]
    for family in args.families or ():
        pytest_args += ["--contract-families", family]
    label = args.target if not args.compare else f"{args.target} vs {args.compare}"
    collector = SummaryCollector(label, args.profile)
    progress = ProgressReporter()
    code = int(pytest.main([*pytest_args, *args.pytest_args], plugins=[collector, progress]))
    code = collector.exit_code(code)
    print(collector.render(code))
    if args.compare:
        print(f"\ndisagreements as JSON: {options['--contract-diff-json']}")
    if args.report_json:
        collector.write_json(Path(args.report_json), code)
    return code


if __name__ == "__main__":
    sys.exit(main())
