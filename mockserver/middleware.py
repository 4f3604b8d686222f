"""The fake's middleware in Starlette's stack, outermost first: the API's own (the live
API's headers and the journal), the body limits, the faults. Each is a plain ASGI
middleware over the object that does the work (``journal.Journal``,
``limits.BodyLimits``, ``faults.FaultGate``), so that nothing but a request's own cost
is paid when a concern is idle.

Headers, the journal and the faults see API requests only: control traffic under
``/_mock`` gets none of the API's headers, and is neither recorded nor faulted. The limits
apply to every request. Whether a request is the API's, and its path below the mount
point, are decided once, by :class:`ApiMiddleware`, and kept in the scope
(:func:`is_api`, :func:`route_path`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .constants import CONTROL_PREFIX, DROP_EXTENSION, REQUEST_ID_KEY, RUNTIME_KEY
from .errors import error_response
from .faults import ConnectionDropped, FaultGate, RateLimiter
from .journal import BODY_LIMIT
from .limits import BodyLimits

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = [
    "ApiMiddleware",
    "FaultMiddleware",
    "LimitsMiddleware",
    "is_api",
    "route_path",
]

# Where ApiMiddleware keeps what it decided of a request, in its ASGI scope.
_ROUTE_PATH_KEY: Final = "freepik_mock.route_path"
_IS_API_KEY: Final = "freepik_mock.is_api"


def route_path(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``)."""
    known: str | None = scope.get(_ROUTE_PATH_KEY)
    return _below_root(scope) if known is None else known


def _below_root(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def is_api(scope: Scope) -> bool:
    """Whether the request is one of the API's (an HTTP request outside ``/_mock``)."""
    known: bool | None = scope.get(_IS_API_KEY)
    if known is not None:
        return known
    return scope["type"] == "http" and not route_path(scope).startswith(CONTROL_PREFIX)


_log = logging.getLogger("freepik_mock")

# Sent on every API answer, as the live API sends them (facts file, "Headers").
_NO_CACHE = [(b"cache-control", b"max-age=0, no-cache, no-store"), (b"pragma", b"no-cache")]


class ApiMiddleware:
    """Decides once whether a request is the API's; an API request gets ``x-request-id:
    ak-<32 hex>`` (unique per request) and the no-cache headers (``cache-control``,
    ``pragma``, ``expires`` set to now) on its answer, and is noted in the journal with
    the status it was answered with and its body's start (in the journal of the
    request's namespace) and counted in the metrics.

    One wrapper for both, since both wrap the same two calls of every API request."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics
        # Unique, not secret: one generator seeded from the OS, no system call per id.
        self._bits = random.Random().getrandbits
        self._second = 0
        self._expires = b""

    def _now(self) -> bytes:
        second = int(time.time())
        if second != self._second:  # an HTTP date changes once a second
            self._second = second
            self._expires = formatdate(second, usegmt=True).encode()
        return self._expires

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Decided afresh: a scope passed on from an enclosing app may carry its decision.
        path = scope[_ROUTE_PATH_KEY] = _below_root(scope)
        if path.startswith(CONTROL_PREFIX):
            scope[_IS_API_KEY] = False
            await self.app(scope, receive, send)
            return
        scope[_IS_API_KEY] = True
        started = time.perf_counter()
        request_id = b"ak-%032x" % self._bits(128)
        scope[REQUEST_ID_KEY] = request_id.decode()
        seen: list[bytes] = []
        kept = 0
        answered: int | None = None

        async def receive_noted() -> Message:
            nonlocal kept
            message = await receive()
            if message["type"] == "http.request" and kept < BODY_LIMIT:
                chunk = message.get("body", b"")[: BODY_LIMIT - kept]
                seen.append(chunk)
                kept += len(chunk)
            return message

        async def send_noted(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = message["status"]
                headers = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id),
                    *_NO_CACHE,
                    (b"expires", self._now()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive_noted, send_noted)
        except ConnectionDropped:
            answered = None  # nothing complete was answered
            raise
        except Exception:
            # Starlette's outermost middleware answers what nothing handled with a 500.
            answered = 500 if answered is None else answered
            raise
        finally:
            runtime = scope[RUNTIME_KEY]
            runtime.journal.record_request(scope, answered, b"".join(seen))
            if self.metrics is not None:
                self.metrics.observe(
                    scope, answered, time.perf_counter() - started, runtime.namespace
                )


class LimitsMiddleware:
    """A head over its size limit gets 431 and a declared body over the size limit 413,
    before anything is read; the body is
    read through a guard that raises ``BodyTooLarge`` or ``BodyTimedOut`` as it arrives
    (``errors.exception_handlers`` answers them)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        if limits.head_too_large(scope):
            refusal = error_response(431, limits.head_too_large_message(), {"connection": "close"})
            await refusal(scope, receive, send)
            return
        if limits.declared_too_large(scope):
            refusal = error_response(413, limits.too_large_message(), {"connection": "close"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, limits.guard(receive), send)


class FaultMiddleware:
    """Rate limits, injected faults and added latency of the request's namespace, before
    an API request is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = scope.get(RUNTIME_KEY)  # none in a lifespan scope
        gate: FaultGate | None = runtime.fault_gate if runtime is not None else None
        if gate is None or not gate.active or not is_api(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        client_host = client[0] if client else "unknown"
        limiter = gate.rate_limiter
        if limiter is not None:
            send = _with_rate_limit_headers(send, limiter, client_host)
        try:
            status = await gate.intercept(scope["method"], route_path(scope), client_host)
        except ConnectionDropped as exc:
            drop = scope.get("extensions", {}).get(DROP_EXTENSION)
            if drop is None:
                raise  # in-process: the client sees the exception
            # Served: the connection closes before any byte of an answer, one log line.
            drop()
            await asyncio.sleep(0)  # the server hears of the lost connection first
            _log.warning("%s %s: %s", scope["method"], route_path(scope), exc)
            return
        if status is None:
            await self.app(scope, receive, send)
        else:
            await error_response(status)(scope, receive, send)


def _with_rate_limit_headers(send: Send, limiter: RateLimiter, client: str) -> Send:
    async def send_with_limits(message: Message) -> None:
        if message["type"] == "http.response.start":
            limits = limiter.headers(client, refused=message["status"] == 429)
            headers = [*message.get("headers", ()), *limits]
            message = {**message, "headers": headers}
        await send(message)

    return send_with_limits
