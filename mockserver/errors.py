"""The error bodies the real API sends, the exception that carries them, and the one
mapping from exceptions to answers that the API and the control API share.

Bodies follow the facts file to the letter: clients match on these strings, so a fake
that words them differently is a fake that lies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final, cast

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from .config import Profile
from .limits import BodyTimedOut, BodyTooLarge
from .reasons import invalid_params_body
from .validation import Problem, RequestInvalid

__all__ = [
    "OBSERVED_INVALID_KEY_BODY",
    "ApiError",
    "JSONBytesResponse",
    "error_response",
    "exception_handlers",
    "json_response",
    "message_for_status",
]

# The wrong-key 401 exactly as recorded from the live API (five recordings, every endpoint
# alike): 220 bytes, trailing newline included. The spec's example says "Invalid API key".
OBSERVED_INVALID_KEY_BODY: Final = (
    b'{"message":"Unauthorized: The provided API key is invalid. Please verify your API key '
    b"at https://www.freepik.com/developers/dashboard/api-key. If you need a new key, you "
    b'can request one at https://www.freepik.com/api."}\n'
)

# Bodies of the statuses the API is known to answer with (facts file, "Response bodies").
_KNOWN_MESSAGES: dict[int, str] = {
    401: "Invalid API key",
    403: "User is not authorized to access this resource",
    404: "AI resource not found",
    429: "Too many requests",
    500: "Internal Server Error",
    503: "Service Unavailable. Please try again later.",
}


def message_for_status(status: int) -> str:
    """The API's own message for ``status``, or the HTTP reason phrase."""
    if status in _KNOWN_MESSAGES:
        return _KNOWN_MESSAGES[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class JSONBytesResponse(Response):
    """A JSON answer whose body is encoded with orjson (Starlette's ``JSONResponse``
    uses ``json.dumps``, three times slower on the API's bodies)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        # Most answers have no headers of their own: theirs two, as Starlette would
        # write them (a status without a body has no length).
        status = self.status_code
        if headers is not None or status < 200 or status in (204, 304):
            super().init_headers(headers)
            return
        self.raw_headers = [
            (b"content-length", b"%d" % len(self.body)),
            (b"content-type", b"application/json"),
        ]


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> JSONBytesResponse:
    return JSONBytesResponse(body, status_code=status, headers=headers)


def error_response(
    status: int, message: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONBytesResponse:
    """``{"message": ...}`` with ``status``: ``message``, or the API's own for ``status``."""
    return json_response(status, {"message": message or message_for_status(status)}, headers)


class ApiError(Exception):
    """Raised anywhere in a request; rendered as the API's JSON error body."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any] | bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        # A body given as bytes is sent as it is (an answer recorded byte for byte).
        super().__init__(status, body if isinstance(body, bytes) else body.get("message"))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> JSONBytesResponse:
        return json_response(self.status, self.body, self.headers)

    @classmethod
    def with_message(cls, status: int, message: str | None = None) -> ApiError:
        return cls(status, {"message": message or message_for_status(status)})

    @classmethod
    def missing_api_key(cls) -> ApiError:
        return cls.with_message(401, "Missing API key")

    @classmethod
    def invalid_api_key(cls, profile: Profile = "observed") -> ApiError:
        if profile == "observed":
            return cls(401, OBSERVED_INVALID_KEY_BODY)
        return cls.with_message(401, "Invalid API key")

    @classmethod
    def task_not_found(cls) -> ApiError:
        return cls.with_message(404, "AI resource not found")

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls.with_message(400, message)

    @classmethod
    def invalid_params(cls, problems: Iterable[Problem], profile: Profile = "observed") -> ApiError:
        """A 400 listing ``problems`` in ``profile``'s wording (reasons.py)."""
        return cls(400, invalid_params_body(problems, profile))


# Both close the connection: the unread rest of the body cannot frame a next request.
_CLOSE = {"connection": "close"}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    # Routing errors (unknown path, wrong method): the HTTP phrase, in the API's shape.
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if "Allow" in headers:  # Starlette joins a set: say the methods in one order
        headers["Allow"] = ", ".join(sorted(headers["Allow"].split(", ")))
    return error_response(exc.status_code, exc.detail, headers)


async def _too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    return error_response(413, str(exc), _CLOSE)


async def _timed_out(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTimedOut)
    return error_response(408, str(exc), _CLOSE)


async def _client_left(request: Request, exc: Exception) -> None:
    # The client hung up mid-body: nobody to answer (Starlette sends nothing for None),
    # and not a server error.
    return None


async def _server_error(request: Request, exc: Exception) -> Response:
    # The fake's own failure: the API's 500 body; Starlette re-raises it for the log.
    return error_response(500)


def exception_handlers(profile: Profile) -> dict[Any, ExceptionHandler]:
    """How every failure in a request becomes an answer, for every route alike, in
    ``profile``'s wording."""

    async def request_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestInvalid)
        return ApiError.invalid_params(exc.problems, profile).response()

    return {
        ApiError: _api_error,
        RequestInvalid: request_invalid,
        HTTPException: _http_error,
        BodyTooLarge: _too_large,
        BodyTimedOut: _timed_out,
        ClientDisconnect: cast(ExceptionHandler, _client_left),
        Exception: _server_error,
    }
