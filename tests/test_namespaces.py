"""Namespaces: the x-freepik-mock-namespace header scopes tasks, faults, the manual clock,
the journal and the webhook log, and one fake holds at most max_namespaces of them."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Receiver
from helpers import AUTH, CREATE, TASKS, VIDEO, fake_app

from mockserver import MockConfig, create_app
from mockserver.constants import NAMESPACE_HEADER
from mockserver.namespaces import Namespaces
from mockserver.testing import FreepikMockServer, RemoteFreepikMock


def ns(name: str) -> dict[str, str]:
    return {NAMESPACE_HEADER: name}


async def create_in(client: httpx.AsyncClient, name: str | None, **body: Any) -> str:
    body.setdefault("video_url", VIDEO)
    headers = {**AUTH, **(ns(name) if name else {})}
    response = await client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["data"]["task_id"]
    return task_id


def test_a_task_is_read_and_listed_only_in_its_namespace() -> None:
    async def scenario() -> None:
        async with fake_app() as (app, client):
            in_a = await create_in(client, "a")
            in_default = await create_in(client, None)
            for name, mine, other in (("a", in_a, in_default), (None, in_default, in_a)):
                headers = {**AUTH, **(ns(name) if name else {})}
                listed = (await client.get(TASKS, headers=headers)).json()["data"]
                assert [t["task_id"] for t in listed] == [mine]
                assert (await client.get(f"{TASKS}/{other}", headers=headers)).status_code == 404
                assert (await client.get(f"{TASKS}/{mine}", headers=headers)).status_code == 200
                control = (await client.get("/_mock/tasks", headers=ns(name or "default"))).json()
                assert [t["task_id"] for t in control["data"]] == [mine]
            # app.state.mock stays the default namespace's runtime.
            assert app.state.mock.namespace == "default"
            assert app.state.mock.store.get(in_default) is not None
            assert app.state.mock.store.get(in_a) is None

    asyncio.run(scenario())


def test_faults_the_manual_clock_and_the_journal_are_the_namespaces_own() -> None:
    async def scenario() -> None:
        async with fake_app() as (_, client):
            fault = {"path": CREATE, "status": 503, "times": None}
            assert (await client.post("/_mock/faults", json=fault, headers=ns("a"))).is_success
            refused = await client.post(
                CREATE, json={"video_url": VIDEO}, headers={**AUTH, **ns("a")}
            )
            assert refused.status_code == 503
            in_b = await create_in(client, "b")  # b has no fault
            assert (await client.get("/_mock/faults", headers=ns("b"))).json()["data"] == []

            before = (await client.get("/_mock/clock", headers=ns("a"))).json()["now"]
            moved = await client.post("/_mock/clock/advance", json={"seconds": 10}, headers=ns("b"))
            assert moved.json()["applied"] > 0
            after_a = (await client.get("/_mock/clock", headers=ns("a"))).json()["now"]
            after_b = (await client.get("/_mock/clock", headers=ns("b"))).json()["now"]
            assert after_a == before and after_b >= before + 10
            task = (await client.get(f"/_mock/tasks/{in_b}", headers=ns("b"))).json()["data"]
            assert task["status"] == "COMPLETED"

            journal_a = (await client.get("/_mock/requests", headers=ns("a"))).json()["data"]
            assert [(e["status"], e["namespace"]) for e in journal_a] == [(503, "a")]
            journal_b = (await client.get("/_mock/requests", headers=ns("b"))).json()
            kinds = {(e["kind"], e["namespace"]) for e in journal_b["data"]}
            assert kinds == {("request", "b"), ("transition", "b")}
            # The default namespace saw none of it.
            assert (await client.get("/_mock/requests")).json()["data"] == []

    asyncio.run(scenario())


def test_the_webhook_log_is_the_namespaces_own(receiver: Receiver) -> None:
    async def scenario() -> None:
        async with fake_app() as (_, client):
            task_id = await create_in(client, "hooks", webhook_url=receiver.url)
            await client.post("/_mock/clock/advance", json={"seconds": 5}, headers=ns("hooks"))
            await client.post("/_mock/webhooks/drain", headers=ns("hooks"))
            log = (await client.get("/_mock/webhooks", headers=ns("hooks"))).json()["data"]
            assert log and {(e["task_id"], e["namespace"]) for e in log} == {(task_id, "hooks")}
            assert (await client.get("/_mock/webhooks", headers=ns("other"))).json()["data"] == []

    asyncio.run(scenario())
    assert len(receiver.received) == 2  # IN_PROGRESS and COMPLETED


@pytest.mark.parametrize(
    "name",
    [b"", b"a" * 65, b"a b", b"ns/1", b"..", b".", b"\xc3\xa9t\xc3\xa9", b"a:b"],
    ids=["empty", "too-long", "space", "slash", "dotdot", "dot", "non-ascii", "colon"],
)
@pytest.mark.parametrize("path", [CREATE, TASKS, "/_mock/tasks", "/_mock/reset"])
def test_a_bad_name_is_a_400_saying_what_a_name_is(name: bytes, path: str) -> None:
    async def scenario() -> None:
        async with fake_app() as (app, client):
            method = "POST" if path in (CREATE, "/_mock/reset") else "GET"
            headers = [(b"x-freepik-api-key", b"k"), (NAMESPACE_HEADER.encode(), name)]
            response = await client.request(
                method, path, json={"video_url": VIDEO}, headers=headers
            )
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/json"
            message = response.json()["message"]
            assert NAMESPACE_HEADER in message and "1 to 64" in message
            assert app.state.namespaces.names() == ["default"]

    asyncio.run(scenario())


def test_a_name_of_64_allowed_characters_is_taken() -> None:
    async def scenario() -> None:
        async with fake_app() as (app, client):
            name = "Job_42.gw-0" + "x" * 53
            assert len(name) == 64
            await create_in(client, name)
            assert app.state.namespaces.names() == ["default", name]

    asyncio.run(scenario())


def test_past_the_limit_a_new_namespace_is_a_409_until_one_is_deleted() -> None:
    async def scenario() -> None:
        async with fake_app(max_namespaces=3) as (_, client):
            await create_in(client, "one")
            await create_in(client, "two")
            refused = await client.get("/_mock/clock", headers=ns("three"))
            assert refused.status_code == 409
            assert "max_namespaces" in refused.json()["message"]
            # Those it holds still work.
            assert (await client.get("/_mock/clock", headers=ns("one"))).status_code == 200
            assert (await client.delete("/_mock/namespaces/one")).json() == {"deleted": "one"}
            assert (await client.get("/_mock/clock", headers=ns("three"))).status_code == 200

    asyncio.run(scenario())


def test_namespaces_are_listed_and_deleted_but_the_default_is_only_reset() -> None:
    async def scenario() -> None:
        async with fake_app() as (_, client):
            task_id = await create_in(client, "a")
            await create_in(client, "a")
            await create_in(client, None)
            listed = (await client.get("/_mock/namespaces")).json()
            assert listed == {
                "data": [{"namespace": "default", "tasks": 1}, {"namespace": "a", "tasks": 2}],
                "limit": 1000,
            }
            default_delete = await client.delete("/_mock/namespaces/default")
            assert default_delete.status_code == 409
            assert (await client.delete("/_mock/namespaces/nope")).status_code == 404
            assert (await client.delete("/_mock/namespaces/a")).status_code == 200
            # A deleted namespace comes back empty when it is named again.
            gone = await client.get(f"/_mock/tasks/{task_id}", headers=ns("a"))
            assert gone.status_code == 404

    asyncio.run(scenario())


def test_reset_empties_the_namespace_it_names_only() -> None:
    async def scenario() -> None:
        async with fake_app() as (app, client):
            await create_in(client, "a")
            await create_in(client, "b")
            reset = await client.post("/_mock/reset", headers=ns("a"))
            assert reset.json() == {"status": "reset", "namespace": "a"}
            counts = {r.namespace: len(r.store) for r in app.state.namespaces}
            assert counts == {"default": 0, "a": 0, "b": 1}

    asyncio.run(scenario())


def test_a_result_url_of_a_namespace_works_without_the_header() -> None:
    async def scenario() -> None:
        async with fake_app() as (_, client):
            task_id = await create_in(client, "a")
            await client.post(
                f"/_mock/tasks/{task_id}/status", json={"status": "COMPLETED"}, headers=ns("a")
            )
            read = await client.get(f"{TASKS}/{task_id}", headers={**AUTH, **ns("a")})
            (url,) = read.json()["data"]["generated"]
            assert url.endswith("&namespace=a")
            video = await client.get(url)  # a player sends no namespace header
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            # Another namespace's key does not sign it; an unknown one holds nothing.
            await client.get("/_mock/clock", headers=ns("b"))
            for other in ("b", "nowhere", "default"):
                moved = await client.get(url.replace("namespace=a", f"namespace={other}"))
                assert moved.status_code == 403
            assert (await client.get(url.removesuffix("&namespace=a"))).status_code == 403

    asyncio.run(scenario())


def test_on_a_state_file_namespaces_stay_apart_and_every_app_on_it_sees_them(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        state = tmp_path / "state.db"
        async with fake_app(state=state) as (first, client), fake_app(state=state) as (_, other):
            in_a = await create_in(client, "a")
            in_default = await create_in(client, None)
            seen_a = await other.get("/_mock/tasks", headers=ns("a"))
            seen_default = await other.get("/_mock/tasks")
            assert [t["task_id"] for t in seen_a.json()["data"]] == [in_a]
            assert [t["task_id"] for t in seen_default.json()["data"]] == [in_default]
            await other.post("/_mock/reset", headers=ns("a"))
            assert (await client.get("/_mock/tasks", headers=ns("a"))).json()["data"] == []
            assert len(first.state.mock.store) == 1

    asyncio.run(scenario())


def test_creating_a_namespace_costs_well_under_a_millisecond() -> None:
    app = create_app(MockConfig(clock="manual"))
    namespaces: Namespaces = app.state.namespaces
    costs = []
    for i in range(300):
        started = time.perf_counter()
        namespaces.get(f"ns-{i}")
        costs.append(time.perf_counter() - started)
    median = statistics.median(costs)
    print(f"namespace creation: median {median * 1e6:.0f} us, max {max(costs) * 1e6:.0f} us")
    assert median < 0.001
    asyncio.run(namespaces.shutdown())


CLIENTS = 16


def test_namespaces_stay_apart_under_16_parallel_clients(receiver: Receiver) -> None:
    """16 clients at once on one live server, each in its own namespace, each with its
    own faults, clock moves, tasks and webhooks: each sees exactly its own."""
    barrier = threading.Barrier(CLIENTS)
    problems: list[str] = []

    def client_run(server: FreepikMockServer, i: int) -> None:
        name = f"job-{i}"
        with (
            RemoteFreepikMock(server.base_url, namespace=name) as mock,
            httpx.Client(base_url=server.base_url, headers={**AUTH, **mock.headers}) as api,
        ):
            barrier.wait(30)
            start = mock.now
            # i + 1 refusals from this namespace's own fault, then creates go through.
            mock.add_fault(path=CREATE, status=503, times=i + 1)
            body = {"video_url": VIDEO, "webhook_url": f"{receiver.url}/{name}"}
            statuses = [api.post(CREATE, json=body).status_code for _ in range(i + 4)]
            created = [api.post(CREATE, json=body).json()["data"]["task_id"] for _ in range(2)]
            barrier.wait(30)  # everyone's faults and tasks exist before any clock moves
            moved = mock.advance(i + 5)
            found = {
                "statuses": statuses,
                "clock": round(moved - start, 6),
                "tasks": sorted((t["task_id"], t["status"]) for t in mock.tasks()),
                "journal": [(e["status"], e["namespace"]) for e in mock.journal()],
                "webhooks": {(e["task_id"], e["namespace"]) for e in mock.webhooks()},
                "faults": mock.faults(),
            }
            ids = created + [
                t["task_id"] for t in api.get(TASKS).json()["data"] if t["task_id"] not in created
            ]
            expected = {
                "statuses": [503] * (i + 1) + [200] * 3,
                "clock": i + 5,
                "tasks": sorted((t, "COMPLETED") for t in ids),
                "journal": [(s, name) for s in [503] * (i + 1) + [200] * 5],
                "webhooks": {(t, name) for t in ids},
                "faults": [],
            }
            assert len(ids) == 5
            for key, value in expected.items():
                if found[key] != value:
                    problems.append(f"{name} {key}: {found[key]!r} != {value!r}")
            mock.delete_namespace()

    with FreepikMockServer(webhook_retry_delays=()) as server:
        threads = [
            threading.Thread(target=client_run, args=(server, i), name=f"client-{i}")
            for i in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)
        assert server.namespaces() == [{"namespace": "default", "tasks": 0}]
    assert problems == []
    # Each namespace's webhooks went to its own path: two per task, five tasks each.
    per_path = {path: receiver.paths.count(path) for path in set(receiver.paths)}
    assert per_path == {f"/hook/job-{i}": 10 for i in range(CLIENTS)}
