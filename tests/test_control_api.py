"""Who may use the control API under /_mock, and what it answers to bad input."""

from __future__ import annotations

import asyncio
import http.client
import json
from typing import Any

import httpx
import pytest
from helpers import AUTH, CREATE, TASKS, advance, client_for, create, fake, serve, status_of

from mockserver import MockConfig, create_app
from mockserver.clock import LATEST_TIME
from mockserver.droppable import protocol_class

pytestmark = pytest.mark.anyio


async def test_control_api_answers_loopback_only_by_default() -> None:
    app = create_app(MockConfig(clock="manual"))
    async with (
        client_for(app, client=("10.1.2.3", 4000)) as remote,
        client_for(app, client=("127.0.0.1", 4000)) as local,
    ):
        refused = await remote.get("/_mock/requests")
        health = await remote.get("/_mock/health")
        allowed = await local.get("/_mock/requests")
    assert refused.status_code == 403
    assert "loopback" in refused.json()["message"]
    assert health.status_code == 200
    assert allowed.status_code == 200


async def test_a_control_token_replaces_the_loopback_rule() -> None:
    app = create_app(MockConfig(control_token="t0ken"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        without = await remote.get("/_mock/requests")
        wrong = await remote.get("/_mock/requests", headers={"x-mock-control-token": "nope"})
        right = await remote.get("/_mock/requests", headers={"x-mock-control-token": "t0ken"})
    assert (without.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "t0ken" not in without.text + wrong.text


async def test_control_off_removes_control_routes_but_not_health() -> None:
    app = create_app(MockConfig(control=False))
    async with client_for(app) as client:
        assert (await client.get("/_mock/requests")).status_code == 404
        assert (await client.get("/_mock/health")).status_code == 200


# -- Bad input: one clear 400 in the control API's envelope, and the API serves on ---------


async def test_an_absurd_clock_advance_is_refused_and_the_api_serves_on() -> None:
    async with fake() as client:
        before = (await client.get("/_mock/clock")).json()["now"]
        # Twice 1e308 made the clock infinite; the list endpoint then answered 500 forever.
        answers = [
            await client.post("/_mock/clock/advance", json={"seconds": 1e308}) for _ in range(2)
        ]
        listed = await client.get(TASKS, headers=AUTH)
        after = (await client.get("/_mock/clock")).json()["now"]
    for answer in answers:
        assert answer.status_code == 400
        message = answer.json()["message"]
        assert message.startswith("seconds must be at most ")
        assert "253402300799 (9999-12-31T23:59:59Z)" in message  # the bound, and why
    assert after == before
    assert listed.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"seconds": NaN}', "body"),
        (b'{"seconds": 1e999}', "body"),
        (b'{"seconds": -1}', "seconds"),
    ],
)
async def test_a_clock_advance_that_is_not_a_finite_step_forward_is_refused(
    body: bytes, field: str
) -> None:
    async with fake() as client:
        answer = await client.post("/_mock/clock/advance", content=body)
    assert answer.status_code == 400
    assert field in answer.json()["invalid_params"][0]["field"]


async def test_no_clock_value_makes_an_api_endpoint_fail() -> None:
    delivered: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        delivered.append(request)
        return httpx.Response(200)

    settings = {"rate_limit": True, "webhook_transport": httpx.MockTransport(receiver)}
    async with fake(**settings) as client:
        first = await create(client, webhook_url="http://127.0.0.1:9/hook")
        now = (await client.get("/_mock/clock")).json()["now"]
        await advance(client, LATEST_TIME - now)  # the last second the clock reaches
        second = await create(client, webhook_url="http://127.0.0.1:9/hook")
        answers = [
            await client.get(f"{TASKS}/{first['task_id']}", headers=AUTH),
            await client.get(f"{TASKS}/{second['task_id']}", headers=AUTH),
            await client.get(TASKS, headers=AUTH),
            await client.get(TASKS, params={"page": "2", "page_size": "1"}, headers=AUTH),
            await client.post(CREATE, json={"video_url": 1}, headers=AUTH),
            await client.get("/_mock/tasks"),
            await client.post("/_mock/webhooks/drain"),
            await client.get("/_mock/webhooks"),
            await client.get("/_mock/requests"),
            await client.post("/_mock/clock/advance", json={"seconds": 0}),
        ]
        await client.post(f"/_mock/tasks/{second['task_id']}/status", json={"status": "FAILED"})
        final = await status_of(client, second["task_id"])
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 200, 200, 200, 200, 200]
    assert answers[0].json()["data"]["status"] == "COMPLETED"
    assert final["status"] == "FAILED"
    assert delivered  # webhooks went out, signed with a timestamp in year 9999


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "ten"}, "limit must be a whole number >= 0, not 'ten'"),
        ({"limit": "-1"}, "limit must be a whole number >= 0, not '-1'"),
        ({"limit": "²"}, "limit must be a whole number >= 0, not '²'"),  # isdigit() said yes
        ({"kind": "requests"}, "kind must be one of request, transition, not 'requests'"),
    ],
)
async def test_a_bad_journal_query_is_refused_saying_what_it_takes(
    query: dict[str, str], message: str
) -> None:
    async with fake() as client:
        answer = await client.get("/_mock/requests", params=query)
    assert (answer.status_code, answer.json()) == (400, {"message": message})


async def test_the_journal_takes_a_limit_and_a_kind() -> None:
    async with fake() as client:
        for _ in range(3):
            await client.get(TASKS, headers=AUTH)
        limited = await client.get("/_mock/requests", params={"limit": "2", "kind": "request"})
        transitions = await client.get("/_mock/requests", params={"kind": "transition"})
    assert len(limited.json()["data"]) == 2
    assert transitions.json()["data"] == []


async def test_a_fault_status_without_a_body_is_refused() -> None:
    async with fake() as client:
        refused = await client.post("/_mock/faults", json={"status": 204})
        listed = await client.get("/_mock/faults")
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("status 204 cannot be a fault: a 204 answer")
    assert listed.json()["data"] == []


def _exchange(
    connection: http.client.HTTPConnection, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """One request on ``connection`` (kept alive): its status and parsed JSON body."""
    payload = None if body is None else json.dumps(body)
    connection.request(method, path, body=payload, headers={**AUTH, "host": "127.0.0.1"})
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read() or b"null")


@pytest.mark.slow
@pytest.mark.parametrize("implementation", ["httptools", "h11"])
async def test_a_refused_fault_leaves_the_keep_alive_connection_in_step(
    implementation: str,
) -> None:
    # A 204 fault sent the API's JSON body after a bodiless head: the client read those
    # bytes as the start of the next answer on the same connection.
    app = create_app(MockConfig(clock="manual"))
    async with serve(app, http=protocol_class(implementation)) as url:
        port = int(url.rsplit(":", 1)[1])

        def conversation() -> list[tuple[int, Any]]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                answers = [
                    _exchange(connection, "POST", "/_mock/faults", {"status": 204, "times": 2}),
                    _exchange(connection, "GET", TASKS),
                    _exchange(connection, "GET", TASKS),
                    _exchange(connection, "GET", "/_mock/health"),
                ]
                assert connection.sock is not None  # still the one connection
                return answers
            finally:
                connection.close()

        answers = await asyncio.to_thread(conversation)
        await app.state.mock.shutdown()
    assert answers[0][0] == 400
    assert answers[1:] == [(200, {"data": []}), (200, {"data": []}), (200, {"status": "ok"})]
