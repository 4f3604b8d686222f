"""Create latency with each media check mode: probing must not slow the create reply.

Prints figures only (no assertion): the median and 95th percentile of the time a create
takes against the in-process fake with ``--media-check off``, ``url`` and ``probe``
(the probe fetches the fake's own 5-second fixture in a thread), and, for probe, how
long the probes then took to finish in the background.

    python benchmarks/media_create_latency.py [--creates N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from mockserver import MockConfig, create_app

CREATE = "/v1/ai/reference-to-video/kling-v3-omni-std"
BASE = "http://127.0.0.1:8080"
VIDEO = f"{BASE}/_mock/fixtures/ref_valid.mp4"


async def measure(mode: str, creates: int) -> tuple[list[float], float]:
    app = create_app(MockConfig(clock="manual", media_check=mode))  # type: ignore[arg-type]
    runtime = app.state.mock
    transport = httpx.ASGITransport(app=app)
    times: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        for _ in range(creates):
            started = time.perf_counter()
            response = await client.post(
                CREATE, json={"video_url": VIDEO}, headers={"x-freepik-api-key": "k"}
            )
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        started = time.perf_counter()
        await runtime.media_checked()
        settle = time.perf_counter() - started
    await runtime.shutdown()
    return times, settle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=200)
    args = parser.parse_args()
    print(f"{'mode':<6} {'median ms':>10} {'p95 ms':>8}  background probes")
    for mode in ("off", "url", "probe"):
        times, settle = asyncio.run(measure(mode, args.creates))
        p95 = statistics.quantiles(times, n=20)[-1]
        tail = f"{settle:.2f} s after the last create" if mode == "probe" else "-"
        print(f"{mode:<6} {statistics.median(times) * 1000:>10.3f} {p95 * 1000:>8.3f}  {tail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
