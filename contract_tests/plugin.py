"""The pytest plugin (entry point ``freepik_mock_contract``) behind the contract suite.

It adds command-line options and fixtures, nothing else: no autouse fixture, no hook
that touches other tests. The options are all named ``--contract-*``; the short
``--target`` the issue asks for is added only when the run names the contract suite
(``pytest --pyargs contract_tests --target ...``), so an unrelated suite that defines
its own ``--target`` is not broken by having freepik-mock installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from .operations import ContractSpec, SpecMismatch
from .outcome import EXIT_UNREACHABLE, EXIT_USAGE, LEDGER_KEY, PROFILES, PROGRESS_KEY
from .recording import Recorder
from .session import ContractOptions, ContractSession, Ledger
from .targets import MissingApiKey, Target, TargetUnreachable, open_target

__all__ = ["options_from"]

_GROUP = "freepik-mock contract"
_PACKAGE_DIR = Path(__file__).resolve().parent
_RECORDING_NOTES = {
    "real": "Recorded from the real Freepik API.",
    "fake": "Recorded from the in-process freepik-mock fake, NOT from the real Freepik API.",
    "asgi": "Recorded from an in-process ASGI app, NOT from the real Freepik API.",
    "url": "Recorded from a server at a URL given to --target; not necessarily the real API.",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(_GROUP, "freepik-mock contract tests (pytest --pyargs contract_tests)")
    group.addoption(
        "--contract-target",
        dest="contract_target",
        default="fake",
        metavar="WHERE",
        help="fake (in-process, default), a base URL, real (api.freepik.com; needs "
        "FREEPIK_API_KEY), or asgi:MODULE:NAME; alias --target when running contract_tests",
    )
    group.addoption(
        "--contract-compare",
        dest="contract_compare",
        metavar="WHERE",
        help="differential mode: send the same requests here too and report differences",
    )
    group.addoption(
        "--contract-examples",
        dest="contract_examples",
        type=int,
        default=50,
        metavar="N",
        help="Hypothesis examples per check (default 50; at most 10 against the real API)",
    )
    group.addoption(
        "--contract-record",
        dest="contract_record",
        metavar="DIR",
        help="save every request/response pair as JSON in DIR, secrets scrubbed",
    )
    group.addoption(
        "--contract-allow-spend",
        dest="contract_allow_spend",
        type=int,
        default=0,
        metavar="N",
        help="against the real API, allow at most N paid task creations (default 0)",
    )
    group.addoption(
        "--contract-api-key",
        dest="contract_api_key",
        metavar="KEY",
        help="key for a URL or fake target (default: a test key); never the real key",
    )
    group.addoption(
        "--contract-wait",
        dest="contract_wait",
        type=float,
        metavar="S",
        help="longest wait for a task to finish when time cannot be moved "
        "(default 30 s; 900 s against the real API)",
    )
    group.addoption(
        "--contract-spec-dir",
        dest="contract_spec_dir",
        metavar="DIR",
        help="check against the OpenAPI documents in DIR instead of the vendored spec",
    )
    group.addoption(
        "--contract-families",
        dest="contract_families",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the task families whose path contains TEXT (repeatable): a bounded "
        "run over a whole API",
    )
    group.addoption(
        "--contract-profile",
        dest="contract_profile",
        default="observed",
        choices=PROFILES,
        help="what the checks expect: observed (default: what the live API was recorded "
        "answering) or spec (the spec's examples); the in-process fake runs with it too",
    )
    group.addoption(
        "--contract-diff-json",
        dest="contract_diff_json",
        metavar="FILE",
        help="differential mode: write the disagreements as JSON to FILE",
    )


def _names_contract_suite(paths: Sequence[str]) -> bool:
    """Whether pytest's positional arguments name the contract suite or a part of it."""
    for arg in paths:
        head = arg.split("::", 1)[0]
        if head == "contract_tests" or head.startswith("contract_tests."):
            return True
        with contextlib.suppress(OSError, ValueError):
            path = Path(head).resolve()
            if path == _PACKAGE_DIR or _PACKAGE_DIR in path.parents:
                return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    # Runs before any conftest is read, with the command line parsed as far as known.
    paths = getattr(early_config.known_args_namespace, "file_or_dir", None) or []
    if _names_contract_suite(paths):
        parser.getgroup(_GROUP).addoption(
            "--target",
            dest="contract_target",
            default="fake",
            metavar="WHERE",
            help="alias of --contract-target",
        )


def options_from(config: pytest.Config) -> ContractOptions:
    def get(name: str) -> Any:
        return config.getoption(name)

    def path(name: str) -> Path | None:
        value = get(name)
        return Path(value) if value else None

    return ContractOptions(
        target=get("contract_target"),
        compare=get("contract_compare"),
        examples=max(1, get("contract_examples")),
        record=path("contract_record"),
        allow_spend=max(0, get("contract_allow_spend")),
        api_key=get("contract_api_key"),
        wait=get("contract_wait"),
        spec_dir=path("contract_spec_dir"),
        families=tuple(get("contract_families") or ()),
        diff_json=path("contract_diff_json"),
        profile=get("contract_profile"),
    )


def _preflight(session: ContractSession) -> None:
    """One cost-free request to each target, so an unreachable one stops the run early."""
    for target in (session.target, session.compare):
        if target is None:
            continue
        try:
            family = session.spec.families[0]
            target.send("GET", family.task_path(session.unknown_task_id()))
        except TargetUnreachable as exc:
            pytest.exit(
                f"{exc}\n(this is a network failure, not a contract failure)", EXIT_UNREACHABLE
            )


@pytest.fixture(scope="session")
def contract_session(request: pytest.FixtureRequest) -> Iterator[ContractSession]:
    """The open target(s) and the spec, for the whole contract run."""
    options = options_from(request.config)
    if options.api_key and "real" in (options.target, options.compare):
        pytest.exit(
            "--contract-api-key is not used for the real API: set FREEPIK_API_KEY", EXIT_USAGE
        )
    try:
        spec = ContractSpec.load(options.spec_dir)
        if options.families:
            spec = spec.only(options.families)
    except SpecMismatch as exc:
        pytest.exit(str(exc), EXIT_USAGE)
    ledger = Ledger()
    for family, reason in spec.left_out.items():
        ledger.notes.append(f"task family {family} left out: {reason}")
    request.config.stash[LEDGER_KEY] = ledger
    progress = request.config.stash.get(PROGRESS_KEY, None)
    if progress is not None:
        ledger.listeners.append(progress)
    with contextlib.ExitStack() as stack:

        def opened(where: str) -> Target:
            return stack.enter_context(
                open_target(
                    where,
                    auth_header=spec.auth_header,
                    create_paths=[op.path for op in spec.creates],
                    api_key=options.api_key,
                    allow_spend=options.allow_spend,
                    wait_limit=options.wait,
                    profile=options.profile,
                    spec_dir=options.spec_dir,
                )
            )

        try:
            target = opened(options.target)
            compare = opened(options.compare) if options.compare else None
        except MissingApiKey as exc:
            pytest.exit(str(exc), EXIT_USAGE)
        except ValueError as exc:
            pytest.exit(str(exc), EXIT_USAGE)
        session = ContractSession(options, spec, target, compare, ledger)
        if options.record is not None:
            for recorded in (target, compare):
                if recorded is None:
                    continue
                recorded.observers.append(
                    Recorder(
                        options.record / ("compare" if recorded is compare else "target")
                        if compare is not None
                        else options.record,
                        source=recorded.label,
                        secrets=(recorded.api_key,),
                        check_name=lambda: ledger.current_check,
                        note=_RECORDING_NOTES.get(recorded.kind, ""),
                    )
                )
        ledger.current_check = "preflight"
        _preflight(session)
        yield session


@pytest.fixture
def contract(contract_session: ContractSession, request: pytest.FixtureRequest) -> ContractSession:
    """The contract session, with the current check's name set for counting and records."""
    contract_session.ledger.current_check = request.node.name
    return contract_session
