"""GET /_mock/openapi.json: the control API described, route for route, and the typed
control client and the fake's answers held to that description."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from mockserver import FreepikMock, MockConfig, create_app
from mockserver.constants import CONTROL_PREFIX
from mockserver.control_client import MockControl, MockControlError
from mockserver.states import STATUSES

CREATE = "https://api.freepik.com/v1/ai/reference-to-video/kling-v3-omni-std"
KEY = {"x-freepik-api-key": "test-key"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    with FreepikMock() as mock:
        response = mock._http.get("/_mock/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def control_routes(app: Starlette) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves under /_mock."""
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith(CONTROL_PREFIX):
            for method in route.methods or ():
                if method != "HEAD":  # Starlette adds HEAD to every GET
                    found.add((method, route.path))
    return found


def described(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)  # raises on an invalid document
    assert doc["openapi"].startswith("3.")


def test_every_control_route_is_described_and_nothing_else() -> None:
    app = create_app(MockConfig())
    from mockserver.control_api import _DOC_BYTES  # what the route serves

    document = httpx.Response(200, content=_DOC_BYTES).json()
    assert control_routes(app) == described(document)


def test_a_route_added_without_a_description_is_caught(doc: dict[str, Any]) -> None:
    # The check above is a comparison both ways: a new route shows up in the difference.
    app = create_app(MockConfig())
    app.router.routes.append(Route("/_mock/undocumented", lambda r: Response(), methods=["GET"]))
    assert control_routes(app) - described(doc) == {("GET", "/_mock/undocumented")}


def test_the_status_enum_is_the_fakes(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert tuple(schemas["Status"]["enum"]) == STATUSES
    assert tuple(schemas["ForceStatus"]["properties"]["status"]["enum"]) == STATUSES


# -- The typed client and the answers, held to the document ---------------------------------


def operation_for(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    """The document's operation a concrete request path is an instance of."""
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            operation: dict[str, Any] = item[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the control API's document")


def check(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    # The document's own "#/components/..." references resolve from the schema's root.
    jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(instance)


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/components/responses/")
        node = doc["components"]["responses"][name]
    return node


def check_exchange(doc: dict[str, Any], request: httpx.Request, response: httpx.Response) -> str:
    """The request is a described operation with a body that validates, and the answer
    one of its described answers; returns the operation id."""
    operation = operation_for(doc, request.method, request.url.path)
    if request.content:
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        body = httpx.Response(200, content=request.content).json()
        if response.status_code == 400 and "invalid_params" in response.json():
            # Refused as invalid by the fake: the document refuses it too.
            with pytest.raises(jsonschema.ValidationError):
                check(doc, body_schema, body)
        else:
            check(doc, body_schema, body)
    else:
        assert not operation.get("requestBody", {}).get("required"), operation["operationId"]
    answers = operation["responses"]
    assert str(response.status_code) in answers, (operation["operationId"], response.text)
    content = resolve(doc, answers[str(response.status_code)]).get("content", {})
    media_type = response.headers["content-type"].split(";")[0]
    if media_type == "application/json":
        check(doc, content["application/json"]["schema"], response.json())
    else:
        assert media_type in content or "*/*" in content, (operation["operationId"], media_type)
    return str(operation["operationId"])


@pytest.fixture
def recorded(doc: dict[str, Any]) -> Iterator[tuple[FreepikMock, list[str]]]:
    """A FreepikMock whose control calls are each checked against the document."""
    seen: list[str] = []
    with FreepikMock(webhook_app=receiver(500)) as mock:

        def hook(response: httpx.Response) -> None:
            response.read()
            seen.append(check_exchange(doc, response.request, response))

        mock._http.event_hooks["response"].append(hook)
        yield mock, seen


def receiver(*statuses: int) -> Starlette:
    answers = list(statuses)

    async def hook(request: Any) -> Response:
        await request.body()
        return Response(status_code=answers.pop(0) if answers else 200)

    return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


# Each public method of the control client, and what the test below calls it with.
CLIENT_CALLS = {
    "now", "advance", "tasks", "task", "set_status", "complete", "fail", "add_fault",
    "faults", "clear_faults", "webhooks", "drain_webhooks", "journal", "reset",
    "headers", "namespaces", "delete_namespace",
}  # fmt: skip


def test_the_calls_below_cover_the_whole_control_client() -> None:
    public = {name for name in vars(MockControl) if not name.startswith("_")}
    assert public == CLIENT_CALLS  # a new method needs its call in the test below


def test_every_method_of_the_control_client_is_described(
    recorded: tuple[FreepikMock, list[str]],
) -> None:
    mock, seen = recorded
    task_id = httpx.post(
        CREATE,
        json={"video_url": "https://example.com/a.mp4", "webhook_url": "http://127.0.0.1/hook"},
        headers=KEY,
    ).json()["data"]["task_id"]
    assert mock.now > 0
    mock.advance(1.5)  # IN_PROGRESS; its webhook fails once
    assert len(mock.tasks()) == 1
    assert mock.task(task_id)["status"] == "IN_PROGRESS"
    with pytest.raises(MockControlError) as backwards:
        mock.set_status(task_id, "CREATED", reason="back")
    assert backwards.value.status_code == 409
    mock.complete(task_id, drain=False)
    assert mock.drain_webhooks() >= 0
    mock.add_fault(status=503, path="/v1/*", times=None)
    mock.add_fault(delay_ms=5)
    assert len(mock.faults()) == 2
    mock.clear_faults()
    assert mock.webhooks(task_id)[0]["outcome"] == "retrying"
    assert mock.journal(kind=None, limit=5)
    mock.reset()
    with pytest.raises(MockControlError) as gone:
        mock.fail(task_id, "too late")
    assert gone.value.status_code == 404
    assert {
        "get_clock", "advance_clock", "list_all_tasks", "get_task", "force_status",
        "add_fault", "list_faults", "clear_faults", "webhook_log", "drain_webhooks",
        "journal", "reset",
    } <= set(seen)  # fmt: skip


def test_the_other_answers_match_the_document(
    recorded: tuple[FreepikMock, list[str]],
) -> None:
    mock, seen = recorded
    created = httpx.post(
        CREATE,
        json={"video_url": "https://example.com/a.mp4", "webhook_url": "http://127.0.0.1/hook"},
        headers=KEY,
    ).json()["data"]
    mock.advance(10)
    task = mock.task(created["task_id"])
    http = mock._http
    answers = [
        http.get(f"/_mock/tasks/{task['task_id']}/timeline"),
        http.get("/_mock/tasks/nope/timeline"),
        http.get("/_mock/tasks", params={"status": "COMPLETED", "order": "newest", "limit": 1}),
        http.get("/_mock/tasks", params={"status": "DONE"}),
        http.get("/_mock/requests", params={"limit": "x"}),
        http.post("/_mock/clock/advance", json={"seconds": -1}),
        http.get("/_mock/metrics"),
        http.get("/_mock/openapi.json"),
        http.get("/_mock/ui"),
        http.get("/_mock/ui/app.js"),
        http.get("/_mock/ui/app.css"),
        http.get("/_mock/ui/nothing.js"),
        http.get("/_mock/health"),
        http.get("/_mock/fixtures/ref_valid.mp4"),
        http.get(task["generated"][0].replace("https://api.freepik.com", "")),
        http.get(f"/_mock/cdn/kling_{task['task_id']}.mp4", params={"token": "forged"}),
    ]
    assert [a.status_code for a in answers] == [
        200, 404, 200, 400, 400, 400, 200, 200, 200, 200, 200, 404, 200, 200, 200, 403,
    ]  # fmt: skip
    assert {"task_timeline", "metrics", "control_openapi", "dashboard", "dashboard_asset",
            "health", "fixture", "result_media"} <= set(seen)  # fmt: skip


def test_the_namespace_calls_match_the_document(doc: dict[str, Any]) -> None:
    seen: list[str] = []
    with FreepikMock(namespace="ci-7") as mock:

        def hook(response: httpx.Response) -> None:
            response.read()
            seen.append(check_exchange(doc, response.request, response))

        mock._http.event_hooks["response"].append(hook)
        assert mock.headers == {"x-freepik-mock-namespace": "ci-7"}
        mock.reset()  # makes the namespace
        assert [n["namespace"] for n in mock.namespaces()] == ["default", "ci-7"]
        http = mock._http
        answers = [
            http.get("/_mock/tasks", headers={"x-freepik-mock-namespace": "no/slash"}),
            http.delete("/_mock/namespaces/default"),
            http.delete("/_mock/namespaces/never-made"),
        ]
        assert [a.status_code for a in answers] == [400, 409, 404]
        mock.delete_namespace()
    assert {"reset", "list_namespaces", "delete_namespace", "list_all_tasks"} <= set(seen)
