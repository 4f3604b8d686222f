"""The fake's middleware in Starlette's stack, outermost first: the journal, the body
limits, the faults. Each is a plain ASGI middleware over the object that does the work
(``journal.Journal``, ``limits.BodyLimits``, ``faults.FaultGate``), so that nothing but a
request's own cost is paid when a concern is idle.

The journal and the faults see API requests only: control traffic under ``/_mock`` is
neither recorded nor faulted. The limits apply to every request.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .constants import CONTROL_PREFIX
from .errors import error_response
from .faults import ConnectionDropped, FaultGate
from .journal import BODY_LIMIT, Journal
from .limits import BodyLimits

__all__ = ["FaultMiddleware", "JournalMiddleware", "LimitsMiddleware", "route_path"]


def route_path(scope: Scope) -> str:
    """The request's path below the app's mount point (``root_path``)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :]
    return path


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and not route_path(scope).startswith(CONTROL_PREFIX)


class JournalMiddleware:
    """Notes each API request with the status it was answered with and its body's start."""

    def __init__(self, app: ASGIApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
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
            self.journal.record_request(scope, answered, b"".join(seen))


class LimitsMiddleware:
    """A declared body over the size limit gets 413 before anything is read; the body is
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
        if limits.declared_too_large(scope):
            refusal = error_response(413, limits.too_large_message(), {"connection": "close"})
            await refusal(scope, receive, send)
            return
        await self.app(scope, limits.guard(receive, asyncio.get_running_loop()), send)


class FaultMiddleware:
    """Rate limits, injected faults and added latency, before an API request is served."""

    def __init__(self, app: ASGIApp, gate: FaultGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = self.gate
        if not gate.active or not _is_api(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            status = await gate.intercept(
                scope["method"], route_path(scope), client[0] if client else "unknown"
            )
        except ConnectionDropped:
            # Headers promising a body that never comes: the client sees a broken
            # connection, which is what a dropped request looks like from outside.
            start = {"type": "http.response.start", "status": 200}
            await send({**start, "headers": [(b"content-length", b"1024")]})
            raise
        if status is None:
            await self.app(scope, receive, send)
        else:
            await error_response(status)(scope, receive, send)
