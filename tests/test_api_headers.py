"""Header parameters are checked from the spec as query and path ones are: a bad value is
a 400 naming ``header.<name>`` in the active profile's envelope, whatever the operation's
kind; the API key header stays the authentication's (a 401)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, create_app
from mockserver.config import Profile

pytestmark = pytest.mark.anyio

# Every kind of operation, each declaring a required integer header and the API key
# header as a parameter too (as some vendor specs do).
_HEADERS = """
        - {name: X-Batch-Size, in: header, required: true, schema: {type: integer, minimum: 1}}
        - {name: X-Freepik-Api-Key, in: header, required: true, schema: {type: string}}
        - {name: Accept-Language, in: header, schema: {type: string, enum: [en-US, es-ES]}}
"""
_TASK = """
              schema:
                type: object
                properties:
                  data:
                    type: object
                    required: [task_id, status]
                    properties:
                      task_id: {type: string}
                      status: {type: string, enum: [CREATED, IN_PROGRESS, COMPLETED, FAILED]}
"""
SPEC = f"""\
openapi: 3.0.0
info: {{title: t, version: '1'}}
components:
  securitySchemes:
    key: {{type: apiKey, in: header, name: x-freepik-api-key}}
security: [{{key: []}}]
paths:
  /v1/icons:
    get:
      parameters:{_HEADERS}
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema: {{type: object, properties: {{data: {{type: array, items: {{}}}}}}}}
  /v1/ai/painter:
    post:
      parameters:{_HEADERS}
      requestBody:
        content:
          application/json:
            schema: {{type: object, properties: {{prompt: {{type: string}}}}}}
      responses:
        '200':
          description: OK
          content:
            application/json:{_TASK}
    get:
      parameters:{_HEADERS}
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema:
                type: object
                properties:
                  data:
                    type: array
                    items:
                      type: object
                      required: [task_id, status]
                      properties:
                        task_id: {{type: string}}
                        status: {{type: string, enum: [CREATED, IN_PROGRESS, COMPLETED, FAILED]}}
  /v1/ai/painter/{{task-id}}:
    get:
      parameters:
        - {{name: task-id, in: path, required: true, schema: {{type: string}}}}{_HEADERS}
      responses:
        '200':
          description: OK
          content:
            application/json:{_TASK}
"""
KEY = {"x-freepik-api-key": "k"}
GOOD = {**KEY, "x-batch-size": "2"}


@pytest.fixture(params=["observed", "spec"])
def profile(request: pytest.FixtureRequest) -> Profile:
    value: Profile = request.param
    return value


@pytest.fixture
async def client(tmp_path: Path, profile: Profile) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "spec.yaml").write_text(SPEC)
    app = create_app(MockConfig(spec_dir=tmp_path, clock="manual", profile=profile))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def _fields(answer: httpx.Response) -> list[str]:
    body = answer.json()
    key = "field" if body["message"] == "Validation error" else "name"
    return [item[key] for item in body["invalid_params"]]


async def _every_kind(client: httpx.AsyncClient, headers: dict[str, str]) -> list[httpx.Response]:
    created = await client.post("/v1/ai/painter", json={"prompt": "x"}, headers=GOOD)
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    return [
        await client.get("/v1/icons", headers=headers),
        await client.post("/v1/ai/painter", json={"prompt": "x"}, headers=headers),
        await client.get("/v1/ai/painter", headers=headers),
        await client.get(f"/v1/ai/painter/{task_id}", headers=headers),
    ]


async def test_valid_headers_are_accepted_by_every_kind(client: httpx.AsyncClient) -> None:
    answers = await _every_kind(client, {**GOOD, "accept-language": "es-ES"})
    assert [a.status_code for a in answers] == [200] * 4


async def test_a_bad_header_is_refused_by_every_kind_naming_it(
    client: httpx.AsyncClient, profile: Profile
) -> None:
    observed = profile == "observed"
    for answer in await _every_kind(client, {**KEY, "X-Batch-Size": "0"}):
        assert answer.status_code == 400, answer.text
        assert _fields(answer) == ["header.X-Batch-Size" if observed else "X-Batch-Size"]
    for answer in await _every_kind(client, KEY):
        assert answer.status_code == 400, answer.text
        assert _fields(answer) == ["header.X-Batch-Size" if observed else "X-Batch-Size"]
    for answer in await _every_kind(client, {**GOOD, "Accept-Language": "fr-FR"}):
        assert answer.status_code == 400, answer.text
        assert _fields(answer) == ["header.Accept-Language" if observed else "Accept-Language"]


async def test_the_api_key_header_stays_the_authentications(client: httpx.AsyncClient) -> None:
    # Declared as a required header parameter, yet a missing key is a 401, not a 400.
    answers = await _every_kind(client, {"x-batch-size": "2"})
    assert [a.status_code for a in answers] == [401] * 4
    assert {a.json()["message"] for a in answers} == {"Missing API key"}
