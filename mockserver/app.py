"""The app factory: spec + config in, a Starlette app out, with no state shared between
apps.

The app is a plain ``starlette.applications.Starlette``: the spec's operations and the
control API are its routes (in a ``routing.IndexedRouter``, a ``Router`` that finds them
by path), the journal, body limits and faults are middleware in its
stack, and one exception mapping (``errors.exception_handlers``) answers every failure.
Users extend it the Starlette way (``app.add_middleware``, ``app.router.routes``, or
``Mount`` it inside their own app).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .api import api_routes
from .config import MockConfig
from .control_api import control_routes
from .errors import exception_handlers
from .limits import BodyLimits
from .metrics import Metrics
from .middleware import ApiMiddleware, FaultMiddleware, LimitsMiddleware
from .namespaces import NamespaceMiddleware, Namespaces
from .routing import IndexedRouter
from .runtime import ApiModel, MockRuntime
from .spec import load_spec
from .tasks import TaskStore

__all__ = ["create_app"]


def create_app(config: MockConfig | None = None, *, store: TaskStore | None = None) -> Starlette:
    """Build a fake Freepik API from ``config`` (defaults: vendored spec, any key works).

    What one fake holds (store, clock, lifecycle, webhooks, faults, journal) is
    ``app.state.mock``, a :class:`~mockserver.runtime.MockRuntime`: the default
    namespace's. Every namespace's is in ``app.state.namespaces``
    (:class:`~mockserver.namespaces.Namespaces`).
    """
    config = config or MockConfig()
    model = ApiModel(config, load_spec(config.spec_dir))
    runtime = MockRuntime(config, model, store)
    namespaces = Namespaces(config, model, runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Start the timers with the server; stop every namespace's timers, webhooks
        # and the state file with it.
        runtime.ensure_started()
        try:
            yield
        finally:
            await namespaces.shutdown()

    routes = api_routes(model)
    metrics = Metrics(routes, lambda: tuple(namespaces))
    app = Starlette(
        middleware=[
            Middleware(NamespaceMiddleware, namespaces=namespaces),
            Middleware(ApiMiddleware, metrics=metrics),
            Middleware(
                LimitsMiddleware,
                limits=BodyLimits(
                    max_body_bytes=config.max_body_bytes,
                    body_timeout=config.body_timeout,
                    max_header_bytes=config.max_header_bytes,
                ),
            ),
            Middleware(FaultMiddleware),
        ],
        exception_handlers=exception_handlers(config.profile),
    )
    # Routes tried by their paths' literal start, not one by one (a whole upstream spec
    # has hundreds). An unknown path is a JSON 404, never an empty 307 to a neighbour
    # with(out) a slash.
    app.router = IndexedRouter(
        [*routes, *control_routes()], redirect_slashes=False, lifespan=lifespan
    )
    app.state.mock = runtime
    app.state.namespaces = namespaces
    app.state.metrics = metrics
    return app
