"""GET /_mock/metrics: what a Prometheus scrape of the fake reads."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, advance, client_for, create, fake
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver import MockConfig, create_app
from mockserver.metrics import BUCKETS, UNMATCHED

pytestmark = pytest.mark.anyio

# The spec's operation ids of the reference-to-video family's create and read.
CREATE_OP = "postAiReferenceToVideoKlingV3OmniStd"
GET_OP = "getAiReferenceToVideoKlingV3OmniTask"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, **kwargs: Any) -> Samples:
    response = await client.get("/_mock/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset({"namespace": "default", **labels}.items())), 0.0)


async def test_requests_are_counted_by_operation_and_status() -> None:
    async with fake() as client:
        task = await create(client)
        await client.post(CREATE, json={"video_url": 5}, headers=AUTH)
        await client.get(f"{TASKS}/{task['task_id']}", headers=AUTH)
        await client.get(f"{TASKS}/{task['task_id']}")  # no key: 401
        await client.get("/v1/no/such/path", headers=AUTH)
        await client.get("/_mock/clock")  # control traffic is not counted
        samples = await scrape(client)
    total = "freepik_mock_requests_total"
    assert value(samples, total, operation=CREATE_OP, status="200") == 1
    assert value(samples, total, operation=CREATE_OP, status="400") == 1
    assert value(samples, total, operation=GET_OP, status="200") == 1
    assert value(samples, total, operation=GET_OP, status="401") == 1
    assert value(samples, total, operation=UNMATCHED, status="404") == 1
    counted = sum(v for (name, _), v in samples.items() if name == total)
    assert counted == 5


async def test_a_faulted_request_is_counted_under_its_operation() -> None:
    # A fault answers before the router: the operation is found from the path.
    async with fake() as client:
        await client.post("/_mock/faults", json={"status": 503, "path": "*kling-v3-omni-std"})
        await client.post(CREATE, json={"video_url": "https://example.com/a.mp4"}, headers=AUTH)
        samples = await scrape(client)
    assert value(samples, "freepik_mock_requests_total", operation=CREATE_OP, status="503") == 1


async def test_the_duration_histogram_holds_every_request() -> None:
    async with fake() as client:
        for _ in range(3):
            await create(client)
        await client.post("/_mock/faults", json={"delay_ms": 30, "times": 1})
        await create(client)
        samples = await scrape(client)
    name = "freepik_mock_request_duration_seconds"
    assert value(samples, f"{name}_count", operation=CREATE_OP) == 4
    assert value(samples, f"{name}_bucket", operation=CREATE_OP, le="+Inf") == 4
    # The delayed one is over 25 ms; the sum is at least its delay.
    assert value(samples, f"{name}_bucket", operation=CREATE_OP, le="0.025") <= 3
    assert value(samples, f"{name}_sum", operation=CREATE_OP) >= 0.03
    buckets = [value(samples, f"{name}_bucket", operation=CREATE_OP, le=repr(b)) for b in BUCKETS]
    assert buckets == sorted(buckets)  # cumulative


async def test_tasks_are_reported_by_status_at_scrape_time() -> None:
    async with fake() as client:
        first = await create(client)
        await create(client)
        await create(client)
        await advance(client, 1.5)  # all IN_PROGRESS
        await client.post(f"/_mock/tasks/{first['task_id']}/status", json={"status": "FAILED"})
        samples = await scrape(client)
        await client.post("/_mock/reset")
        after_reset = await scrape(client)
    tasks = "freepik_mock_tasks"
    assert value(samples, tasks, status="IN_PROGRESS") == 2
    assert value(samples, tasks, status="FAILED") == 1
    assert value(samples, tasks, status="CREATED") == 0
    assert (tasks, frozenset({"namespace": "default", "status": "COMPLETED"}.items())) in samples
    assert value(after_reset, tasks, status="IN_PROGRESS") == 0
    # Counters go on across a reset, as Prometheus expects of a counter.
    assert value(after_reset, "freepik_mock_requests_total", operation=CREATE_OP, status="200") == 3


def flaky_receiver(*statuses: int) -> Starlette:
    """Answers ``statuses`` in turn, then 200."""
    answers = list(statuses)

    async def hook(request: Request) -> Response:
        await request.body()
        return Response(status_code=answers.pop(0) if answers else 200)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


async def test_webhook_attempts_are_counted_by_outcome() -> None:
    transport = httpx.ASGITransport(app=flaky_receiver(500))
    async with fake(webhook_transport=transport) as client:
        await create(client, webhook_url="http://127.0.0.1/hook")
        await create(client, webhook_url="http://203.0.113.9/hook")  # not allowed: refused
        await advance(client, 20)
        samples = await scrape(client)
    deliveries = "freepik_mock_webhook_deliveries_total"
    # First task: IN_PROGRESS 500 then 200, COMPLETED 200; second: refused twice.
    assert value(samples, deliveries, outcome="retrying") == 1
    assert value(samples, deliveries, outcome="delivered") == 2
    assert value(samples, deliveries, outcome="refused") == 2
    assert value(samples, deliveries, outcome="failed") == 0


async def test_two_apps_in_one_process_count_apart() -> None:
    first, second = create_app(MockConfig(clock="manual")), create_app(MockConfig(clock="manual"))
    async with client_for(first) as one, client_for(second) as other:
        await create(one)
        await create(one)
        await create(other)
        counts = [
            value(await scrape(c), "freepik_mock_requests_total", operation=CREATE_OP, status="200")
            for c in (one, other)
        ]
    assert counts == [2, 1]


async def test_metrics_are_protected_like_the_control_api() -> None:
    app = create_app(MockConfig(clock="manual"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        assert (await remote.get("/_mock/metrics")).status_code == 403
    app = create_app(MockConfig(clock="manual", control_token="t0ken"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        assert (await remote.get("/_mock/metrics")).status_code == 401
        await scrape(remote, headers={"x-mock-control-token": "t0ken"})


def test_serving_without_a_scrape_never_imports_prometheus_client() -> None:
    # prometheus_client takes ~60 ms to import: start-up must not pay for it.
    code = (
        "import sys, httpx, asyncio\n"
        "from mockserver import create_app\n"
        "app = create_app()\n"
        "async def main():\n"
        "    t = httpx.ASGITransport(app=app)\n"
        "    async with httpx.AsyncClient(transport=t, base_url='http://127.0.0.1') as c:\n"
        "        await c.get('/_mock/health')\n"
        "        await c.post('/v1/ai/reference-to-video/kling-v3-omni-std', json={})\n"
        "        print('prometheus_client' in sys.modules)\n"
        "        await c.get('/_mock/metrics')\n"
        "        print('prometheus_client' in sys.modules)\n"
        "    await app.state.mock.shutdown()\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
