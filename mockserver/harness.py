"""What the test harnesses of ``testing.py`` are built from: the app served in an event
loop of its own, the httpx transports and the respx router that reach it, and a uvicorn
server that says when it listens.

This is the one module of the kit that imports httpx, respx, anyio's thread portals and
uvicorn at its top: ``testing.py`` imports it only when a harness is built, so that
``import mockserver`` (and ``freepik-mock serve``) pays for none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import MutableMapping
from concurrent.futures import Future
from contextvars import ContextVar
from typing import Any

import anyio.from_thread
import anyio.to_thread
import httpx
import respx
import uvicorn
from respx.models import AllMockedAssertionError
from starlette.types import ASGIApp

from .constants import CONTROL_PREFIX, NAMESPACE_HEADER
from .faults import ConnectionDropped
from .hosts import WebhookHostPolicy, is_loopback_host

__all__ = [
    "API_PREFIX",
    "AppBridge",
    "BridgeClient",
    "BridgeTransport",
    "FreepikRouter",
    "ReadyServer",
    "UnmatchedGuard",
    "WebhookTransport",
]

# The API's own paths, below the base URL the code under test calls.
API_PREFIX = "/v1/ai/reference-to-video/"

# Whether the request being routed came from an async client (set by the router).
_async_client: ContextVar[bool] = ContextVar("freepik_mock_async_client", default=False)

# The client address the app sees, as httpx.ASGITransport gives it.
_CLIENT = ("127.0.0.1", 123)


class AppBridge:
    """An ASGI app served in an event loop on its own thread, reachable from any thread
    and any event loop; requests naming no namespace are served in ``namespace``."""

    def __init__(self, app: ASGIApp, namespace: str | None = None) -> None:
        self._app = app
        self._namespace = namespace
        self._stack = contextlib.ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def start(self) -> None:
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._loop = self._portal.call(asyncio.get_running_loop)
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
            self._loop = None

    def _in_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def _submit(self, request: httpx.Request) -> Future[httpx.Response]:
        # Straight onto the app's loop (one wake-up each way), not through the portal's
        # task group, which costs as much again per call.
        if self._loop is None:
            raise RuntimeError("the fake is not running: use the handle as a context manager")
        return asyncio.run_coroutine_threadsafe(self.serve(request), self._loop)

    async def serve(self, request: httpx.Request) -> httpx.Response:
        """Drive the app with ``request`` (read already) in the running loop, the app's.

        What ``httpx.ASGITransport`` does, less what only a streaming client needs: the
        body is whole, so the answer is built once, readable by sync and async clients.
        """
        headers = [(k.lower(), v) for k, v in request.headers.raw]
        if self._namespace is not None and NAMESPACE_HEADER not in request.headers:
            headers.append((NAMESPACE_HEADER.encode(), self._namespace.encode()))
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": headers,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port),
            "client": _CLIENT,
            "root_path": "",
        }
        body = request.content
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        parts: list[bytes] = []
        done: asyncio.Event | None = None
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received, done
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            # Asked again: the client is gone once the answer is complete.
            if done is None:
                done = asyncio.Event()
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                if chunk and request.method != "HEAD":
                    parts.append(chunk)
                if not message.get("more_body", False) and done is not None:
                    done.set()

        try:
            await self._app(scope, receive, send)
        except ConnectionDropped as exc:
            # What an httpx client sees when a server drops the connection.
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        finally:
            if done is not None:
                done.set()
        return httpx.Response(
            status, headers=response_headers, content=b"".join(parts), request=request
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request``, blocking the calling thread until the response is ready."""
        if self._in_loop():
            raise RuntimeError(
                "a synchronous HTTP call to the fake from inside its own event loop (an "
                "async webhook handler?) would block that loop; use an async client there"
            )
        request.read()
        return self._submit(request).result()

    async def send_async(self, request: httpx.Request) -> httpx.Response:
        """Serve ``request`` without blocking the caller's event loop."""
        if self._in_loop():
            return await self.serve(request)
        await request.aread()
        future = self._submit(request)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): wait in a worker thread
            return await anyio.to_thread.run_sync(future.result)
        return await asyncio.wrap_future(future)


class BridgeTransport(httpx.BaseTransport):
    """A sync httpx transport into the app, for the handle's own control calls."""

    def __init__(self, bridge: AppBridge) -> None:
        self._bridge = bridge

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._bridge.send(request)


class BridgeClient(httpx.Client):
    """The handle's own client, for its control calls: always its own transport."""

    def _transport_for_url(self, url: httpx.URL) -> httpx.BaseTransport:
        # respx's httpx mocker patches this method of httpx.Client, which would route
        # these calls through FreepikRouter and count them among the code under test's.
        return self._transport


class WebhookTransport(httpx.AsyncBaseTransport):
    """Where the fake's webhooks go: into the app under test when it is set, otherwise
    to the URL itself, whose host ``hosts`` must allow (as the standalone server
    requires)."""

    def __init__(self, app: ASGIApp | None, hosts: WebhookHostPolicy) -> None:
        self.app = app
        self.hosts = hosts
        self._network: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.app is not None:
            return await httpx.ASGITransport(app=self.app).handle_async_request(request)
        host = request.url.host.lower()
        if not self.hosts.allows(host):
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


class FreepikRouter(respx.MockRouter):
    """A respx router that serves the API and ``/_mock`` under ``base_url`` from
    ``bridge``, goes first and leaves everything else to the test's own routers; alone,
    it lets loopback through and fails (or, with ``passthrough_unmatched``, passes) the
    rest.

    It answers in httpx's clients (respx's ``httpx`` mocker), before a request becomes
    httpcore's and back, which would cost as much again as the app; what is not the
    fake's goes on to the client's own transport, and what would reach the network
    meets :class:`UnmatchedGuard` there, where the test's own respx routers are asked.
    """

    def __init__(self, bridge: AppBridge, base_url: str, *, passthrough_unmatched: bool) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True, using="httpx")
        self.unmatched = UnmatchedGuard(passthrough_unmatched=passthrough_unmatched)

        def serve(request: httpx.Request) -> Any:
            # The response for a sync client, an awaitable of it for an async one (as
            # the handler that called says). A plain function: respx reads a side
            # effect's signature on every call, a bound method's costs twice as much.
            if _async_client.get():
                return bridge.send_async(request)
            return bridge.send(request)

        self.route(url__startswith=base_url + API_PREFIX, name="api").mock(side_effect=serve)
        self.route(url__startswith=base_url + CONTROL_PREFIX + "/", name="mock").mock(
            side_effect=serve
        )
        self.route(name="elsewhere").mock(side_effect=self._elsewhere)

    @property
    def passthrough_unmatched(self) -> bool:
        return self.unmatched.passthrough_unmatched

    def start(self) -> None:
        super().start()
        _go_first(self)
        self.unmatched.start()

    def stop(self, clear: bool = True, reset: bool = True, quiet: bool = False) -> None:
        try:
            super().stop(clear=clear, reset=reset, quiet=quiet)
        finally:
            self.unmatched.stop(clear=clear, reset=reset, quiet=quiet)

    def _elsewhere(self, request: httpx.Request) -> httpx.Request | None:
        if _others_active(self):
            return None  # not ours: the test's own routers here decide
        return request  # respx: on to the client's own transport

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


class UnmatchedGuard(respx.MockRouter):
    """Where requests that are not the fake's would leave the machine (respx's
    ``httpcore`` mocker, the default, which the test's own routers share): it goes first
    and leaves them to those routers; alone, it lets loopback through and fails (or,
    with ``passthrough_unmatched``, passes) the rest."""

    def __init__(self, *, passthrough_unmatched: bool) -> None:
        super().__init__(assert_all_called=False, assert_all_mocked=True)
        self.passthrough_unmatched = passthrough_unmatched
        self.route(name="unmatched").mock(side_effect=self._unmatched)

    def start(self) -> None:
        super().start()
        _go_first(self)

    def _unmatched(self, request: httpx.Request) -> httpx.Request | None:
        if _others_active(self):
            return None  # not ours: the test's own routers decide
        if self.passthrough_unmatched or is_loopback_host(request.url.host):
            return request  # respx: pass through to the network
        raise AllMockedAssertionError(
            f"freepik_mock: {request.method} {request.url} is not a Freepik API request and "
            "would leave the machine; mock it with respx, or set passthrough_unmatched=True"
        )


def _go_first(router: respx.MockRouter) -> None:
    # respx asks routers in registration order and a non-strict router answers every
    # request; going first keeps the fake reachable whatever routers the test adds.
    if router.Mocker is not None:
        router.Mocker.routers.remove(router)
        router.Mocker.routers.insert(0, router)


def _others_active(router: respx.MockRouter) -> bool:
    return router.Mocker is not None and any(r is not router for r in router.Mocker.routers)


class ReadyServer(uvicorn.Server):
    """A uvicorn server that says when it is accepting connections (or gave up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()
