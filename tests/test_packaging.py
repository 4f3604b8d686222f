"""The package as published: ``python -m build`` gives an sdist and a wheel without
warnings, twine accepts both, and the wheel installed into a fresh virtualenv serves.

The build runs without network (``--no-isolation``, with the ``test`` extra's setuptools
and build) on a copy of the checkout's files, as ``python -m build`` does by default: the
sdist first, then the wheel from the unpacked sdist, so a wheel that serves also shows
that the sdist holds what a build needs.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import site
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]
CREATE = "/v1/ai/reference-to-video/kling-v3-omni-std"
SERVING = re.compile(r"http://127\.0\.0\.1:\d+")


@dataclass
class Dist:
    sdist: Path
    wheel: Path
    log: str

    def sdist_names(self) -> set[str]:
        """Member paths, without the ``freepik_mock-VERSION/`` folder they sit in."""
        with tarfile.open(self.sdist) as archive:
            return {name.partition("/")[2] for name in archive.getnames()} - {""}

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return set(archive.namelist())


# What a checkout may hold besides its sources: caches, virtualenvs, earlier builds.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".*_cache", ".hypothesis", "__pycache__", "*.egg-info", "build", "dist",
    "venv", ".venv", "node_modules",
)  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    # Built from a copy: setuptools writes its work folders into the source tree, which
    # would race with another xdist worker's build and litter the checkout.
    source = tmp_path_factory.mktemp("source") / "checkout"
    shutil.copytree(CHECKOUT, source, ignore=NOT_SOURCES)
    out = tmp_path_factory.mktemp("dist")
    # Without PYTHONDONTWRITEBYTECODE setuptools byte-compiles instead of warning that it
    # may not: every warning left in the log is then about our configuration.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return Dist(sdist, wheel, log)


def test_build_gives_no_warnings(dist: Dist) -> None:
    warnings = [line for line in dist.log.splitlines() if re.search(r"warn|deprecat", line, re.I)]
    assert warnings == []


def test_twine_accepts_the_built_files(dist: Dist) -> None:
    # --strict also fails on twine's warnings, such as a missing long-description type.
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _checkout_files(folder: str, pattern: str) -> set[str]:
    paths = (CHECKOUT / folder).glob(pattern)
    return {str(path.relative_to(CHECKOUT)) for path in paths if path.is_file()}


def test_the_wheel_holds_what_the_fake_runs_on_and_nothing_of_the_tests(dist: Dist) -> None:
    names = dist.wheel_names()
    spec = {f"mockserver/{name}" for name in _checkout_files("openapi", "*.yaml")}
    media = {f"mockserver/{name}" for name in _checkout_files("fixtures", "media/*")}
    contract = _checkout_files("contract_tests", "*.py")
    code = _checkout_files("mockserver", "**/*.py")
    # The control API's document and the dashboard's page, script and style sheet.
    served = _checkout_files("mockserver", "ui/*") | {"mockserver/control_openapi.json"}
    assert spec and media and contract and code and len(served) == 4
    assert spec | media | contract | code | served | {"mockserver/py.typed"} <= names
    tops = {name.split("/")[0] for name in names}
    assert tops == {"mockserver", "contract_tests", "freepik_mock-0.1.0.dist-info"}
    assert not [name for name in names if "/drift/" in name and not name.endswith(".py")]
    assert not [name for name in names if "recordings" in name]


def test_the_sdist_holds_the_sources_and_data_but_not_the_test_suite(dist: Dist) -> None:
    names = dist.sdist_names()
    sources = (
        _checkout_files("mockserver", "**/*.py")
        | _checkout_files("contract_tests", "*.py")
        | _checkout_files("openapi", "*")
        | _checkout_files("fixtures", "media/*")
        | _checkout_files("mockserver", "ui/*")
        | {"mockserver/control_openapi.json"}
        | {"pyproject.toml", "README.md", "MANIFEST.in"}
    )
    assert sources <= names
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "examples/"))]
    assert not [
        name for name in names if name.startswith(("fixtures/drift", "fixtures/recordings"))
    ]


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel; a ``.pth`` file lends it the running
    environment's site-packages for the dependencies (``--no-deps --no-index``: offline)."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", "--no-cache-dir", "--disable-pip-version-check",
         str(dist.wheel)],
        check=True, timeout=300,
    )  # fmt: skip
    # Written after the install, so that pip did not see the checkout's editable install.
    purelib = _ask(python, "import sysconfig; print(sysconfig.get_path('purelib'))", folder)
    lent = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        lent.append(site.getusersitepackages())
    (Path(purelib) / "running-environment.pth").write_text("\n".join(lent) + "\n")
    return folder


def _clean_env() -> dict[str, str]:
    """The environment without anything that would put the checkout on the path, or
    configure the fake or pytest (PYTEST_ADDOPTS, pytest-xdist's worker variables)."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("FREEPIK_MOCK_", "PYTEST_"))
    }


def _ask(python: Path, code: str, cwd: Path) -> str:
    result = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_venv_imports_the_installed_copy_not_the_checkout(venv: Path) -> None:
    code = (
        "import contract_tests, mockserver\n"
        "from mockserver.runtime import fixtures_media_dir\n"
        "from mockserver.spec import vendored_spec_dir\n"
        "print(mockserver.__file__, contract_tests.__file__, vendored_spec_dir(), "
        "fixtures_media_dir(), sep='\\n')"
    )
    locations = [Path(line) for line in _ask(venv / "bin" / "python", code, venv).splitlines()]
    assert len(locations) == 4
    for location in locations:
        assert location.is_relative_to(venv), location
        assert not location.is_relative_to(CHECKOUT), location
    spec_dir, media_dir = locations[2:]
    assert sorted(p.name for p in spec_dir.glob("*.yaml")) == sorted(
        p.name for p in (CHECKOUT / "openapi").glob("*.yaml")
    )
    assert sorted(p.name for p in media_dir.iterdir()) == sorted(
        p.name for p in (CHECKOUT / "fixtures" / "media").iterdir()
    )


@pytest.fixture
def served(venv: Path) -> Iterator[str]:
    """``freepik-mock serve --port 0`` from the venv's own script; stopped by its pid."""
    process = subprocess.Popen(
        [str(venv / "bin" / "freepik-mock"), "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=venv,
        env=_clean_env(),
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        printed: list[str] = []
        while not (found := SERVING.search("".join(printed))):
            line = lines.get(timeout=60)
            assert line is not None, "freepik-mock serve exited:\n" + "".join(printed)
            printed.append(line)
        yield found.group()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_installed_script_serves_a_create(served: str) -> None:
    with httpx.Client(base_url=served, trust_env=False, timeout=10) as client:
        response = client.post(
            CREATE,
            json={"video_url": f"{served}/_mock/fixtures/ref_valid.mp4"},
            headers={"x-freepik-api-key": "test-key"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == "CREATED"
        media = client.get("/_mock/fixtures/ref_valid.mp4")
        assert media.status_code == 200
        assert media.content == (CHECKOUT / "fixtures" / "media" / "ref_valid.mp4").read_bytes()


def _collect_contract_checks(command: list[str], cwd: Path) -> tuple[dict[str, str], str]:
    """``freepik-mock contract -- --collect-only -q``: the count of checks per module."""
    result = subprocess.run(
        [*command, "--", "--collect-only", "-q"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_clean_env(),
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return dict(re.findall(r"^(?:.*/)?(test_\w+\.py): (\d+)$", output, re.M)), output


def test_the_installed_contract_command_collects_the_checkouts_checks_quietly(
    venv: Path, tmp_path: Path
) -> None:
    installed, output = _collect_contract_checks(
        [str(venv / "bin" / "freepik-mock"), "contract"], venv
    )
    assert "site-packages/contract_tests/" in output
    checkout, _ = _collect_contract_checks([sys.executable, "-m", "contract_tests"], tmp_path)
    assert installed and installed == checkout
    # Warnings about our packages (other plugins of the environment may warn of their own).
    ours = [
        line
        for line in output.splitlines()
        if "warning" in line.lower() and ("contract_tests" in line or "mockserver" in line)
    ]
    assert ours == [], output
