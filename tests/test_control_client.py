"""MockControl: the control API as a typed client, and its errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import our_imports

from mockserver import FreepikMock, MockControlError
from mockserver.control_client import MockControl

CREATE = "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni-std"
KEY = {"x-freepik-api-key": "test-key"}
BODY = {"video_url": "https://example.com/reference.mp4"}


@pytest.fixture
def fake() -> Iterator[FreepikMock]:
    with FreepikMock() as mock:
        yield mock


def create(fake: FreepikMock) -> str:
    task_id: str = httpx.post(CREATE, json=BODY, headers=KEY).json()["data"]["task_id"]
    return task_id


def test_fail_records_its_reason_in_the_journal(fake: FreepikMock) -> None:
    task_id = create(fake)

    task = fake.fail(task_id, reason="reference video too short")

    assert task["status"] == "FAILED"
    assert task["generated"] == []
    moves = fake.journal("transition")
    assert [(t["from"], t["status"]) for t in moves] == [
        ("CREATED", "IN_PROGRESS"),
        ("IN_PROGRESS", "FAILED"),
    ]
    assert moves[-1]["reason"] == "reference video too short"


def test_refusals_raise_with_the_status_and_message(fake: FreepikMock) -> None:
    task_id = create(fake)
    fake.complete(task_id)

    with pytest.raises(MockControlError) as backwards:
        fake.set_status(task_id, "IN_PROGRESS")
    with pytest.raises(MockControlError) as unknown:
        fake.task("no-such-task")

    assert backwards.value.status_code == 409
    assert "COMPLETED" in backwards.value.message
    assert unknown.value.status_code == 404


def test_advance_needs_a_manual_clock() -> None:
    with FreepikMock(clock="system") as fake, pytest.raises(MockControlError) as refused:
        fake.advance(1)
    assert refused.value.status_code == 409


def test_faults_are_listed_used_up_and_cleared(fake: FreepikMock) -> None:
    once = fake.add_fault(method="POST", status=500)
    fake.add_fault(method="GET", status=503, times=None)
    listed = [(f["id"], f["status"]) for f in fake.faults()]

    assert httpx.post(CREATE, json=BODY, headers=KEY).status_code == 500
    after_one_use = [f["status"] for f in fake.faults()]
    fake.clear_faults()

    assert listed == [(once["id"], 500), (once["id"] + 1, 503)]
    assert after_one_use == [503]
    assert fake.faults() == []


def test_the_journal_keeps_no_api_key(fake: FreepikMock) -> None:
    create(fake)
    entry = fake.journal(limit=1)[0]
    assert entry["api_key"] == "sent"
    assert "test-key" not in str(fake.journal(kind=None))


def test_reset_forgets_everything(fake: FreepikMock) -> None:
    create(fake)
    fake.add_fault(status=500, times=None)
    fake.reset()
    assert (fake.tasks(), fake.faults(), fake.journal(kind=None)) == ([], [], [])


def test_a_control_token_is_sent_by_the_handle() -> None:
    with FreepikMock(control_token="t0ken") as fake:
        create(fake)
        outsider = httpx.get("https://api.freepik.com/_mock/tasks")
        assert len(fake.tasks()) == 1
    assert outsider.status_code == 401


def test_the_client_knows_the_server_only_by_its_urls() -> None:
    assert our_imports("mockserver.control_client") == {"mockserver.constants"}


def client_answering(response: httpx.Response, seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return response

    return httpx.Client(base_url="http://fake.test", transport=httpx.MockTransport(handler))


def test_calls_go_under_the_control_prefix_with_the_token() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={"mode": "manual", "now": 5.0})
    control = MockControl(client_answering(answer, seen), control_token="t0ken")
    assert control.now == 5.0
    assert seen[0].url.path == "/_mock/clock"
    assert seen[0].headers["x-mock-control-token"] == "t0ken"


def test_an_error_that_is_not_json_raises_with_its_text() -> None:
    seen: list[httpx.Request] = []
    control = MockControl(client_answering(httpx.Response(502, text="bad gateway"), seen))
    with pytest.raises(MockControlError) as raised:
        control.reset()
    assert (raised.value.status_code, raised.value.message) == (502, "bad gateway")
    assert "x-mock-control-token" not in seen[0].headers


def test_a_namespace_is_sent_on_every_call_and_offered_to_the_code_under_test() -> None:
    seen: list[httpx.Request] = []
    answer = httpx.Response(200, json={"status": "reset", "namespace": "ci-1"})
    control = MockControl(client_answering(answer, seen), namespace="ci-1")
    control.reset()
    assert seen[0].headers["x-freepik-mock-namespace"] == "ci-1"
    assert control.headers == {"x-freepik-mock-namespace": "ci-1"}
    default = MockControl(client_answering(answer, seen))
    default.reset()
    assert "x-freepik-mock-namespace" not in seen[1].headers
    assert default.headers == {}
    with pytest.raises(ValueError, match="default"):
        default.delete_namespace()


def test_a_handle_in_a_namespace_serves_the_code_under_test_there() -> None:
    with FreepikMock(namespace="mine") as fake:
        task_id = create(fake)  # sends no namespace header: the handle's namespace serves it
        assert [t["task_id"] for t in fake.tasks()] == [task_id]
        assert fake.app.state.mock.store.get(task_id) is None  # not the default namespace
        assert {n["namespace"]: n["tasks"] for n in fake.namespaces()} == {"default": 0, "mine": 1}
        # A request naming a namespace keeps it.
        other = {**KEY, "x-freepik-mock-namespace": "other"}
        httpx.post(CREATE, json=BODY, headers=other)
        fake.delete_namespace("other")
        with pytest.raises(MockControlError) as raised:
            fake.delete_namespace("other")
        assert raised.value.status_code == 404
