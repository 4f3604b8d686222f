"""Start-up and memory of the fake serving the whole upstream API, beside the vendored spec.

Each start-up is a fresh Python process: from its first line to the app built from the
spec (``create_app``) and to the first valid create answered (in process, through
httpx's ASGI transport), then the time of a task read by id driven straight into the
app (where routing through all of a spec's routes would show) and the process's peak
resident memory; one more process per
spec measures what importing the kit and building the app allocate (tracemalloc, which
slows a process too much to time it). The spec folders take turns so that machine noise
hits both alike. The whole API is served from its JSON copy (``fixtures/upstream``,
parsed by orjson); one start-up from the YAML it was made from (``fixtures/upstream/
source``, parsed by libyaml) is printed apart. Prints the median of each; about ten
seconds.

    python -m benchmarks.whole_api [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
WHOLE = ROOT / "fixtures" / "upstream"  # the JSON copy; source/ holds the YAML

# Run in the child: times from its first line, peak memory at the end.
_CHILD = """
import time
started = time.perf_counter()
import asyncio, json, resource, sys, tracemalloc
traced = sys.argv[2] == "memory"
if traced:
    tracemalloc.start()
import httpx
from mockserver import MockConfig, create_app
spec_dir = sys.argv[1] or None
app = create_app(MockConfig(spec_dir=spec_dir))
built = time.perf_counter()
allocated = tracemalloc.get_traced_memory()[0] if traced else 0
tracemalloc.stop()

KEYS = {"x-freepik-api-key": "k", "x-magnific-api-key": "k"}

async def first_create():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post(
            "/v1/ai/video/kling-v3-omni-std", json={"prompt": "a cat"}, headers=KEYS
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["task_id"]

task_id = asyncio.run(first_create())
answered = time.perf_counter()

async def read_by_id(calls):
    # Straight into the ASGI app: routing through every route of the spec shows here.
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": f"/v1/ai/video/kling-v3-omni/{task_id}", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        "headers": [(b"host", b"127.0.0.1")]
        + [(k.encode(), v.encode()) for k, v in KEYS.items()],
    }
    statuses = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(100):
        await app(dict(scope), receive, send)
    began = time.perf_counter()
    for _ in range(calls):
        await app(dict(scope), receive, send)
    assert set(statuses) == {200}, set(statuses)
    return (time.perf_counter() - began) / calls

read_s = 0.0 if traced else asyncio.run(read_by_id(2000))
print(json.dumps({
    "operations": len(app.state.mock.spec.operations),
    "build_s": built - started,
    "first_create_s": answered - started,
    "read_by_id_s": read_s,
    "app_bytes": allocated,
    "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def _once(spec_dir: Path | None, mode: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(spec_dir or ""), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, float] = json.loads(done.stdout)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whole_api", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="start-ups of each (7)")
    args = parser.parse_args(argv)
    folders = {"vendored (Kling 3 Omni)": None, "whole upstream API": WHOLE}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in folders}
    # The YAML the JSON copy was made from: libyaml's parse, once.
    from_yaml = _once(WHOLE / "source", "time")
    for _ in range(args.repeats):
        for name, folder in folders.items():
            runs[name].append(_once(folder, "time"))
    # tracemalloc slows a process several times over: its own run, not a timed one.
    allocations = {name: _once(folder, "memory")["app_bytes"] for name, folder in folders.items()}
    for name, found in runs.items():

        def median(key: str, found: list[dict[str, float]] = found) -> float:
            return statistics.median(run[key] for run in found)

        print(
            f"{name}: {found[0]['operations']:.0f} operations; "
            f"app built {median('build_s') * 1000:.0f} ms, "
            f"first create answered {median('first_create_s') * 1000:.0f} ms "
            f"after process start (median of {len(found)}); "
            f"GET by id in-process {median('read_by_id_s') * 1e6:.0f} µs; "
            f"app allocations {allocations[name] / 2**20:.1f} MiB, "
            f"peak RSS {median('max_rss_kib') / 1024:.1f} MiB"
        )
    print(
        f"whole upstream API from its YAML (libyaml): app built "
        f"{from_yaml['build_s'] * 1000:.0f} ms, first create answered "
        f"{from_yaml['first_create_s'] * 1000:.0f} ms, "
        f"peak RSS {from_yaml['max_rss_kib'] / 1024:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
