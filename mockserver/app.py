"""The app factory: spec + config in, an ASGI app out, with no state shared between apps.

Serving the API needs none of Starlette's applications, routing, requests or responses
(the pipeline serves it from the ASGI messages), and importing them was a fifth of
``serve``'s start-up: the Starlette app that serves the control API and answers unknown
paths (``admin.control_app``) is imported and built on the first request it gets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from .api import ApiRoute, ApiRoutes, handler_for
from .config import MockConfig
from .faults import FaultGate
from .limits import BodyLimits
from .pipeline import RequestPipeline
from .runtime import MockRuntime, fixtures_media_dir
from .spec import load_spec
from .tasks import TaskStore

if TYPE_CHECKING:
    from starlette.types import Message

__all__ = ["AppState", "MockApp", "MockRuntime", "create_app", "fixtures_media_dir"]


class AppState:
    """``app.state``: what handlers reach through ``request.app`` (Starlette's habit)."""

    def __init__(self, mock: MockRuntime) -> None:
        self.mock = mock


class MockApp:
    """The fake, an ASGI app. HTTP requests go through the :class:`RequestPipeline`,
    which serves the API's operations itself and hands the rest to :meth:`route`."""

    def __init__(self, runtime: MockRuntime, routes: ApiRoutes) -> None:
        config = runtime.config
        self.state = AppState(runtime)
        self.pipeline = RequestPipeline(
            routes,
            self.route,
            limits=BodyLimits(
                max_body_bytes=config.max_body_bytes, body_timeout=config.body_timeout
            ),
            gate=FaultGate(
                runtime.faults, latency_ms=config.latency_ms, rate_limiter=runtime.rate_limiter
            ),
            journal=runtime.journal,
            on_request=runtime.ensure_started,
        )
        self._control: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["app"] = self
            await self.pipeline(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.route(scope, receive, send)

    async def route(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The control API and unknown paths: a Starlette app, built on first use."""
        control = self._control
        if control is None:
            from .admin import control_app

            control = self._control = control_app(self.state.mock)
        await control(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # Start the timers with the server (in-process clients send no lifespan events:
        # the first request does it); stop them, webhooks and the state file with it.
        runtime = self.state.mock
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                reply: Message = {"type": "lifespan.startup.complete"}
                try:
                    runtime.ensure_started()
                except Exception as exc:
                    # The server reports it and exits; nothing more will come.
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send(reply)
            elif message["type"] == "lifespan.shutdown":
                reply = {"type": "lifespan.shutdown.complete"}
                try:
                    await runtime.shutdown()
                except Exception as exc:
                    reply = {"type": "lifespan.shutdown.failed", "message": repr(exc)}
                await send(reply)
                return


def create_app(config: MockConfig | None = None, *, store: TaskStore | None = None) -> MockApp:
    """Build a fake Freepik API from ``config`` (defaults: vendored spec, any key works)."""
    config = config or MockConfig()
    spec = load_spec(config.spec_dir)
    runtime = MockRuntime(config, spec, store)
    api_routes: list[ApiRoute] = []
    for operation in spec:
        handler = handler_for(runtime, operation, runtime.validators[operation.operation_id])
        if handler is not None:
            api_routes.append(ApiRoute(operation, handler))
    return MockApp(runtime, ApiRoutes(api_routes))
