"""The app factory: spec + config in, a Starlette app out, with no state shared between
apps.

The app is a plain ``starlette.applications.Starlette``: the spec's operations and the
control API are its routes, the journal, body limits and faults are middleware in its
stack, and one exception mapping (``errors.exception_handlers``) answers every failure.
Users extend it the Starlette way (``app.add_middleware``, ``app.router.routes``, or
``Mount`` it inside their own app).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .api import api_routes
from .config import MockConfig
from .control_api import control_routes
from .errors import exception_handlers
from .faults import FaultGate
from .limits import BodyLimits
from .middleware import ApiMiddleware, FaultMiddleware, LimitsMiddleware
from .runtime import MockRuntime
from .spec import load_spec
from .tasks import TaskStore

__all__ = ["create_app"]


class _StartOnFirstRequest:
    """Starts the runtime's timers in the event loop that serves the request.

    A server sends lifespan events, and the lifespan starts them; in-process clients
    (httpx's ASGI transport, respx) send none, so the first request does it, and again
    in each new event loop (each ``asyncio.run``).
    """

    def __init__(self, app: ASGIApp, runtime: MockRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.runtime.ensure_started()
        await self.app(scope, receive, send)


def create_app(config: MockConfig | None = None, *, store: TaskStore | None = None) -> Starlette:
    """Build a fake Freepik API from ``config`` (defaults: vendored spec, any key works).

    What one fake holds (store, clock, lifecycle, webhooks, faults, journal) is
    ``app.state.mock``, a :class:`~mockserver.runtime.MockRuntime`.
    """
    config = config or MockConfig()
    runtime = MockRuntime(config, load_spec(config.spec_dir), store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Start the timers with the server; stop them, webhooks and the state file with it.
        runtime.ensure_started()
        try:
            yield
        finally:
            await runtime.shutdown()

    app = Starlette(
        routes=[*api_routes(runtime), *control_routes()],
        middleware=[
            Middleware(_StartOnFirstRequest, runtime=runtime),
            Middleware(ApiMiddleware, journal=runtime.journal),
            Middleware(
                LimitsMiddleware,
                limits=BodyLimits(
                    max_body_bytes=config.max_body_bytes,
                    body_timeout=config.body_timeout,
                    max_header_bytes=config.max_header_bytes,
                ),
            ),
            Middleware(
                FaultMiddleware,
                gate=FaultGate(
                    runtime.faults, latency_ms=config.latency_ms, rate_limiter=runtime.rate_limiter
                ),
            ),
        ],
        exception_handlers=exception_handlers(config.profile),
        lifespan=lifespan,
    )
    # An unknown path is a JSON 404, never an empty 307 to a neighbour with(out) a slash.
    app.router.redirect_slashes = False
    app.state.mock = runtime
    return app
