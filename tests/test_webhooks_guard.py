"""The webhook target guard: loopback and --webhook-allow hosts only, no redirects."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from conftest import CREATE_PATH, LIST_PATH, VALID_BODY

from mockserver import MockConfig, create_app

KEY = {"x-freepik-api-key": "guard-key"}


class Recorder:
    """An in-process webhook receiver (no network): records every request it is sent."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.urls: list[str] = []
        self.status = status
        self.location = location

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        headers = {"location": self.location} if self.location else {}
        return httpx.Response(self.status, headers=headers)


async def _run(config: MockConfig, webhook_url: str) -> tuple[dict[str, Any], list[Any]]:
    """Create a task with ``webhook_url``, let it finish; its final view and webhook log."""
    app = create_app(config.replace(clock="manual"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        body = {**VALID_BODY, "webhook_url": webhook_url}
        created = await client.post(CREATE_PATH, json=body, headers=KEY)
        assert created.status_code == 200
        task_id = created.json()["data"]["task_id"]
        await client.post("/_mock/clock/advance", json={"seconds": 3600})
        await client.post("/_mock/webhooks/drain")
        task = (await client.get(f"{LIST_PATH}/{task_id}", headers=KEY)).json()["data"]
        log = (await client.get("/_mock/webhooks")).json()["data"]
    await app.state.mock.shutdown()
    return task, log


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/freepik",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/hook",
        "http://sub.localhost/hook",  # a name that may resolve to loopback: not trusted
        "http://localhost.localdomain/hook",
    ],
)
def test_non_allowed_target_is_refused_and_logged_and_task_unaffected(url: str) -> None:
    recorder = Recorder()
    config = MockConfig(webhook_transport=httpx.MockTransport(recorder))
    task, log = asyncio.run(_run(config, url))
    assert task["status"] == "COMPLETED"  # the task does not care
    assert recorder.urls == []  # nothing was sent
    assert [entry["event"] for entry in log] == ["IN_PROGRESS", "COMPLETED"]
    for entry in log:
        assert entry["outcome"] == "refused"
        assert entry["url"] == url
        assert "is not loopback and not allowed (--webhook-allow)" in entry["error"]


def test_webhook_allow_lets_a_named_host_through() -> None:
    recorder = Recorder()
    config = MockConfig(
        webhook_transport=httpx.MockTransport(recorder), webhook_allow=("Hooks.Example.com",)
    )
    _task, log = asyncio.run(_run(config, "https://hooks.example.com/freepik"))
    assert recorder.urls == ["https://hooks.example.com/freepik"] * 2
    assert [entry["outcome"] for entry in log] == ["delivered", "delivered"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost:9/hook"])
def test_loopback_is_allowed_by_default(url: str) -> None:
    recorder = Recorder()
    _task, _log = asyncio.run(
        _run(MockConfig(webhook_transport=httpx.MockTransport(recorder)), url)
    )
    assert recorder.urls == [url, url]


def test_redirect_is_not_followed() -> None:
    recorder = Recorder(status=307, location="http://127.0.0.1:9/elsewhere")
    config = MockConfig(webhook_transport=httpx.MockTransport(recorder), webhook_retry_delays=())
    task, log = asyncio.run(_run(config, "http://127.0.0.1:9/hook"))
    assert "http://127.0.0.1:9/elsewhere" not in recorder.urls
    assert recorder.urls == ["http://127.0.0.1:9/hook"] * 2
    assert [(e["status_code"], e["error"], e["outcome"]) for e in log] == [
        (307, "HTTP 307", "failed")
    ] * 2
    assert task["status"] == "COMPLETED"


def test_redirect_is_not_followed_by_a_real_receiver(receiver: Any) -> None:
    receiver.status = 302
    receiver.redirect_to = receiver.url + "/followed"
    _task, log = asyncio.run(_run(MockConfig(webhook_retry_delays=()), receiver.url))
    assert receiver.paths == ["/hook", "/hook"]  # one per webhook, none to the Location
    assert [e["error"] for e in log] == ["HTTP 302", "HTTP 302"]
