"""Schemathesis, the OpenAPI fuzzer, against a served ``freepik-mock serve``.

Each vendored document is checked against one served fake, in positive and negative
modes, with the checks not_a_server_error, status_code_conformance,
content_type_conformance and response_schema_conformance. The example count and the
seed are fixed, so a CI failure replays exactly; ``SCHEMATHESIS_EXAMPLES`` raises it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ServedFake, serve_fake

# Schemathesis runs in a subprocess against a served fake.
pytestmark = pytest.mark.slow

SPEC_DIR = Path(__file__).resolve().parent.parent / "openapi"
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "25")
SEED = "20261124"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFake]:
    with serve_fake(tmp_path_factory.mktemp("schemathesis")) as fake:
        yield fake
        assert fake.stop() == 0


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("document", ["kling-v3-omni-std.yaml", "kling-v3-omni-tasks.yaml"])
def test_schemathesis_finds_no_problem(
    served: ServedFake, tmp_path: Path, document: str, mode: str
) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(SPEC_DIR / document),
        "--url", served.url,
        "--checks", CHECKS,
        "--mode", mode,
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--header", "x-freepik-api-key: schemathesis-key",
        "--request-timeout", "30",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=tmp_path,  # its Hypothesis database and any report stay out of the checkout
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "generated" in result.stdout  # it did run test cases
    assert "Internal Server Error" not in served.output()
