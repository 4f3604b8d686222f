"""How every HTTP request is served, step by step, in one place.

1. Limits (``limits.py``): a declared body over the size limit gets 413 before anything
   is read; the body is read through a guard that answers 413 or 408 as it arrives.
2. Faults (``faults.py``), API paths only: rate limits, injected faults, latency.
3. The handler: an API operation's own (``api.py``) when the method and path are one of
   the spec's, straight, without Starlette's routing or request objects (this is the
   hot path); anything else (the control API under ``/_mock``, unknown paths, wrong
   methods) goes to the Starlette app of ``admin.control_app``, built on first use.
4. Journal (``journal.py``), API paths only: what came in and what went out.

An API request that fails in the fake itself gets the API's own 500 body; a client's
mistake never does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import ApiRequest, ApiRoutes, ClientDisconnected
from .errors import ApiError, message_body, send_json
from .faults import CONTROL_PREFIX, ConnectionDropped, FaultGate
from .journal import Journal
from .limits import BodyLimits, BodyTimedOut, BodyTooLarge, refuse

__all__ = ["RequestPipeline"]


class RequestPipeline:
    """The ASGI entry for HTTP requests; ``router`` serves what is not an API operation."""

    def __init__(
        self,
        routes: ApiRoutes,
        router: ASGIApp,
        *,
        limits: BodyLimits,
        gate: FaultGate,
        journal: Journal,
        on_request: Callable[[], asyncio.AbstractEventLoop],
    ) -> None:
        self.routes = routes
        self.router = router
        self.limits = limits
        self.gate = gate
        self.journal = journal
        # Called first on every request: starts the timers in the running event loop,
        # and returns that loop.
        self.on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = self.on_request()
        path: str = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        request = ApiRequest(scope, self.limits.guard(receive, loop), {})
        if path.startswith(CONTROL_PREFIX):
            await self._serve(request, path, send, api=False)
            return
        try:
            request.answered = await self._serve(request, path, send, api=True)
        finally:
            self.journal.record_request(scope, request.answered, request.body_seen)

    async def _serve(self, request: ApiRequest, path: str, send: Send, *, api: bool) -> int | None:
        """Serve one request; the status answered (None: the client left first)."""
        scope = request.scope
        try:
            if self.limits.declared_too_large(scope):
                raise BodyTooLarge
            if not api:
                return await self._route(request, send)
            if self.gate.active:
                status = await self.gate.intercept(scope, send)
                if status is not None:
                    return status
            found = self.routes.match(scope["method"], path)
            if found is None:
                allowed = self.routes.methods_for(path)
                if not allowed:
                    return await self._route(request, send)
                allow = [(b"allow", ", ".join(allowed).encode())]
                return await send_json(send, 405, message_body(405), allow)
            request.path_params = found[1]
            try:
                status, body = await found[0].handler(request)
            except ApiError as exc:
                headers = [
                    (k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in exc.headers.items()
                ]
                return await send_json(send, exc.status, orjson.dumps(exc.body), headers)
            except (BodyTooLarge, BodyTimedOut, ClientDisconnected, ConnectionDropped):
                raise
            except Exception:
                # The fake's own failure: the API's 500 body, then the error for the log.
                request.answered = await send_json(send, 500, message_body(500))
                raise
            return await send_json(send, status, body)
        except BodyTooLarge:
            return await refuse(send, 413, self.limits.too_large_message())
        except BodyTimedOut:
            return await refuse(send, 408, self.limits.timed_out_message())
        except ClientDisconnected:
            return None  # the client hung up mid-body: nobody to answer, not a server error

    async def _route(self, request: ApiRequest, send: Send) -> int | None:
        """Hand a request to ``router`` (the control API, unknown paths)."""
        started: list[int] = []

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(message["status"])
            await send(message)

        await self.router(request.scope, request.receive, tracking_send)
        return started[0] if started else None
