"""The one mapping from exceptions to answers, shared by the API and the control API: every
failure is an answer in the API's shape, and none is a bare 500 but the fake's own."""

from __future__ import annotations

import pytest
from helpers import client_for
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.config import Profile
from mockserver.errors import (
    OBSERVED_INVALID_KEY_BODY,
    ApiError,
    error_response,
    exception_handlers,
    message_for_status,
)
from mockserver.limits import BodyTimedOut, BodyTooLarge
from mockserver.validation import Problem, RequestInvalid

pytestmark = pytest.mark.anyio


def app_raising(exc: Exception, profile: Profile = "observed") -> Starlette:
    """An app whose one route (``/boom``, GET and POST only) raises ``exc``."""

    async def boom(request: Request) -> Response:
        raise exc

    routes = [Route("/boom", boom, methods=["POST", "GET", "PATCH"])]
    return Starlette(routes=routes, exception_handlers=exception_handlers(profile))


async def test_an_api_error_is_its_own_status_body_and_headers() -> None:
    error = ApiError(429, {"message": "Too many requests"}, {"retry-after": "1"})
    async with client_for(app_raising(error)) as client:
        answer = await client.get("/boom")
    assert answer.status_code == 429
    assert answer.json() == {"message": "Too many requests"}
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (ApiError.missing_api_key(), 401, {"message": "Missing API key"}),
        (ApiError.invalid_api_key("spec"), 401, {"message": "Invalid API key"}),
        (ApiError.task_not_found(), 404, {"message": "AI resource not found"}),
        (ApiError.bad_request("Bad thing"), 400, {"message": "Bad thing"}),
        (ApiError.with_message(503), 503, {"message": message_for_status(503)}),
    ],
)
async def test_the_api_s_own_errors(error: ApiError, status: int, body: dict[str, str]) -> None:
    async with client_for(app_raising(error)) as client:
        answer = await client.get("/boom")
    assert (answer.status_code, answer.json()) == (status, body)


async def test_the_observed_wrong_key_answer_is_sent_byte_for_byte() -> None:
    async with client_for(app_raising(ApiError.invalid_api_key())) as client:
        answer = await client.get("/boom")
    assert (answer.status_code, answer.content) == (401, OBSERVED_INVALID_KEY_BODY)


MISSING = Problem(("body", "video_url"), "missing", "Field required", {})


@pytest.mark.parametrize(
    ("profile", "body"),
    [
        (
            "observed",
            {
                "message": "Validation error",
                "invalid_params": [{"field": "body.video_url", "reason": "Field required"}],
            },
        ),
        (
            "spec",
            {
                "message": "Your request parameters didn't validate.",
                "invalid_params": [
                    {"name": "video_url", "reason": "Parameter 'video_url' is required"}
                ],
            },
        ),
    ],
)
async def test_a_refused_request_is_answered_in_the_apps_profile(
    profile: Profile, body: dict[str, object]
) -> None:
    app = app_raising(RequestInvalid((MISSING,)), profile)
    async with client_for(app) as client:
        answer = await client.post("/boom")
    assert (answer.status_code, answer.json()) == (400, body)


def test_messages_are_the_api_s_own_then_the_http_phrase() -> None:
    assert message_for_status(401) == "Invalid API key"
    assert message_for_status(503) == "Service Unavailable. Please try again later."
    assert message_for_status(418) == "I'm a Teapot"
    assert message_for_status(599) == "Error"
    assert error_response(422).body == b'{"message":"Unprocessable Entity"}'


async def test_an_unknown_path_is_a_json_404() -> None:
    async with client_for(app_raising(RuntimeError())) as client:
        answer = await client.get("/nowhere")
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})


async def test_a_wrong_method_is_a_json_405_with_a_sorted_allow() -> None:
    async with client_for(app_raising(RuntimeError())) as client:
        answers = [await client.delete("/boom") for _ in range(3)]
    for answer in answers:
        assert (answer.status_code, answer.json()) == (405, {"message": "Method Not Allowed"})
        # Starlette builds Allow from a set: the fake always says it in one order.
        assert answer.headers["allow"] == "GET, HEAD, PATCH, POST"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BodyTooLarge("Request body is larger than the limit of 10 bytes"), 413),
        (BodyTimedOut("Request body not received within 1 s"), 408),
    ],
)
async def test_body_limits_answer_and_close_the_connection(error: Exception, status: int) -> None:
    async with client_for(app_raising(error)) as client:
        answer = await client.post("/boom", content=b"x")
    assert answer.status_code == status
    assert answer.json() == {"message": str(error)}
    # The unread rest of the body cannot frame a next request on this connection.
    assert answer.headers["connection"] == "close"


async def test_a_client_that_left_gets_no_answer_and_no_error() -> None:
    app = app_raising(ClientDisconnect())
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/boom",
        "raw_path": b"/boom",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent == []


async def test_an_unexpected_failure_is_the_api_s_500_and_is_raised_for_the_log() -> None:
    app = app_raising(RuntimeError("a bug in the fake"))
    async with client_for(app, raise_app_exceptions=False) as client:
        answer = await client.get("/boom")
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal Server Error"})
    async with client_for(app) as client:
        with pytest.raises(RuntimeError, match="a bug in the fake"):
            await client.get("/boom")
