"""What the benchmark needs from outside Python, installed by the benchmark itself.

- wrk, the load generator, from Debian's packages (``apt-get install wrk``, as root);
- Stoplight Prism, WireMock (the npm package bundles its standalone jar, run by
  ``java``) and the Mockoon CLI, pinned by ``package.json`` and ``package-lock.json``
  beside this file, installed with ``npm ci`` into ``benchmarks/node_modules``
  (git-ignored);
- matplotlib for the chart (the ``bench`` extra of ``pyproject.toml``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

__all__ = [
    "BENCH_DIR",
    "REPO_ROOT",
    "SetupError",
    "ensure_chart_deps",
    "ensure_java",
    "ensure_npm_tools",
    "ensure_prism",
    "ensure_wrk",
    "load_average",
    "machine_facts",
    "mockoon_command",
    "prism_command",
    "tool_versions",
    "wiremock_jar",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PRISM_ENTRY = BENCH_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"


class SetupError(RuntimeError):
    """Something the benchmark needs is missing and could not be installed."""


def _run(argv: list[str], cwd: Path | None = None, timeout: float = 600) -> None:
    print(f"$ {' '.join(argv)}", flush=True)
    try:
        completed = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SetupError(f"{argv[0]} failed: {exc}") from exc
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr).strip().splitlines()[-15:]
        raise SetupError(f"{' '.join(argv)} exited {completed.returncode}:\n" + "\n".join(tail))


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first when missing and root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SetupError(
            "wrk is not installed and this is not a root shell with apt-get: "
            "install it (Debian/Ubuntu: sudo apt-get install wrk) or use --quick, "
            "which falls back to the built-in load generator"
        )
    env_note = "DEBIAN_FRONTEND=noninteractive"
    os.environ.setdefault("DEBIAN_FRONTEND", "noninteractive")
    print(f"wrk missing: installing it from Debian's packages ({env_note})", flush=True)
    _run(["apt-get", "update", "-qq"])
    _run(["apt-get", "install", "-y", "-qq", "wrk"])
    found = shutil.which("wrk")
    if not found:
        raise SetupError("apt-get installed wrk but it is not on PATH")
    return found


# Each Node.js tool the benchmark runs: its npm package, pinned in package-lock.json.
PRISM_PACKAGE, WIREMOCK_PACKAGE, MOCKOON_PACKAGE = (
    "@stoplight/prism-cli",
    "wiremock",
    "@mockoon/cli",
)
NPM_PACKAGES = (PRISM_PACKAGE, WIREMOCK_PACKAGE, MOCKOON_PACKAGE)
MOCKOON_ENTRY = BENCH_DIR / "node_modules" / "@mockoon" / "cli" / "bin" / "run.js"


def installed_version(package: str) -> str | None:
    manifest = BENCH_DIR / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def pinned_version(package: str) -> str:
    lock = json.loads((BENCH_DIR / "package-lock.json").read_text())
    version: str = lock["packages"][f"node_modules/{package}"]["version"]
    return version


def pinned_prism_version() -> str:
    return pinned_version(PRISM_PACKAGE)


def ensure_npm_tools() -> dict[str, str]:
    """Install the pinned Node.js tools with ``npm ci`` unless they are all there already;
    each package's version."""
    pinned = {package: pinned_version(package) for package in NPM_PACKAGES}
    if any(installed_version(package) != version for package, version in pinned.items()):
        if shutil.which("npm") is None or shutil.which("node") is None:
            raise SetupError(
                "Prism, WireMock's launcher and Mockoon need Node.js and npm (node >= 18): "
                "install them first, or leave them out (--no-prism --no-wiremock --no-mockoon)"
            )
        # --ignore-scripts: no install script is needed to run these tools, and one of
        # Prism's dependencies would otherwise send install analytics.
        _run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BENCH_DIR,
        )
    for package, version in pinned.items():
        if installed_version(package) != version:
            raise SetupError(
                f"npm ci left {package} {installed_version(package)}, expected {version}"
            )
    return pinned


def ensure_prism() -> str:
    """Install the pinned tools (``npm ci``) unless already there; Prism's version."""
    return ensure_npm_tools()[PRISM_PACKAGE]


def ensure_java() -> str:
    """The path of ``java``, which runs WireMock's standalone jar."""
    found = shutil.which("java")
    if found is None:
        raise SetupError(
            "WireMock needs Java 11 or later (Debian: apt-get install default-jre-headless): "
            "install it, or leave WireMock out with --no-wiremock"
        )
    return found


def wiremock_jar() -> Path:
    """The standalone jar bundled by the npm package ``wiremock``."""
    build = BENCH_DIR / "node_modules" / WIREMOCK_PACKAGE / "build"
    jars = sorted(build.glob("wiremock-standalone-*.jar"))
    if not jars:
        raise SetupError(f"no WireMock standalone jar in {build}: run npm ci in {BENCH_DIR}")
    return jars[-1]


def mockoon_command(documents: list[Path], ports: list[int]) -> list[str]:
    """Mockoon CLI serving each OpenAPI document on its own loopback port (one process).

    It takes several documents, one environment each, so the vendored ones need no
    merging. Logs go to stdout only (``-X``; not to files under ``~/.mockoon-cli``);
    its admin API and fetching of external ``$ref`` are off, as nothing here uses them.
    It still creates ``~/.mockoon-cli``: the harness starts it with HOME in the run's
    temporary folder.
    """
    node = shutil.which("node") or "node"
    return [
        node, str(MOCKOON_ENTRY), "start",
        "--data", *map(str, documents),
        "--port", *map(str, ports),
        "--hostname", "127.0.0.1",
        "--disable-log-to-file",
        "--disable-admin-api",
        "--disable-external-refs",
    ]  # fmt: skip


def prism_command(document: Path, port: int, verbosity: str | None) -> list[str]:
    node = shutil.which("node") or "node"
    argv = [node, str(PRISM_ENTRY), "mock", "--host", "127.0.0.1", "--port", str(port)]
    if verbosity is not None:
        argv += ["-v", verbosity]
    return [*argv, str(document)]


def _bench_requirements() -> list[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    return list(extras.get("bench", []))


def ensure_bytecode() -> None:
    """Write the bytecode caches of the fake's own packages, as ``pip install`` does.

    An editable install leaves them to the first run, and where PYTHONDONTWRITEBYTECODE
    is set (as on this machine) no run ever writes them: every start would compile the
    sources again, and start-up would measure the compiler, not what a user starts.
    """
    import compileall

    import mockserver

    compileall.compile_dir(str(Path(mockserver.__file__).parent), quiet=1)


def ensure_chart_deps() -> bool:
    """Make matplotlib importable (installing the ``bench`` extra's requirements)."""
    if importlib.util.find_spec("matplotlib") is not None:
        return True
    requirements = _bench_requirements()
    if not requirements:
        return False
    try:
        _run([sys.executable, "-m", "pip", "install", "-q", *requirements])
    except SetupError as exc:
        print(f"no chart: {exc}", file=sys.stderr)
        return False
    importlib.invalidate_caches()
    return importlib.util.find_spec("matplotlib") is not None


def _version_of(argv: list[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (completed.stdout or completed.stderr).strip().splitlines()
    return text[0].strip() if text else "unknown"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def tool_versions(
    *,
    npm: dict[str, str] | None,
    wrk: bool,
    prism: bool = False,
    wiremock: bool = False,
    mockoon: bool = False,
) -> dict[str, str]:
    """Versions of everything that served or loaded in this run."""
    versions = {
        "Python": platform.python_version(),
        "freepik-mock": _dist_version("freepik-mock") + _git_revision(),
        "uvicorn": _dist_version("uvicorn"),
        "uvloop": _dist_version("uvloop"),
        "httptools": _dist_version("httptools"),
        "starlette": _dist_version("starlette"),
        "jsonschema": _dist_version("jsonschema"),
        "fastjsonschema": _dist_version("fastjsonschema"),
        "orjson": _dist_version("orjson"),
        "httpx": _dist_version("httpx"),
        "respx": _dist_version("respx"),
    }
    if npm and (prism or wiremock or mockoon):
        versions["Node.js"] = _version_of(["node", "--version"])
    if npm and prism:
        versions["Prism (@stoplight/prism-cli)"] = npm[PRISM_PACKAGE]
    if npm and wiremock:
        versions["Java"] = _version_of(["java", "-version"])
        versions["WireMock (npm wiremock, standalone jar)"] = npm[WIREMOCK_PACKAGE]
    if npm and mockoon:
        versions["Mockoon CLI (@mockoon/cli)"] = npm[MOCKOON_PACKAGE]
    versions["wrk"] = _version_of(["wrk", "--version"]).split(" [")[0] if wrk else "not used"
    return versions


def _git_revision() -> str:
    try:
        completed = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    revision = completed.stdout.strip()
    return f" (git {revision})" if completed.returncode == 0 and revision else ""


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how much else ran on the machine."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_facts() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = load_average()
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "load average at start (1/5/15 min)": load,
    }
