"""The ``freepik_mock_contract`` pytest plugin: options for the suite, nothing for anyone else."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from contract_runs import environment

from contract_tests.plugin import _names_contract_suite


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_an_unrelated_suite_with_its_own_target_option_still_runs(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            def pytest_addoption(parser):
                parser.addoption("--target", default="staging")
            """
        )
    )
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            def test_uses_its_own_target(request):
                assert request.config.getoption("--target") == "production"
                # No contract fixture is used unless asked for.
                assert not any(name.startswith("contract") for name in request.fixturenames)
            """
        )
    )
    completed = _pytest(tmp_path, "--target", "production")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "1 passed" in completed.stdout


@pytest.mark.slow
def test_the_contract_options_are_listed_in_pytest_help(tmp_path: Path) -> None:
    completed = _pytest(tmp_path, "--help")
    assert "--contract-target=WHERE" in completed.stdout
    assert "--contract-allow-spend=N" in completed.stdout
    assert "--contract-profile={observed,spec}" in completed.stdout


def test_target_alias_is_added_only_when_the_contract_suite_is_named() -> None:
    package = Path(__file__).resolve().parent.parent / "contract_tests"
    # pytest's positional arguments, as its early parse leaves them.
    assert _names_contract_suite(["contract_tests", "fake"])
    assert _names_contract_suite(["contract_tests.test_auth"])
    assert _names_contract_suite([str(package / "test_auth.py") + "::test_x"])
    assert not _names_contract_suite(["tests", "tests/test_contract_plugin.py"])
    assert not _names_contract_suite([])
