"""``python -m contract_tests`` / ``freepik-mock contract`` end to end, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from broken_variants import EXPECTED_REPORTS
from contract_runs import CI_EXAMPLES, environment, run_contract, served_fake
from helpers import closed_port

# Each test runs the contract suite in a subprocess, most against a served fake.
pytestmark = pytest.mark.slow

ALL_CHECKS = {
    "test_valid_requests_are_accepted",
    "test_invalid_requests_are_refused",
    "test_every_broken_field_is_named",
    "test_malformed_json_is_refused",
    "test_task_lifecycle",
    "test_unknown_task_is_a_documented_answer",
    "test_valid_list_queries_are_answered",
    "test_invalid_list_queries_are_refused",
    "test_tasks_are_read_only_through_their_own_family",
    *(f"test_{case}_key_is_refused[{op}]" for case in ("missing", "wrong")
      for op in ("create", "get", "list")),
}  # fmt: skip


@pytest.mark.parametrize("profile", ["observed", "spec"])
def test_the_in_process_fake_passes_every_check(tmp_path: Path, profile: str) -> None:
    # The in-process fake follows --profile: under spec it must answer the spec's
    # examples (Invalid API key, ...), which the observed fake would fail.
    junit = tmp_path / "junit.xml"
    run = run_contract(
        tmp_path, "--examples", CI_EXAMPLES, "--junit-xml", str(junit), "--profile", profile
    )
    assert run.code == 0, run.output
    assert run.report is not None
    outcomes = {c["check"]: c["outcome"] for c in run.report["checks"]}
    assert outcomes == dict.fromkeys(ALL_CHECKS, "passed")
    # Each generated check ran at least --examples requests.
    assert run.check("test_invalid_requests_are_refused")["examples"] >= int(CI_EXAMPLES)
    assert f"== contract summary: fake (profile {profile}) ==" in run.output
    assert f"{len(ALL_CHECKS)} passed" in run.output
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(ALL_CHECKS))
    assert suite.get("failures") == "0"


def test_every_create_of_every_family_is_exercised(tmp_path: Path) -> None:
    # Every create operation of the vendored spec gets valid and invalid bodies and a
    # lifecycle run; every family's GET paths are read.
    from contract_tests.operations import ContractSpec

    record = tmp_path / "recorded"
    run = run_contract(tmp_path, "--examples", "4", "--record", str(record))
    assert run.code == 0, run.output
    seen: dict[str, set[tuple[str, str, int]]] = {}
    for path in record.glob("*.json"):
        data = json.loads(path.read_text())
        request, status = data["request"], data["response"]["status"]
        seen.setdefault(data["check"], set()).add((request["method"], request["path"], status))
    spec = ContractSpec.load()
    assert len(spec.creates) == 4 and len(spec.families) == 2
    for operation in spec.creates:
        for check, status in [
            ("test_valid_requests_are_accepted", 200),
            ("test_invalid_requests_are_refused", 400),
            ("test_every_broken_field_is_named", 400),
            ("test_task_lifecycle", 200),
        ]:
            assert ("POST", operation.path, status) in seen[check], (check, operation.path)
    for family in spec.families:
        lifecycle_reads = {p for m, p, s in seen["test_task_lifecycle"] if m == "GET" and s == 200}
        assert family.list.path in lifecycle_reads
        prefix = family.task_path("")
        assert any(p.startswith(prefix) and p != prefix for p in lifecycle_reads)


def test_each_check_prints_a_progress_line_with_requests_and_time_left(tmp_path: Path) -> None:
    run = run_contract(tmp_path, "--examples", "3")
    assert run.code == 0, run.output
    lines = [line for line in run.output.splitlines() if line.startswith("[")]
    total = len(ALL_CHECKS)
    assert len(lines) == total, run.output
    width = len(str(total))
    first, last = lines[0], lines[-1]
    assert first.startswith(f"[{1:>{width}}/{total}] PASS  test_missing_key_is_refused[create]: ")
    assert "sent so far" in first and " left" in first
    assert last.startswith(f"[{total}/{total}] PASS  ") and last.endswith("done")
    # The counts add up: the last line's total is the summary's.
    assert run.report is not None
    requests = sum(c["examples"] for c in run.report["checks"])
    assert f"; {requests} sent so far" in last
    # Not a terminal: no live line rewritten with carriage returns, no pytest dots.
    assert "\r" not in run.output
    assert not any(set(line) <= {".", " "} and line for line in run.output.splitlines())


def test_freepik_mock_contract_delegates_to_the_suite(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mockserver",
            "contract",
            "--examples",
            "2",
            "--",
            "-k",
            "malformed",
        ],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "PASS  test_malformed_json_is_refused" in completed.stdout


def test_a_served_fake_passes_with_a_manual_clock(tmp_path: Path) -> None:
    with served_fake("--clock", "manual", "--api-key", "contract-test-key") as url:
        run = run_contract(tmp_path, "--target", url, "--examples", CI_EXAMPLES)
    assert run.code == 0, run.output
    assert run.report is not None
    assert {c["outcome"] for c in run.report["checks"]} == {"passed"}
    assert run.report["target"] == url


@pytest.mark.parametrize("profile", ["observed", "spec"])
def test_a_served_fake_passes_under_the_profile_it_serves(tmp_path: Path, profile: str) -> None:
    with served_fake(
        "--clock", "manual", "--api-key", "contract-test-key", "--profile", profile
    ) as url:  # fmt: skip
        run = run_contract(tmp_path, "--target", url, "--examples", "4", "--profile", profile)
    assert run.code == 0, run.output


def test_a_served_fake_fails_under_the_other_profile(tmp_path: Path) -> None:
    # The profiles differ where the live API and the spec's examples differ.
    with served_fake("--clock", "manual", "--api-key", "contract-test-key") as url:
        run = run_contract(tmp_path, "--target", url, "--examples", "4", "--profile", "spec")
    assert run.code == 1, run.output
    assert {
        "test_wrong_key_is_refused[create]",
        "test_invalid_requests_are_refused",
        "test_invalid_list_queries_are_refused",
    } <= run.failed_checks()


def test_an_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    run = run_contract(tmp_path, "--profile", "guessed")
    assert run.code == 2
    assert "invalid choice: 'guessed'" in run.output


def test_a_served_fake_passes_on_the_wall_clock_by_polling(tmp_path: Path) -> None:
    # Any key accepted, time not movable: the wrong-key checks skip with a note, and the
    # lifecycle waits for tasks (made quick by --time-scale) instead of moving time.
    with served_fake("--time-scale", "0.02") as url:
        run = run_contract(
            tmp_path, "--target", url, "--examples", "4", "--", "-k", "lifecycle or key"
        )
    assert run.code == 0, run.output
    assert run.check("test_task_lifecycle")["outcome"] == "passed"
    assert run.check("test_wrong_key_is_refused[get]")["outcome"] == "skipped"
    assert run.report is not None
    assert any("accepts any API key" in note for note in run.report["notes"])


@pytest.mark.parametrize("variant", sorted(EXPECTED_REPORTS))
def test_each_broken_variant_is_reported(tmp_path: Path, variant: str) -> None:
    check, phrase, profile = EXPECTED_REPORTS[variant]
    run = run_contract(
        tmp_path,
        "--target", f"asgi:broken_variants:{variant}",
        "--examples", "5",
        "--profile", profile,
    )  # fmt: skip
    assert run.code == 1, run.output
    failure = run.check(check)["failure"]
    assert failure is not None, run.output
    assert phrase in " ".join(failure["problems"]), failure
    # The summary shows the failing check with its minimal request.
    assert f"FAIL  {check}" in run.output
    assert "request:  " in run.output


def test_real_target_without_a_key_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    run = run_contract(tmp_path, "--target", "real")
    assert run.code == 2
    assert "FREEPIK_API_KEY" in run.output
    assert run.report is None  # nothing was run


def test_an_unreachable_url_is_a_network_failure_not_a_contract_failure(tmp_path: Path) -> None:
    run = run_contract(tmp_path, "--target", f"http://127.0.0.1:{closed_port()}")
    assert run.code == 6, run.output
    assert "network failure" in run.output
    assert "not a contract failure" in run.output


def test_the_real_target_reports_a_network_failure_as_such(tmp_path: Path) -> None:
    # The real API's address is replaced by a closed loopback port: no traffic leaves.
    env = environment(
        FREEPIK_API_KEY="not-a-real-key",
        FREEPIK_CONTRACT_REAL_URL=f"http://127.0.0.1:{closed_port()}",
    )
    run = run_contract(tmp_path, "--target", "real", env=env)
    assert run.code == 6, run.output
    assert "network failure" in run.output
    assert "not-a-real-key" not in run.output


def test_pytest_pyargs_with_target_runs_the_suite(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pyargs",
         "contract_tests", "--target", "fake", "--contract-examples", "3", "-k", "auth or tasks"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "10 passed" in completed.stdout


def test_the_kits_own_factory_is_a_target_as_the_readme_names_it(tmp_path: Path) -> None:
    # create_app's parameters all have defaults: it is a factory, not an ASGI app.
    run = run_contract(tmp_path, "--target", "asgi:mockserver:create_app", "--examples", "5")
    assert run.code == 0, run.output
    assert "TypeError" not in run.output


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("asgi:no_such_module_here:app", "cannot import no_such_module_here"),
        ("asgi:mockserver:no_such_name", "mockserver has no attribute 'no_such_name'"),
        ("asgi:mockserver", "an asgi target is asgi:MODULE:NAME"),
        ("asgi:mockserver:__version__", "is neither an ASGI app nor a factory"),
        ("ftp://example.com", "unknown target 'ftp://example.com'"),
    ],
)
def test_a_target_that_cannot_be_opened_is_a_usage_error(
    tmp_path: Path, target: str, says: str
) -> None:
    run = run_contract(tmp_path, "--target", target)
    assert run.code == 2, run.output
    assert says in run.output
    assert "Traceback" not in run.output
