"""The whole upstream API (``fixtures/upstream``, 436 operations) served from its spec.

Every operation is driven once with the smallest valid request its schemas allow and
once with an invalid one, in process (httpx's ASGI transport). No answer is a 500, and
every answer validates against the responses that operation documents (jsonschema,
formats included). Start-up time and memory are measured by ``benchmarks/startup.py``,
not asserted here.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from mockserver import MockConfig, create_app
from mockserver.kinds import TASK_STATUS, status_fields, success_response
from mockserver.spec import Operation
from mockserver.synthesis import value_for

pytestmark = pytest.mark.anyio

SPEC_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "upstream"
KEY = {"x-magnific-api-key": "test-key"}
CHECKER = jsonschema.Draft4Validator.FORMAT_CHECKER


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    yield create_app(MockConfig(spec_dir=SPEC_DIR, clock="manual", media_check="off"))


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    app.state.mock.reset()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _params(operation: Operation, location: str) -> Iterator[tuple[str, Any]]:
    for param in operation.parameters:
        if param.location == location and (param.required or location == "path"):
            yield param.name, value_for(param.schema, minimal=True)


def _url(operation: Operation, path_values: dict[str, Any]) -> str:
    path = operation.path
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", _text(value))
    return path


def valid_request(operation: Operation, task_id: str | None = None) -> dict[str, Any]:
    """The smallest request the operation's schemas allow (a known task's id for a read)."""
    path_values = dict(_params(operation, "path"))
    if task_id is not None:
        path_values = {next(iter(path_values)): task_id}
    headers = {**KEY}
    headers.update(
        (name, _text(value))
        for name, value in _params(operation, "header")
        if name.lower() != "content-type"
    )
    request: dict[str, Any] = {
        "method": operation.method.upper(),
        "url": _url(operation, path_values),
        "params": {name: _text(value) for name, value in _params(operation, "query")},
        "headers": headers,
    }
    if operation.request_schema is not None:
        request["json"] = value_for(operation.request_schema, minimal=True)
    elif operation.request_media_types:
        headers["content-type"] = operation.request_media_types[0]
        request["content"] = b""
    return request


def _refusable(schema: dict[str, Any]) -> bool:
    return schema.get("type") in ("integer", "number", "boolean") or "enum" in schema


def invalid_request(operation: Operation) -> dict[str, Any]:
    """A request the operation must refuse, as it documents refusals: a body of the wrong
    shape, else a query or path value of the wrong type (400), else no API key (401)."""
    request = valid_request(operation)
    if "400" not in operation.responses and "401" in operation.responses:
        request["headers"] = {k: v for k, v in request["headers"].items() if k not in KEY}
        return request
    if operation.request_schema is not None:
        request["json"] = [1]
        return request
    for param in operation.parameters:
        if param.location == "query" and _refusable(param.schema):
            request["params"] = {**request["params"], param.name: "not-valid"}
            return request
    for param in operation.parameters:
        if param.location == "path" and _refusable(param.schema):
            values = dict(_params(operation, "path"))
            request["url"] = _url(operation, {**values, param.name: "not-valid"})
            return request
    request["headers"] = {k: v for k, v in request["headers"].items() if k not in KEY}
    return request


def check_documented(operation: Operation, response: httpx.Response) -> bool:
    """Assert the answer is no 500 and meets the operation's documented response; return
    whether its status is documented (a refusal the spec leaves out is in the error
    envelope all the same)."""
    where = f"{operation.method.upper()} {operation.path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}"
    status = str(response.status_code)
    documented = operation.responses.get(status, operation.responses.get(f"{status[0]}XX"))
    if documented is None:
        assert status.startswith("4"), where
        # Only where the spec documents neither refusal.
        assert not {"400", "401"} & operation.responses.keys(), where
        assert isinstance(response.json().get("message"), str), where
        return False
    schema = next((s for m, s in documented.items() if "json" in m), None)
    if schema is not None:
        errors = list(
            jsonschema.Draft4Validator(schema, format_checker=CHECKER).iter_errors(response.json())
        )
        assert not errors, f"{where}: {errors[0].message} in {response.text[:300]}"
    return True


async def test_every_operation_answers_a_minimal_and_an_invalid_request_as_documented(
    app: Any, client: httpx.AsyncClient
) -> None:
    runtime = app.state.mock
    operations = list(runtime.spec)
    assert len(operations) == 436
    kinds = {op.operation_id: runtime.plan.kind(op.operation_id) for op in operations}
    tasks: dict[str, str] = {}  # family -> a task of it
    undocumented = 0
    for operation in sorted(operations, key=lambda op: kinds[op.operation_id] != "create"):
        kind = kinds[operation.operation_id]
        task_id = None
        if kind == "read":
            served = runtime.families.served_by(operation.operation_id)
            task_id = next((tasks[f] for f in sorted(served) if f in tasks), None)
            assert task_id is not None, f"no create makes the tasks {operation.path} reads"
        response = await client.request(**valid_request(operation, task_id))
        assert response.status_code < 300, (operation.path, response.text[:300])
        check_documented(operation, response)
        if kind == "create":
            body = response.json()
            found = body.get("data", body)
            tasks.setdefault(runtime.families.of(operation.operation_id), found["task_id"])
        refused = await client.request(**invalid_request(operation))
        assert refused.status_code >= 400, (operation.path, refused.text[:300])
        undocumented += not check_documented(operation, refused)
    # Creates, reads and lists made tasks and found them; each call answered at once.
    assert len(tasks) > 100
    assert sorted(set(kinds.values())) == ["call", "create", "list", "read"]
    # The spec documents neither a 400 nor a 401 for a few operations only.
    assert undocumented <= 10


async def test_the_header_parameters_the_whole_spec_declares_are_checked(
    app: Any, client: httpx.AsyncClient
) -> None:
    runtime = app.state.mock
    declaring = [op for op in runtime.spec if any(p.location == "header" for p in op.parameters)]
    assert declaring  # Accept-Language, on the stock content operations
    for operation in declaring:
        assert runtime.validators[operation.operation_id].has_headers
        request = valid_request(operation)
        for param in operation.parameters:
            if param.location == "header":
                request["headers"][param.name] = _text(value_for(param.schema))
        answer = await client.request(**request)
        assert answer.status_code == 200, (operation.path, answer.text[:300])
        check_documented(operation, answer)


async def test_a_create_of_its_own_shape_answers_the_tasks_own_status(
    app: Any, client: httpx.AsyncClient
) -> None:
    # Style transfer documents {task_id, task_status, generated}; its example's status is
    # IN_PROGRESS and its generated two URLs, neither true of a task just created.
    body = {"image": "https://example.com/a.png", "reference_image": "https://example.com/b.png"}
    created = await client.post("/v1/ai/image-style-transfer", json=body, headers=KEY)
    assert created.status_code == 200
    answer = created.json()
    read = await client.get(f"/v1/ai/image-style-transfer/{answer['task_id']}", headers=KEY)
    task = read.json()["data"]
    assert answer == {"task_id": task["task_id"], "task_status": "CREATED", "generated": []}
    assert task["status"] == "CREATED"
    operation = app.state.mock.spec.find("post", "/v1/ai/image-style-transfer")
    check_documented(operation, created)


def test_reads_and_lists_document_the_status_where_the_envelope_has_it(app: Any) -> None:
    # What a read or list answers is the envelope's shape: were an item's status named
    # otherwise, the handlers would have to fill that field too.
    runtime = app.state.mock
    for operation in runtime.spec:
        if runtime.plan.kind(operation.operation_id) in ("read", "list"):
            assert status_fields(success_response(operation)[2]) <= {TASK_STATUS}, operation.path


async def test_reads_and_lists_see_their_own_family_only(client: httpx.AsyncClient) -> None:
    kling = await client.post("/v1/ai/video/kling-v3-omni-std", json={"prompt": "x"}, headers=KEY)
    mystic = await client.post("/v1/ai/mystic", json={"prompt": "x"}, headers=KEY)
    kling_id, mystic_id = kling.json()["data"]["task_id"], mystic.json()["data"]["task_id"]
    assert (await client.get(f"/v1/ai/mystic/{kling_id}", headers=KEY)).status_code == 404
    assert (await client.get(f"/v1/ai/mystic/{mystic_id}", headers=KEY)).status_code == 200
    listed = (await client.get("/v1/ai/mystic", headers=KEY)).json()["data"]
    assert [t["task_id"] for t in listed] == [mystic_id]
    # Kling 3 (not Omni) does not list Kling 3 Omni tasks.
    assert (await client.get("/v1/ai/video/kling-v3", headers=KEY)).json()["data"] == []


async def test_a_list_of_all_tiers_shows_each_tier_and_a_tier_list_its_own(
    client: httpx.AsyncClient,
) -> None:
    ids = {}
    for tier in ("480p", "1080p"):
        answer = await client.post(
            f"/v1/ai/video/seedance-2-fast-{tier}", json={"prompt": "x"}, headers=KEY
        )
        ids[tier] = answer.json()["data"]["task_id"]
    every = (await client.get("/v1/ai/video/seedance-2-fast", headers=KEY)).json()["data"]
    assert [t["task_id"] for t in every] == [ids["1080p"], ids["480p"]]  # newest first
    one = (await client.get("/v1/ai/video/seedance-2-fast-480p", headers=KEY)).json()["data"]
    assert [t["task_id"] for t in one] == [ids["480p"]]
    for task_id in ids.values():
        read = await client.get(f"/v1/ai/video/seedance-2-fast/{task_id}", headers=KEY)
        assert read.status_code == 200


async def test_a_synchronous_operation_answers_its_own_body_the_same_each_time(
    client: httpx.AsyncClient,
) -> None:
    answers = [
        await client.post("/v1/ai/text-to-image", json={"prompt": "a cat"}, headers=KEY)
        for _ in range(2)
    ]
    assert answers[0].status_code == 200
    body = answers[0].json()
    assert set(body) >= {"data", "meta"} and isinstance(body["data"], list)
    assert "task_id" not in str(body["data"][0].keys())
    assert answers[0].content == answers[1].content


async def _completed_result(
    client: httpx.AsyncClient, create: str, read: str, **extra: Any
) -> httpx.Response:
    body = {"prompt": "x", **extra}
    task = (await client.post(create, json=body, headers=KEY)).json()["data"]
    await client.post("/_mock/clock/advance", json={"seconds": 3600})
    answer = (await client.get(f"{read}/{task['task_id']}", headers=KEY)).json()["data"]
    assert answer["status"] == "COMPLETED"
    [url] = answer["generated"]
    return await client.get(url)


async def test_results_are_their_familys_media(client: httpx.AsyncClient) -> None:
    image = await _completed_result(client, "/v1/ai/mystic", "/v1/ai/mystic")
    assert "/_mock/cdn/mystic_" in str(image.url) and image.url.path.endswith(".png")
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    sound = await _completed_result(
        client, "/v1/ai/music-generation", "/v1/ai/music-generation", music_length_seconds=10
    )
    assert sound.url.path.endswith(".wav") and sound.headers["content-type"] == "audio/wav"
    assert sound.content[:4] == b"RIFF" and sound.content[8:12] == b"WAVE"
    video = await _completed_result(
        client, "/v1/ai/video/kling-v3-omni-std", "/v1/ai/video/kling-v3-omni"
    )
    # The form observed on the live API, kept for every Kling family.
    assert video.url.path.startswith("/_mock/cdn/kling_") and video.url.path.endswith(".mp4")
    assert video.headers["content-type"] == "video/mp4"
    assert struct.unpack(">4s", video.content[4:8]) == (b"ftyp",)


async def test_a_result_url_with_another_familys_extension_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    image = await _completed_result(client, "/v1/ai/mystic", "/v1/ai/mystic")
    signed_elsewhere = str(image.url).replace(".png?", ".mp4?")
    # The token signs the path: a changed extension is a URL this fake never signed.
    assert (await client.get(signed_elsewhere)).status_code == 403


async def test_every_family_with_a_webhook_url_sends_signed_webhooks_of_its_media() -> None:
    received: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200)

    config = MockConfig(
        spec_dir=SPEC_DIR,
        clock="manual",
        media_check="off",
        webhook_secrets=("secret",),
        webhook_transport=httpx.MockTransport(receive),
    )
    transport = httpx.ASGITransport(app=create_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        body = {"prompt": "x", "webhook_url": "http://127.0.0.1:9/hook"}
        created = await client.post("/v1/ai/mystic", json=body, headers=KEY)
        assert created.status_code == 200
        await client.post("/_mock/clock/advance", json={"seconds": 3600})
    statuses = [json.loads(r.content)["status"] for r in received]
    assert statuses == ["IN_PROGRESS", "COMPLETED"]
    assert all(r.headers["webhook-signature"].startswith("v1,") for r in received)
    [url] = json.loads(received[-1].content)["generated"]
    assert "/_mock/cdn/mystic_" in url and ".png?token=" in url


def test_the_json_copy_served_says_what_the_yaml_it_was_made_from_says() -> None:
    from mockserver.spec import load_yaml, read_document

    [served] = SPEC_DIR.glob("*.json")
    [source] = (SPEC_DIR / "source").glob("*.yaml")
    assert read_document(served.read_bytes(), ".json") == load_yaml(source.read_bytes())
