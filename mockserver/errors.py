"""The error bodies the real API sends, and the one exception that carries them.

Bodies follow ``shared/docs/freepik-facts.md`` to the letter: clients match on these
strings, so a fake that words them differently is a fake that lies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson

from .reasons import Profile, invalid_params_body

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import Send

    from .validation import Problem

__all__ = [
    "ApiError",
    "json_response",
    "message_body",
    "message_for_status",
    "send_json",
]

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


def message_body(status: int, message: str | None = None) -> bytes:
    """``{"message": ...}``: ``message``, or the API's own for ``status``."""
    return orjson.dumps({"message": message or message_for_status(status)})


_JSON_TYPE = (b"content-type", b"application/json")


async def send_json(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> int:
    """Answer ``status`` with the JSON ``body`` straight over ASGI (the pipeline, limits
    and faults answer so, without Starlette's responses); returns ``status``."""
    raw_headers = [_JSON_TYPE, (b"content-length", b"%d" % len(body))]
    if headers:
        raw_headers += headers
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
    return status


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A Starlette response in the API's shape (the control API's and its error pages';
    the API's own answers are bytes from the pipeline, so serving never imports this)."""
    from starlette.responses import Response

    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


class ApiError(Exception):
    """Raised anywhere in a request; rendered as the API's JSON error body."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, body.get("message"))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)

    @classmethod
    def with_message(cls, status: int, message: str | None = None) -> ApiError:
        return cls(status, {"message": message or message_for_status(status)})

    @classmethod
    def missing_api_key(cls) -> ApiError:
        return cls.with_message(401, "Missing API key")

    @classmethod
    def invalid_api_key(cls) -> ApiError:
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
