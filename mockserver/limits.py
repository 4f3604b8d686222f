"""Limits on what one client can make the fake hold: body size, body time, JSON nesting.

The fake runs beside other teams' test suites, so a runaway or hostile client must get a
clear JSON error, not an exhausted server:

- A body larger than ``max_body_bytes`` gets 413. A declared ``Content-Length`` over the
  limit is refused before any of the body is read; a chunked body is counted as it
  arrives and refused the moment it passes the limit, without reading the rest.
- A body that does not finish arriving within ``body_timeout`` seconds of the app's first
  read gets 408 (uvicorn has no read timeout of its own for a stalled body). The clock
  starts at the first read, so added latency and faults do not count against it.
- JSON nested deeper than :data:`MAX_JSON_DEPTH` is refused by the parsers that call
  :func:`too_deep` (the stored request is re-encoded later, and encoders stop at a depth).

Both 413 and 408 close the connection: the unread rest of the body cannot be trusted to
frame a next request. A client that hangs up in the middle of its body gets nothing and
leaves no error behind.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "LimitsMiddleware",
    "too_deep",
]

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
DEFAULT_BODY_TIMEOUT: Final = 30.0
# Far beyond any real request (the API's bodies are flat objects) and well within what
# orjson encodes (254 levels) once the request is wrapped in a control-API view.
MAX_JSON_DEPTH: Final = 128


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON ``value`` nests arrays/objects more than ``limit`` levels."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class _BodyTooLarge(Exception):
    pass


class _BodyTimedOut(Exception):
    pass


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # counted while streaming instead
    return None


class LimitsMiddleware:
    """Enforces the body size limit and the body-read deadline on every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, 413, self._too_large_message())
            return
        received = 0
        body_done = False
        deadline: float | None = None
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, deadline
            if body_done:
                return await receive()  # only http.disconnect is left to wait for
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.body_timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTimedOut from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if response_started:
                raise
            await self._refuse(send, 413, self._too_large_message())
        except _BodyTimedOut:
            if response_started:
                raise
            message = f"Request body not received within {self.body_timeout:g} s"
            await self._refuse(send, 408, message)
        except ClientDisconnect:
            # The client hung up mid-body: nobody to answer, and not a server error.
            if response_started:
                raise

    def _too_large_message(self) -> str:
        return f"Request body is larger than the limit of {self.max_body_bytes} bytes"

    @staticmethod
    async def _refuse(send: Send, status: int, message: str) -> None:
        body = orjson.dumps({"message": message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
