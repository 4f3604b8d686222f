"""FreepikMock and FreepikMockServer: the fake as the code under test meets it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from importlib.resources import files
from typing import Any

import httpx
import pytest
import requests
import respx
from helpers import is_result_url, loopback_http_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mockserver import FreepikMock, FreepikMockServer, MockConfig, verify

API = "https://api.freepik.com/v1/ai/reference-to-video"
CREATE = f"{API}/kling-v3-omni-std"
KEY = {"x-freepik-api-key": "test-key"}
BODY = {"video_url": "https://example.com/reference.mp4", "prompt": "@Video1 as a sketch"}
MEDIA = files("mockserver.fixtures") / "media" / "result_16x9.mp4"
needs_media = pytest.mark.skipif(
    not MEDIA.is_file(), reason=f"sample media missing: {MEDIA} (another branch adds it)"
)


def task_url(task_id: str, base: str = API) -> str:
    return f"{base}/kling-v3-omni/{task_id}"


@pytest.fixture
def fake() -> Iterator[FreepikMock]:
    with FreepikMock() as mock:
        yield mock


class Receiver:
    """A Starlette webhook receiver that records what it gets and answers ``statuses``
    in turn (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses = list(statuses)

        async def receive(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 200
            return JSONResponse({}, status_code=status)

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])


def test_a_sync_client_creates_polls_and_completes_a_task(fake: FreepikMock) -> None:
    with httpx.Client() as client:
        created = client.post(CREATE, json=BODY, headers=KEY)
        task_id = created.json()["data"]["task_id"]
        statuses = [client.get(task_url(task_id), headers=KEY).json()["data"]["status"]]
        for _ in range(2):
            fake.advance(1.5)
            statuses.append(client.get(task_url(task_id), headers=KEY).json()["data"]["status"])
        done = client.get(task_url(task_id), headers=KEY).json()["data"]

    assert created.status_code == 200
    assert created.json()["data"]["status"] == "CREATED"
    assert statuses == ["CREATED", "IN_PROGRESS", "COMPLETED"]
    [url] = done["generated"]
    assert is_result_url(url, "https://api.freepik.com", task_id)


def test_the_clock_stands_still_until_advanced(fake: FreepikMock) -> None:
    task_id = httpx.post(CREATE, json=BODY, headers=KEY).json()["data"]["task_id"]
    before = fake.now

    assert httpx.get(task_url(task_id), headers=KEY).json()["data"]["status"] == "CREATED"
    assert fake.now == before
    assert fake.advance(10) == before + 10


def test_the_api_answers_in_its_own_shape(fake: FreepikMock) -> None:
    missing_key = httpx.post(CREATE, json=BODY)
    invalid = httpx.post(CREATE, json={"prompt": "no video"}, headers=KEY)

    assert missing_key.status_code == 401
    assert missing_key.json() == {"message": "Missing API key"}
    assert invalid.status_code == 400
    assert invalid.json()["invalid_params"][0]["field"] == "body.video_url"


@pytest.mark.anyio
async def test_async_and_sync_clients_share_one_fake_in_one_test(fake: FreepikMock) -> None:
    async with httpx.AsyncClient() as client:
        created = await asyncio.gather(
            *(client.post(CREATE, json=BODY, headers=KEY) for _ in range(10))
        )
        ids = [response.json()["data"]["task_id"] for response in created]
        fake.complete(ids[0])
        seen_async = (await client.get(task_url(ids[0]), headers=KEY)).json()["data"]

    seen_sync = httpx.get(task_url(ids[0]), headers=KEY).json()["data"]
    assert len(set(ids)) == 10
    assert seen_async == seen_sync
    assert seen_sync["status"] == "COMPLETED"


@pytest.mark.anyio
async def test_an_async_client_sees_dropped_connections_as_httpx_errors(
    fake: FreepikMock,
) -> None:
    fake.add_fault(drop=True)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(CREATE, json=BODY, headers=KEY)
        assert (await client.post(CREATE, json=BODY, headers=KEY)).status_code == 200


def test_a_sync_client_sees_faults(fake: FreepikMock) -> None:
    fake.add_fault(method="POST", status=503, times=1)
    fake.add_fault(drop=True)

    first = httpx.post(CREATE, json=BODY, headers=KEY)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(CREATE, json=BODY, headers=KEY)

    assert first.status_code == 503
    assert first.json() == {"message": "Service Unavailable. Please try again later."}
    assert httpx.post(CREATE, json=BODY, headers=KEY).status_code == 200


@needs_media
def test_result_urls_download_through_the_same_router(fake: FreepikMock) -> None:
    task_id = httpx.post(CREATE, json=BODY, headers=KEY).json()["data"]["task_id"]
    fake.complete(task_id)
    url = httpx.get(task_url(task_id), headers=KEY).json()["data"]["generated"][0]

    video = httpx.get(url)

    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_the_base_url_is_configurable() -> None:
    magnific = "https://api.magnific.com/v1/ai/reference-to-video"
    with FreepikMock(base_url="https://api.magnific.com") as fake:
        created = httpx.post(f"{magnific}/kling-v3-omni-std", json=BODY, headers=KEY)
        task_id = created.json()["data"]["task_id"]
        fake.complete(task_id)
        done = httpx.get(task_url(task_id, magnific), headers=KEY).json()["data"]
        with pytest.raises(AssertionError, match="not a Freepik API request"):
            httpx.post(CREATE, json=BODY, headers=KEY)

    [url] = done["generated"]
    assert is_result_url(url, "https://api.magnific.com", task_id)


def test_settings_reach_the_fake() -> None:
    with FreepikMock(api_keys=["right-key"], failure_rate=1.0) as fake:
        wrong = httpx.post(CREATE, json=BODY, headers={"x-freepik-api-key": "wrong"})
        right = httpx.post(CREATE, json=BODY, headers={"x-freepik-api-key": "right-key"})
        fake.advance(5)
        task = fake.task(right.json()["data"]["task_id"])

    assert wrong.status_code == 401
    assert wrong.json()["message"].startswith("Unauthorized: The provided API key is invalid")
    assert task["status"] == "FAILED"


def test_an_unknown_setting_names_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"unknown freepik_mock setting.*api_keys"):
        FreepikMock(api_key="singular")


def test_a_config_object_keeps_its_own_clock() -> None:
    with FreepikMock(MockConfig(clock="system", complete_after=3600)) as fake:
        assert fake.config.clock == "system"
        assert httpx.get("https://api.freepik.com/_mock/clock").json()["mode"] == "system"


def test_a_fresh_handle_starts_empty() -> None:
    with FreepikMock() as first:
        httpx.post(CREATE, json=BODY, headers=KEY)
        first.add_fault(status=500, times=None)
        assert first.tasks()
    with FreepikMock() as second:
        assert second.tasks() == []
        assert second.faults() == []
        assert second.journal() == []


def test_no_time_passes_for_real(fake: FreepikMock, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    receiver = Receiver(500)
    fake.deliver_webhooks_to(receiver.app)
    body = {**BODY, "webhook_url": "https://app.example/hook"}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
    for _ in range(4):
        fake.advance(1)

    assert fake.task(task_id)["status"] == "COMPLETED"
    assert [e["outcome"] for e in fake.webhooks(task_id)] == ["retrying", "delivered", "delivered"]


# Webhooks


def test_webhooks_are_delivered_signed_into_an_asgi_app() -> None:
    receiver = Receiver()
    with FreepikMock(webhook_secrets=["s3cret"], webhook_app=receiver.app) as fake:
        body = {**BODY, "webhook_url": "https://myapp.example/hook"}
        task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
        fake.advance(1)
        fake.advance(2)
        log = fake.webhooks(task_id)

    events = [verify(raw, headers, "s3cret") for headers, raw in receiver.received]
    assert [event["status"] for event in events] == ["IN_PROGRESS", "COMPLETED"]
    [url] = events[-1]["generated"]
    assert is_result_url(url, "https://api.freepik.com", task_id)
    assert [(entry["outcome"], entry["status_code"]) for entry in log] == [("delivered", 200)] * 2


def test_a_failed_webhook_is_retried_when_the_clock_says_so(fake: FreepikMock) -> None:
    receiver = Receiver(503)
    fake.deliver_webhooks_to(receiver.app)
    body = {**BODY, "webhook_url": "https://myapp.example/hook"}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]

    fake.set_status(task_id, "IN_PROGRESS")
    after_failure = [entry["outcome"] for entry in fake.webhooks(task_id)]
    fake.advance(1)  # the first retry delay

    assert after_failure == ["retrying"]
    assert [entry["outcome"] for entry in fake.webhooks(task_id)] == ["retrying", "delivered"]
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(receiver.received) == 2 and len(ids) == 1


def test_a_webhook_handler_can_call_the_api_with_an_async_client(fake: FreepikMock) -> None:
    seen: list[str] = []

    async def receive(request: Request) -> Response:
        task_id = json.loads(await request.body())["task_id"]
        async with httpx.AsyncClient() as client:
            response = await client.get(task_url(task_id), headers=KEY)
        seen.append(response.json()["data"]["status"])
        return Response()

    fake.deliver_webhooks_to(Starlette(routes=[Route("/hook", receive, methods=["POST"])]))
    body = {**BODY, "webhook_url": "https://myapp.example/hook"}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
    fake.advance(1)
    fake.advance(2)

    assert seen == ["IN_PROGRESS", "COMPLETED"]
    assert [entry["outcome"] for entry in fake.webhooks(task_id)] == ["delivered"] * 2


def test_a_sync_call_from_an_async_webhook_handler_is_refused_clearly(
    fake: FreepikMock,
) -> None:
    async def receive(request: Request) -> Response:
        task_id = json.loads(await request.body())["task_id"]
        httpx.get(task_url(task_id), headers=KEY)  # would block the loop it runs in
        return Response()

    fake.deliver_webhooks_to(Starlette(routes=[Route("/hook", receive, methods=["POST"])]))
    body = {**BODY, "webhook_url": "https://myapp.example/hook"}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
    fake.set_status(task_id, "IN_PROGRESS")

    assert "use an async client there" in fake.webhooks(task_id)[0]["error"]


def test_webhooks_to_other_hosts_are_refused_without_an_app(fake: FreepikMock) -> None:
    body = {**BODY, "webhook_url": "https://myapp.example/hook"}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
    fake.complete(task_id)

    log = fake.webhooks(task_id)
    assert log[0]["status_code"] is None
    assert "refused" in log[0]["error"] and "deliver_webhooks_to" in log[0]["error"]


class _Recorder(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    with loopback_http_server(handler) as base_url:
        yield base_url + "/hook", received


def test_webhooks_without_an_app_go_to_a_loopback_url(
    fake: FreepikMock, loopback_receiver: tuple[str, list[bytes]]
) -> None:
    url, received = loopback_receiver
    body = {**BODY, "webhook_url": url}
    task_id = httpx.post(CREATE, json=body, headers=KEY).json()["data"]["task_id"]
    fake.complete(task_id)

    assert [json.loads(raw)["status"] for raw in received] == ["IN_PROGRESS", "COMPLETED"]
    assert [entry["status_code"] for entry in fake.webhooks(task_id)] == [204, 204]


# Other hosts and other respx routers


def test_other_hosts_fail_by_default(fake: FreepikMock) -> None:
    with pytest.raises(AssertionError, match="passthrough_unmatched"):
        httpx.get("https://example.com/")


def test_other_hosts_pass_through_when_asked() -> None:
    with FreepikMockServer() as server:
        elsewhere = server.base_url.replace("127.0.0.1", "0.0.0.0") + "/_mock/health"
        with FreepikMock(), pytest.raises(AssertionError):
            httpx.get(elsewhere)
        with FreepikMock(passthrough_unmatched=True):
            assert httpx.get(elsewhere).json() == {"status": "ok"}


def test_the_tests_own_respx_routes_keep_working(fake: FreepikMock) -> None:
    with respx.mock(assert_all_called=True) as own:
        own.get("https://example.com/thing").respond(json={"mine": True})
        task = httpx.post(CREATE, json=BODY, headers=KEY)
        mine = httpx.get("https://example.com/thing")
        with pytest.raises(AssertionError, match="not mocked"):
            httpx.get("https://unknown.example/")
        own_calls = [str(call.request.url) for call in own.calls]

    assert task.json()["data"]["status"] == "CREATED"
    assert mine.json() == {"mine": True}
    assert own_calls == ["https://example.com/thing"]
    assert fake.router["api"].call_count == 1


def test_a_client_with_its_own_transport_reaches_the_fake_at_its_url_only(
    fake: FreepikMock,
) -> None:
    def own(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"answered_by": "own transport"})

    with httpx.Client(transport=httpx.MockTransport(own)) as client:
        task = client.post(CREATE, json=BODY, headers=KEY)
        other = client.get("https://example.com/thing")

    assert task.json()["data"]["status"] == "CREATED"
    assert other.json() == {"answered_by": "own transport"}
    assert fake.router["api"].call_count == 1


def test_a_lenient_respx_router_started_first_does_not_shadow_the_fake() -> None:
    with respx.mock(assert_all_mocked=False, assert_all_called=False), FreepikMock():
        task = httpx.post(CREATE, json=BODY, headers=KEY)
        other = httpx.get("https://example.com/anything")

    assert task.json()["data"]["status"] == "CREATED"
    assert other.status_code == 200 and other.content == b""


def test_the_tests_own_routes_win_over_passthrough() -> None:
    # Were it passed through, this would meet a closed local port.
    url = "http://0.0.0.0:1/thing"
    with FreepikMock(passthrough_unmatched=True), respx.mock() as own:
        own.get(url).respond(json={"mine": True})
        assert httpx.get(url).json() == {"mine": True}


def test_the_tests_own_assert_all_called_still_fails(fake: FreepikMock) -> None:
    with pytest.raises(AssertionError, match="not called"), respx.mock() as own:
        own.get("https://example.com/never")
        httpx.post(CREATE, json=BODY, headers=KEY)


# A live server


def test_the_live_server_serves_a_requests_client() -> None:
    with FreepikMockServer(webhook_secrets=["s"]) as server:
        url = server.base_url + "/v1/ai/reference-to-video"
        created = requests.post(f"{url}/kling-v3-omni-std", json=BODY, headers=KEY, timeout=10)
        task_id = created.json()["data"]["task_id"]
        server.advance(1)
        running = requests.get(f"{url}/kling-v3-omni/{task_id}", headers=KEY, timeout=10)
        journal = server.journal()

    assert server.base_url.startswith("http://127.0.0.1:")
    assert created.status_code == 200
    assert running.json()["data"]["status"] == "IN_PROGRESS"
    assert [entry["method"] for entry in journal] == ["POST", "GET"]
    with pytest.raises(requests.ConnectionError):
        requests.get(server.base_url + "/_mock/health", timeout=10)
