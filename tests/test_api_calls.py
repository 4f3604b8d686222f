"""Operations that are not tasks answer at once, as their spec says, whatever the method."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mockserver import MockConfig, create_app

pytestmark = pytest.mark.anyio

SPEC = """\
openapi: 3.0.0
info: {title: t, version: '1'}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: x-freepik-api-key}
security: [{key: []}]
paths:
  /v1/icons/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses:
        '200':
          description: OK
          content:
            application/json:
              schema:
                type: object
                required: [data]
                properties:
                  data:
                    type: object
                    properties: {id: {type: integer, example: 52912}, name: {type: string}}
    delete:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses: {'204': {description: Deleted}}
"""
KEY = {"x-freepik-api-key": "k"}


@pytest.fixture
async def client(tmp_path: Path) -> httpx.AsyncClient:
    (tmp_path / "spec.yaml").write_text(SPEC)
    app = create_app(MockConfig(spec_dir=tmp_path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_a_call_answers_its_documented_body(client: httpx.AsyncClient) -> None:
    async with client:
        answer = await client.get("/v1/icons/3", headers=KEY)
    assert answer.status_code == 200
    assert answer.json() == {"data": {"id": 52912, "name": "string"}}


async def test_a_bad_path_value_is_refused_in_the_live_apis_envelope(
    client: httpx.AsyncClient,
) -> None:
    async with client:
        answer = await client.get("/v1/icons/zero", headers=KEY)
        missing_key = await client.get("/v1/icons/3")
    assert answer.status_code == 400
    assert answer.json() == {
        "message": "Validation error",
        "invalid_params": [
            {
                "field": "path.id",
                "reason": "Input should be a valid integer, unable to parse string as an integer",
            }
        ],
    }
    assert missing_key.status_code == 401


async def test_other_methods_answer_what_the_spec_says(client: httpx.AsyncClient) -> None:
    async with client:
        answer = await client.delete("/v1/icons/3", headers=KEY)
    assert (answer.status_code, answer.content) == (204, b"")
