"""Limits on what one client can make the fake hold: head size, body size, body time,
JSON nesting.

The fake runs beside other teams' test suites, so a runaway or hostile client must get a
clear JSON error, not an exhausted server:

- A request head (request line and headers) larger than ``max_header_bytes`` gets 431,
  whichever HTTP implementation the server runs (uvicorn applies its own limit with h11
  only, not with httptools).
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

from starlette.types import Message, Receive, Scope

from .config import DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES

__all__ = [
    "MAX_JSON_DEPTH",
    "BodyLimits",
    "BodyTimedOut",
    "BodyTooLarge",
    "too_deep",
]

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


class BodyTooLarge(Exception):
    """The body passed the size limit (answer 413 and close)."""


class BodyTimedOut(Exception):
    """The body did not finish arriving in time (answer 408 and close)."""


class BodyLimits:
    """The head and body size limits and the body-read deadline, for every HTTP request."""

    def __init__(
        self,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.body_timeout = body_timeout
        # Reads under way (reader -> deadline), checked by one watchdog timer every
        # quarter of the timeout (at most 1 s) while requests come: the body has almost
        # always arrived already, and a timer handle per request costs more than the
        # read. A stalled body is refused within a quarter of the timeout past it.
        self._reading: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._reads = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self._watched_loop: asyncio.AbstractEventLoop | None = None
        self._check_every = max(0.001, min(1.0, body_timeout / 4))

    def head_too_large(self, scope: Scope) -> bool:
        """Whether the request line and headers, as sent, pass ``max_header_bytes``."""
        size = len(scope.get("raw_path") or b"") + len(scope["query_string"]) + 16
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4  # ": " and CRLF
        return size > self.max_header_bytes

    def head_too_large_message(self) -> str:
        return f"Request headers are larger than the limit of {self.max_header_bytes} bytes"

    def declared_too_large(self, scope: Scope) -> bool:
        """A declared ``Content-Length`` over the limit: refused before reading anything."""
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    return int(value) > self.max_body_bytes
                except ValueError:
                    return False  # counted while streaming instead
        return False

    def guard(self, receive: Receive) -> Receive:
        """``receive`` that raises :class:`BodyTooLarge` or :class:`BodyTimedOut`.

        The event loop is asked for at the first read, not per request: asking costs a
        system call on Python 3.11, and most reads of the API (GET) read no body.
        """
        received = 0
        body_done = False
        loop: asyncio.AbstractEventLoop | None = None
        deadline = 0.0

        async def guarded() -> Message:
            nonlocal received, body_done, deadline, loop
            if body_done:
                return await receive()  # only http.disconnect is left to wait for
            if loop is None:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self.body_timeout
            reader = asyncio.current_task(loop)
            if reader is None:  # not in a task: nothing to cancel, no deadline
                message = await receive()
            else:
                self._watch(reader, deadline, loop)
                try:
                    message = await receive()
                except asyncio.CancelledError:
                    if reader in self._expired:
                        self._expired.discard(reader)
                        if reader.uncancel() == 0:
                            raise BodyTimedOut(self.timed_out_message()) from None
                    raise
                finally:
                    del self._reading[reader]
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.too_large_message())
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        return guarded

    def _watch(
        self, reader: asyncio.Task[Any], deadline: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._reading[reader] = deadline
        self._reads += 1
        if self._watchdog is None or self._watched_loop is not loop:
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._watched_loop = loop
            self._watchdog = loop.call_later(self._check_every, self._check, loop)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for reader, deadline in list(self._reading.items()):
            if deadline <= now and reader not in self._expired:
                self._expired.add(reader)
                reader.cancel()
        busy, self._reads = bool(self._reading) or self._reads > 0, 0
        # Asleep when no request came since the last check; the next read wakes it.
        self._watchdog = loop.call_later(self._check_every, self._check, loop) if busy else None

    def too_large_message(self) -> str:
        return f"Request body is larger than the limit of {self.max_body_bytes} bytes"

    def timed_out_message(self) -> str:
        return f"Request body not received within {self.body_timeout:g} s"
