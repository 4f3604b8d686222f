"""Test harnesses: the fake in-process behind a respx router, or as a live server.

:class:`FreepikMock` serves the fake to the httpx clients of the code under test with no
socket: a respx router sends ``https://api.freepik.com/v1/ai/reference-to-video/...``
(and the ``/_mock/...`` URLs results point to) into the app. The app runs in an event
loop of its own, on a background thread, for the handle's whole life, so background
work (webhook deliveries, retries) keeps going between requests, and sync and async
clients can share one fake in one test. The clock is manual unless asked otherwise.

:class:`FreepikMockServer` is the same fake behind a real server on a free loopback
port, for clients that do not use httpx (requests, aiohttp, another process).

Both are :class:`~mockserver.control.MockControl`\\ s and context managers; the pytest
plugin (:mod:`mockserver.pytest_plugin`) only wraps them in fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Self

import anyio.from_thread
import anyio.to_thread
import httpx
import respx
import uvicorn
from respx.models import AllMockedAssertionError
from starlette.types import ASGIApp

from .app import create_app
from .config import MockConfig
from .control import MockControl
from .droppable import protocol_class
from .faults import ConnectionDropped
from .webhooks import is_loopback_host

__all__ = ["DEFAULT_BASE_URL", "FreepikMock", "FreepikMockServer"]

DEFAULT_BASE_URL = "https://api.freepik.com"
API_PREFIX = "/v1/ai/reference-to-video/"
MOCK_PREFIX = "/_mock/"

# Whether the request being routed came from an async client (set by the router).
_async_client: ContextVar[bool] = ContextVar("freepik_mock_async_client", default=False)


def _build_config(
    config: MockConfig | None = None, settings: Mapping[str, Any] | None = None
) -> MockConfig:
    """``config`` (default: a manual clock) with ``settings`` applied; lists become tuples."""
    settings = settings or {}
    names = {f.name for f in dataclasses.fields(MockConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise TypeError(
            f"unknown freepik_mock setting(s) {', '.join(unknown)}; "
            f"MockConfig fields are: {', '.join(sorted(names))} (the in-process fake "
            "also takes base_url, webhook_app, passthrough_unmatched)"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return (config or MockConfig(clock="manual")).replace(**values)


class _AppBridge:
    """An ASGI app served in an event loop on its own thread, reachable from any thread
    and any event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._loop_thread: int | None = None

    def start(self) -> None:
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._loop_thread = self._portal.call(threading.get_ident)

    def stop(self, *cleanups: Any) -> None:
        """Run ``cleanups`` (coroutine functions) in the app's loop, then end it."""
        try:
            if self._portal is not None:
                for cleanup in cleanups:
                    self._portal.call(cleanup)
        finally:
            self._stack.close()
            self._portal = None

    @property
    def portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            raise RuntimeError("the fake is not running: use the handle as a context manager")
        return self._portal

    def _in_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    async def _forward(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self._transport.handle_async_request(request)
        except ConnectionDropped as exc:
            # What an httpx client sees when a server drops the connection.
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request``, blocking the calling thread until the response is ready."""
        if self._in_loop():
            raise RuntimeError(
                "a synchronous HTTP call to the fake from inside its own event loop (an "
                "async webhook handler?) would block that loop; use an async client there"
            )
        request.read()
        return self.portal.call(self._forward, request)

    async def send_async(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` without blocking the caller's event loop."""
        if self._in_loop():
            return await self._forward(request)
        future: Future[httpx.Response] = self.portal.start_task_soon(self._forward, request)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): wait in a worker thread
            return await anyio.to_thread.run_sync(future.result)
        return await asyncio.wrap_future(future)


class _BridgeTransport(httpx.BaseTransport):
    """A sync httpx transport into the app, for the handle's own control calls."""

    def __init__(self, bridge: _AppBridge) -> None:
        self._bridge = bridge

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._bridge.send(request)


class _WebhookTransport(httpx.AsyncBaseTransport):
    """Where the fake's webhooks go: into the app under test when it is set, otherwise
    to the URL itself, which must be loopback or allowed (as the standalone server
    requires)."""

    def __init__(self, app: ASGIApp | None, allowed_hosts: tuple[str, ...], allow_any: bool):
        self.app = app
        self._allowed = {host.lower() for host in allowed_hosts}
        self._allow_any = allow_any
        self._network: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.app is not None:
            return await httpx.ASGITransport(app=self.app).handle_async_request(request)
        host = request.url.host.lower()
        if not (self._allow_any or host in self._allowed or is_loopback_host(host)):
            raise httpx.ConnectError(
                f"refused: host {host!r} is not loopback and not allowed; "
                "deliver_webhooks_to(app) delivers into an ASGI app instead",
                request=request,
            )
        if self._network is None:
            self._network = httpx.AsyncHTTPTransport()
        return await self._network.handle_async_request(request)

    async def aclose(self) -> None:
        if self._network is not None:
            await self._network.aclose()
            self._network = None


class _FreepikRouter(respx.MockRouter):
    """A respx router that goes first and leaves everything it does not serve to the
    test's own routers; alone, it lets loopback through and fails (or passes) the rest."""

    def __init__(self, *, passthrough_unmatched: bool) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self.passthrough_unmatched = passthrough_unmatched

    def start(self) -> None:
        super().start()
        # respx asks routers in registration order and a non-strict router answers every
        # request; going first keeps the fake reachable whatever routers the test adds.
        if self.Mocker is not None:
            self.Mocker.routers.remove(self)
            self.Mocker.routers.insert(0, self)

    def others_active(self) -> bool:
        return self.Mocker is not None and any(r is not self for r in self.Mocker.routers)

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = _async_client.set(False)
        try:
            return super().handler(request)
        finally:
            _async_client.reset(token)

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        token = _async_client.set(True)
        try:
            return await super().async_handler(request)
        finally:
            _async_client.reset(token)


class FreepikMock(MockControl):
    """The fake, in-process, for httpx clients (sync and async), with its control API.

    ``settings`` are :class:`~mockserver.config.MockConfig` fields applied over
    ``config`` (default: a manual clock). ``base_url`` is the API host the code under
    test calls. ``webhook_app`` (or :meth:`deliver_webhooks_to`) receives webhooks
    in-process, whatever host their URL names. Requests to other hosts fail unless
    ``passthrough_unmatched``; loopback always passes, and when the test has respx
    routers of its own, they decide.
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        webhook_app: ASGIApp | None = None,
        passthrough_unmatched: bool = False,
        **settings: Any,
    ) -> None:
        config = _build_config(config, settings)
        self._webhooks: _WebhookTransport | None = None
        if config.webhook_transport is None:
            self._webhooks = _WebhookTransport(
                webhook_app, config.webhook_allow, config.webhook_allow_any
            )
            # The transport enforces the allowed hosts itself, so that an ASGI app set
            # later still receives webhooks sent to any host.
            config = config.replace(webhook_transport=self._webhooks, webhook_allow_any=True)
        elif webhook_app is not None:
            raise ValueError("give either webhook_app or config.webhook_transport, not both")
        self.config = config
        self.base_url = base_url.rstrip("/")
        self.app = create_app(config)
        self._bridge = _AppBridge(self.app)
        self.router = _FreepikRouter(passthrough_unmatched=passthrough_unmatched)
        self.router.route(url__startswith=self.base_url + API_PREFIX, name="api").mock(
            side_effect=self._serve
        )
        self.router.route(url__startswith=self.base_url + MOCK_PREFIX, name="mock").mock(
            side_effect=self._serve
        )
        self.router.route(name="unmatched").mock(side_effect=self._unmatched)
        http = httpx.Client(base_url=self.base_url, transport=_BridgeTransport(self._bridge))
        super().__init__(http, admin_token=config.admin_token)

    def __repr__(self) -> str:
        return f"FreepikMock(base_url={self.base_url!r}, config={self.config!r})"

    def _serve(self, request: httpx.Request) -> Any:
        if _async_client.get():
            return self._bridge.send_async(request)
        return self._bridge.send(request)

    def _unmatched(self, request: httpx.Request) -> httpx.Request | None:
        if self.router.others_active():
            return None  # not ours: the test's own routers decide
        if self.router.passthrough_unmatched or is_loopback_host(request.url.host):
            return request  # respx: pass through to the network
        raise AllMockedAssertionError(
            f"freepik_mock: {request.method} {request.url} is not a Freepik API request and "
            "would leave the machine; mock it with respx, or set passthrough_unmatched=True"
        )

    def deliver_webhooks_to(self, app: ASGIApp | None) -> None:
        """Deliver webhooks into ``app`` (Starlette, FastAPI, ...), in-process, whatever
        host their URL names; ``None`` sends them to their URL again."""
        if self._webhooks is None:
            raise RuntimeError("webhooks go to the config's own webhook_transport")
        self._webhooks.app = app

    def start(self) -> Self:
        self._bridge.start()
        self.router.start()
        return self

    def stop(self) -> None:
        try:
            self.router.stop(quiet=True)
            self._http.close()
        finally:
            self._bridge.stop(self.app.state.mock.shutdown)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(uvicorn.Server):
    """A uvicorn server that says when it is accepting connections (or gave up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class FreepikMockServer(MockControl):
    """The fake behind a real HTTP server on a free 127.0.0.1 port (``base_url``), in a
    background thread, for any client. ``settings`` as for :class:`FreepikMock`."""

    def __init__(self, config: MockConfig | None = None, **settings: Any) -> None:
        config = _build_config(config, settings).replace(host="127.0.0.1", port=0)
        self.config = config
        self.app = create_app(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._server = _Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=5,
                http=protocol_class(config.http),  # drop faults drop the connection
            )
        )
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"freepik-mock-server-{port}",
            daemon=True,
        )
        super().__init__(
            httpx.Client(base_url=self.base_url, trust_env=False), admin_token=config.admin_token
        )

    def __repr__(self) -> str:
        return f"FreepikMockServer(base_url={self.base_url!r}, config={self.config!r})"

    def start(self) -> Self:
        self._thread.start()
        if not self._server.ready.wait(30) or not self._server.started:
            self.stop()
            raise RuntimeError(f"the fake's server did not start on {self.base_url}")
        return self

    def stop(self) -> None:
        self._http.close()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
