"""What the harnesses are built from, and that only building one loads it."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.harness import WebhookTransport
from mockserver.hosts import WebhookHostPolicy

pytestmark = pytest.mark.anyio

HARNESS_ONLY = ("respx", "uvicorn", "httpx", "anyio.from_thread", "mockserver.harness")

# A fresh interpreter: this test process imported everything long ago.
PROGRAM = f"""
import sys
import mockserver, mockserver.cli
print(sorted(name for name in {HARNESS_ONLY!r} if name in sys.modules))
with mockserver.FreepikMock():
    print(sorted(name for name in {HARNESS_ONLY!r} if name in sys.modules))
"""


def test_only_building_a_harness_imports_what_harnesses_need() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    before, after = completed.stdout.splitlines()
    assert before == "[]"  # `freepik-mock serve` pays for none of them
    assert after == str(sorted(HARNESS_ONLY))


def receiver() -> Starlette:
    async def hook(request: Request) -> Response:
        return Response(f"got {request.url.hostname}", status_code=202)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_webhooks_go_into_the_app_whatever_host_they_name() -> None:
    transport = WebhookTransport(receiver(), WebhookHostPolicy())
    async with httpx.AsyncClient(transport=transport) as client:
        answer = await client.post("https://hooks.example.com/hook", content=b"{}")
    assert (answer.status_code, answer.text) == (202, "got hooks.example.com")


async def test_without_an_app_the_host_policy_decides() -> None:
    transport = WebhookTransport(None, WebhookHostPolicy())
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError, match="is not loopback and not allowed"):
            await client.post("https://hooks.example.com/hook", content=b"{}")
