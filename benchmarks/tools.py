"""What the benchmark needs from outside Python, installed by the benchmark itself.

- wrk, the load generator, from Debian's packages (``apt-get install wrk``, as root);
- Stoplight Prism, pinned by ``package.json`` and ``package-lock.json`` beside this file,
  installed with ``npm ci`` into ``benchmarks/node_modules`` (git-ignored);
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
    "ensure_prism",
    "ensure_wrk",
    "machine_facts",
    "prism_command",
    "tool_versions",
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


def _installed_prism_version() -> str | None:
    manifest = PRISM_ENTRY.parent.parent / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def pinned_prism_version() -> str:
    lock = json.loads((BENCH_DIR / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/@stoplight/prism-cli"]["version"]
    return version


def ensure_prism() -> str:
    """Install the pinned Prism with ``npm ci`` unless it is already there; its version."""
    pinned = pinned_prism_version()
    if _installed_prism_version() != pinned:
        if shutil.which("npm") is None or shutil.which("node") is None:
            raise SetupError("Prism needs Node.js and npm (node >= 18): install them first")
        # --ignore-scripts: no install script is needed to run Prism, and one of its
        # dependencies would otherwise send install analytics.
        _run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BENCH_DIR,
        )
    installed = _installed_prism_version()
    if installed != pinned:
        raise SetupError(f"npm ci left Prism {installed}, expected {pinned}")
    return pinned


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


def tool_versions(*, prism: str | None, wrk: bool) -> dict[str, str]:
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
    if prism is not None:
        versions["Node.js"] = _version_of(["node", "--version"])
        versions["Prism (@stoplight/prism-cli)"] = prism
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
    try:
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "load average at start (1/5/15 min)": load,
    }
