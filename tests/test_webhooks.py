"""Webhooks as Freepik sends them, checked by a receiver with its own HMAC code."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from helpers import AUTH, CREATE, VIDEO, advance, create, fake, serve, status_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

pytestmark = pytest.mark.anyio


@dataclass
class Receiver:
    """A webhook endpoint: records what arrives, fails the first ``fail`` requests."""

    fail: int = 0
    gate: asyncio.Event | None = None
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.received.append((dict(request.headers), body))
            self.arrived.set()
            if self.gate is not None:
                await self.gate.wait()
            if self.fail > 0:
                self.fail -= 1
                return Response("nope", status_code=500)
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


def own_hmac_check(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """The receiver's own implementation of Freepik's scheme, not the fake's."""
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(
        hmac.new(secret.encode(), content, hashlib.sha256).digest()
    ).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split(" ")


async def drain(client: Any) -> None:
    response = await client.post("/_mock/webhooks/drain")
    assert response.json()["drained"] is True


async def test_one_signed_webhook_per_status_change() -> None:
    receiver = Receiver()
    async with serve(receiver.app()) as url, fake(webhook_secrets=("s3cret",)) as client:
        task = await create(client, webhook_url=f"{url}/hook")
        await drain(client)
        assert receiver.received == []  # creation itself sends nothing
        await advance(client, 1)
        await drain(client)
        await advance(client, 2)
        await drain(client)
        final = await status_of(client, task["task_id"])
    assert [p["status"] for p in receiver.payloads()] == ["IN_PROGRESS", "COMPLETED"]
    assert receiver.payloads()[1] == {
        "task_id": task["task_id"],
        "status": "COMPLETED",
        "generated": final["generated"],
    }
    for headers, body in receiver.received:
        assert own_hmac_check(headers, body, "s3cret")
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300
        assert headers["content-type"] == "application/json"
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(set(ids)) == 2


async def test_no_webhook_without_webhook_url() -> None:
    async with fake() as client:
        await create(client)
        await advance(client, 5)
        log = (await client.get("/_mock/webhooks")).json()
    assert log == {"data": [], "pending": 0}


async def test_rotation_sends_one_signature_per_secret() -> None:
    receiver = Receiver()
    async with serve(receiver.app()) as url, fake(webhook_secrets=("old", "new")) as client:
        await create(client, webhook_url=f"{url}/hook")
        await advance(client, 1)
        await drain(client)
    headers, body = receiver.received[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert own_hmac_check(headers, body, "old")
    assert own_hmac_check(headers, body, "new")


async def test_standard_webhooks_signing_uses_the_decoded_secret() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    receiver = Receiver()
    async with (
        serve(receiver.app()) as url,
        fake(webhook_secrets=(secret,), signing="standard-webhooks") as client,
    ):
        await create(client, webhook_url=f"{url}/hook")
        await advance(client, 1)
        await drain(client)
    headers, body = receiver.received[0]
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert not own_hmac_check(headers, body, secret)


async def test_failing_receiver_is_retried_with_the_same_webhook_id() -> None:
    receiver = Receiver(fail=2)
    async with (
        serve(receiver.app()) as url,
        fake(webhook_secrets=("s",), webhook_retry_delays=(1, 2, 4, 8)) as client,
    ):
        task = await create(client, webhook_url=f"{url}/hook")
        await advance(client, 1)  # IN_PROGRESS: attempt 1 fails
        await drain(client)
        await advance(client, 0.5)  # retry not due yet (1 s)
        await drain(client)
        assert len(receiver.received) == 1
        await advance(client, 0.5)  # attempt 2 fails
        await drain(client)
        await advance(client, 1.0)  # COMPLETED queued behind; retry due at +2 s
        await drain(client)
        assert len(receiver.received) == 2
        await advance(client, 1.0)  # attempt 3 succeeds, then COMPLETED goes out
        await drain(client)
        log = (await client.get("/_mock/webhooks", params={"task_id": task["task_id"]})).json()
    first_three = receiver.received[:3]
    assert len({h["webhook-id"] for h, _ in first_three}) == 1
    assert all(own_hmac_check(h, b, "s") for h, b in receiver.received)
    assert [p["status"] for p in receiver.payloads()] == [
        "IN_PROGRESS",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "COMPLETED",
    ]
    outcomes = [(e["event"], e["attempt"], e["outcome"], e["status_code"]) for e in log["data"]]
    assert outcomes == [
        ("IN_PROGRESS", 1, "retrying", 500),
        ("IN_PROGRESS", 2, "retrying", 500),
        ("IN_PROGRESS", 3, "delivered", 204),
        ("COMPLETED", 1, "delivered", 204),
    ]
    assert log["pending"] == 0


async def test_gives_up_after_the_last_attempt_and_moves_on() -> None:
    receiver = Receiver(fail=100)
    async with serve(receiver.app()) as url, fake(webhook_retry_delays=(1, 1)) as client:
        await create(client, webhook_url=f"{url}/hook")
        for _ in range(6):
            await advance(client, 1)
            await drain(client)
        log = (await client.get("/_mock/webhooks")).json()
    assert [(e["event"], e["outcome"]) for e in log["data"]] == [
        ("IN_PROGRESS", "retrying"),
        ("IN_PROGRESS", "retrying"),
        ("IN_PROGRESS", "failed"),
        ("COMPLETED", "retrying"),
        ("COMPLETED", "retrying"),
        ("COMPLETED", "failed"),
    ]


async def test_connection_errors_are_logged_and_retried() -> None:
    async with fake(webhook_retry_delays=(1,)) as client:
        await create(client, webhook_url="http://127.0.0.1:9/unreachable")
        await advance(client, 1)
        await drain(client)
        await advance(client, 1)
        await drain(client)
        log = (await client.get("/_mock/webhooks")).json()["data"]
    assert [e["outcome"] for e in log[:2]] == ["retrying", "failed"]
    assert log[0]["status_code"] is None
    assert "ConnectError" in log[0]["error"]


async def test_a_slow_receiver_does_not_slow_creates() -> None:
    gate = asyncio.Event()
    receiver = Receiver(gate=gate)
    async with serve(receiver.app()) as url, fake() as client:
        await create(client, webhook_url=f"{url}/hook")
        await advance(client, 1)
        await asyncio.wait_for(receiver.arrived.wait(), 5)
        # The receiver is now stuck on the first delivery; the API still answers.
        responses = [
            await client.post(CREATE, json={"video_url": VIDEO}, headers=AUTH) for _ in range(5)
        ]
        assert not gate.is_set()
        gate.set()
        await drain(client)
    assert [r.status_code for r in responses] == [200] * 5


async def test_refused_target_is_logged_and_the_task_is_unaffected() -> None:
    async with fake() as client:
        task = await create(client, webhook_url="http://203.0.113.9/hook")
        await advance(client, 3)
        await drain(client)
        log = (await client.get("/_mock/webhooks")).json()["data"]
        final = await status_of(client, task["task_id"])
    assert final["status"] == "COMPLETED"
    assert {e["outcome"] for e in log} == {"refused"}
    assert "not loopback" in log[0]["error"]


async def test_one_clock_advance_past_several_retry_delays_runs_every_retry() -> None:
    receiver = Receiver(fail=3)
    async with serve(receiver.app()) as url, fake(webhook_retry_delays=(1, 2, 4, 8)) as client:
        task = await create(client, webhook_url=f"{url}/hook")
        created = (await client.get(f"/_mock/tasks/{task['task_id']}")).json()["data"]
        await advance(client, 100)  # no drain: the advance runs what fell due meanwhile
        log = (await client.get("/_mock/webhooks")).json()
    attempts = [(e["event"], e["attempt"], e["outcome"]) for e in log["data"]]
    assert attempts == [
        ("IN_PROGRESS", 1, "retrying"),
        ("IN_PROGRESS", 2, "retrying"),
        ("IN_PROGRESS", 3, "retrying"),
        ("IN_PROGRESS", 4, "delivered"),
        ("COMPLETED", 1, "delivered"),
    ]
    # Each attempt at the fake's time it fell due: 1 s after creation, then 1, 2 and 4 s
    # later; the COMPLETED event (due at 3 s) waits for the one before it.
    offsets = [round(e["at"] - created["created_at"], 3) for e in log["data"]]
    assert offsets == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert log["pending"] == 0
    assert [p["status"] for p in receiver.payloads()][-2:] == ["IN_PROGRESS", "COMPLETED"]


async def test_timestamps_are_wall_clock_time_even_under_a_manual_clock() -> None:
    from standardwebhooks import Webhook

    from mockserver import verify

    receiver = Receiver()
    secret = "s3cret-for-this-test"
    async with serve(receiver.app()) as url, fake(webhook_secrets=(secret,)) as client:
        await create(client, webhook_url=f"{url}/hook")
        await advance(client, 3600)  # an hour ahead of the wall clock
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 30
        assert verify(body, headers, secret)["task_id"]  # the default 300 s tolerance
        # The Standard Webhooks library, handed the secret's raw bytes, agrees.
        assert Webhook(secret.encode()).verify(body, headers)["task_id"]


async def test_the_http_client_is_made_off_the_event_loop_before_the_first_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Importing httpx and building its TLS context take 150-200 ms: made on the event
    loop at the first delivery, they held every request answered meanwhile."""
    import threading

    from mockserver.webhooks import WebhookDispatcher

    made_in: list[int] = []
    make = WebhookDispatcher._new_client

    def recording(self: WebhookDispatcher) -> Any:
        made_in.append(threading.get_ident())
        return make(self)

    monkeypatch.setattr(WebhookDispatcher, "_new_client", recording)
    receiver = Receiver()
    async with serve(receiver.app()) as url, fake() as client:
        await create(client)
        await asyncio.sleep(0.05)
        assert made_in == []  # no task asked for webhooks: nothing made
        await create(client, webhook_url=f"{url}/hook")
        for _ in range(200):  # begun at creation, a clock step before any delivery
            if made_in:
                break
            await asyncio.sleep(0.01)
        assert made_in and made_in[0] != threading.get_ident()
        await advance(client, 1)
        await drain(client)
    assert [p["status"] for p in receiver.payloads()] == ["IN_PROGRESS"]
    assert len(made_in) == 1
