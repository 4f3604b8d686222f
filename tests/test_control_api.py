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


# -- Task timelines and the task list's filters -----------------------------------------


async def test_a_timeline_holds_statuses_webhook_attempts_and_the_tasks_requests() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    answers = [500]

    async def hook(request: Request) -> Response:
        await request.body()
        return Response(status_code=answers.pop(0) if answers else 200)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    transport = httpx.ASGITransport(app=receiver)
    async with fake(webhook_transport=transport) as client:
        task = await create(client, webhook_url="http://127.0.0.1/hook")
        other = await create(client)
        task_id = task["task_id"]
        read = await client.get(f"{TASKS}/{task_id}", headers=AUTH)
        await client.get(f"{TASKS}/{other['task_id']}", headers=AUTH)
        await advance(client, 10)
        timeline = (await client.get(f"/_mock/tasks/{task_id}/timeline")).json()["data"]
        missing = await client.get("/_mock/tasks/nope/timeline")
    assert timeline["task"]["task_id"] == task_id
    assert [s["status"] for s in timeline["statuses"]] == ["CREATED", "IN_PROGRESS", "COMPLETED"]
    times = [s["at"] for s in timeline["statuses"]]
    assert times == sorted(times) and times[0] == timeline["task"]["created_at"]
    attempts = [(a["event"], a["status_code"], a["outcome"]) for a in timeline["webhooks"]]
    assert attempts == [
        ("IN_PROGRESS", 500, "retrying"),
        ("IN_PROGRESS", 200, "delivered"),
        ("COMPLETED", 200, "delivered"),
    ]
    assert timeline["webhooks"][0]["next_attempt_at"] == timeline["webhooks"][1]["at"]
    # Its create (noted with the task it made) and its read, not the other task's.
    requests = timeline["requests"]
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 200), ("GET", 200)]
    assert requests[0]["task_id"] == task_id
    assert requests[1]["request_id"] == read.headers["x-request-id"]
    assert missing.status_code == 404


async def test_a_timeline_outlives_the_journal_with_the_tasks_own_times() -> None:
    async with fake(journal_size=1) as client:
        task = await create(client)
        await advance(client, 10)
        await client.get("/v1/other")  # pushes the transitions out of the journal
        timeline = (await client.get(f"/_mock/tasks/{task['task_id']}/timeline")).json()["data"]
    assert [s["status"] for s in timeline["statuses"]] == ["CREATED", "COMPLETED"]
    assert timeline["statuses"][-1]["at"] == timeline["task"]["updated_at"]


async def test_tasks_are_listed_newest_first_and_filtered_by_status_and_id() -> None:
    async with fake() as client:
        ids = []
        for _ in range(3):
            ids.append((await create(client))["task_id"])
            await advance(client, 0.5)
        await client.post(f"/_mock/tasks/{ids[0]}/status", json={"status": "COMPLETED"})

        async def listed(**params: Any) -> list[str]:
            response = await client.get("/_mock/tasks", params=params)
            assert response.status_code == 200, response.text
            return [t["task_id"] for t in response.json()["data"]]

        assert await listed() == ids
        assert await listed(order="newest") == ids[::-1]
        assert await listed(order="newest", limit=2) == ids[:0:-1]
        assert await listed(status="COMPLETED") == [ids[0]]
        assert await listed(task_id=ids[1][:13]) == [ids[1]]
        assert await listed(status="FAILED") == []
        bad = [
            await client.get("/_mock/tasks", params=p)
            for p in ({"status": "DONE"}, {"order": "up"}, {"limit": "-1"})
        ]
    assert [b.status_code for b in bad] == [400, 400, 400]
    assert all(b.json()["message"] for b in bad)


# -- The dashboard page -------------------------------------------------------------------


async def test_the_dashboard_page_and_its_assets_come_from_the_package() -> None:
    async with fake() as client:
        page = await client.get("/_mock/ui")
        script = await client.get("/_mock/ui/app.js")
        style = await client.get("/_mock/ui/app.css")
        unknown = await client.get("/_mock/ui/index.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="ui/app.js"' in page.text and "http" not in page.text.split("<body>")[0]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert "fetch(" in script.text
    assert style.headers["content-type"].startswith("text/css")
    assert unknown.status_code == 404


async def test_the_dashboard_is_loopback_only_or_asks_for_the_token() -> None:
    app = create_app(MockConfig(clock="manual"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        assert (await remote.get("/_mock/ui")).status_code == 403
        assert (await remote.get("/_mock/ui/app.js")).status_code == 403
    # With a token the page (which holds no data) is served, and it sends the token.
    app = create_app(MockConfig(clock="manual", control_token="t0ken"))
    async with client_for(app, client=("10.1.2.3", 4000)) as remote:
        page = await remote.get("/_mock/ui")
        script = await remote.get("/_mock/ui/app.js")
        data = await remote.get("/_mock/tasks")
    assert (page.status_code, script.status_code, data.status_code) == (200, 200, 401)
    assert "x-mock-control-token" in script.text
    app = create_app(MockConfig(clock="manual", control=False))
    async with client_for(app) as local:
        assert (await local.get("/_mock/ui")).status_code == 404


async def test_a_method_a_control_path_does_not_take_is_a_405_naming_every_one_it_does() -> None:
    async with fake() as client:
        wrong = await client.put("/_mock/faults")
        assert (await client.delete("/_mock/faults")).status_code == 200
        assert (await client.get("/_mock/faults")).json() == {"data": []}
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "DELETE, GET, HEAD, POST"
    assert wrong.json() == {"message": "Method Not Allowed"}
