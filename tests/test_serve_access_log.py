"""``freepik-mock serve`` writes no line per request unless ``--access-log`` asks for one."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

# Each test serves the fake in a subprocess.
pytestmark = pytest.mark.slow

ACCESS_LINE = re.compile(r'"GET /v1/\S+ HTTP/1\.1" 200')


def serve_and_get(*options: str, requests: int = 3) -> str:
    """Serve on a free loopback port, send ``requests`` GETs, stop, return the output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        base = f"http://127.0.0.1:{match.group(1)}"
        url = f"{base}/v1/ai/reference-to-video/kling-v3-omni"
        with httpx.Client(timeout=10, trust_env=False) as client:
            # The URL is printed just before uvicorn starts listening: wait for it.
            deadline = time.monotonic() + 15
            while True:
                try:
                    client.get(f"{base}/_mock/health")
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            for _ in range(requests):
                answer = client.get(url, headers={"x-freepik-api-key": "k"})
                assert answer.status_code == 200
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return first + rest


@pytest.mark.parametrize(("options", "lines"), [((), 0), (("--access-log",), 3)])
def test_access_log_only_when_asked(options: tuple[str, ...], lines: int) -> None:
    output = serve_and_get(*options, requests=3)
    assert len(ACCESS_LINE.findall(output)) == lines, output
