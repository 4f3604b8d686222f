"""Test harnesses: the fake in-process behind a respx router, or as a live server.

:class:`FreepikMock` serves the fake to the httpx clients of the code under test with no
socket: a respx router sends ``https://api.freepik.com/v1/ai/reference-to-video/...``
(and the ``/_mock/...`` URLs results point to) into the app. The app runs in an event
loop of its own, on a background thread, for the handle's whole life, so background
work (webhook deliveries, retries) keeps going between requests, and sync and async
clients can share one fake in one test. The clock is manual unless asked otherwise.

:class:`FreepikMockServer` is the same fake behind a real server on a free loopback
port, for clients that do not use httpx (requests, aiohttp, another process).

:class:`RemoteFreepikMock` is a handle on a fake served elsewhere (``freepik-mock serve``
in CI, or a server another process started), usually in a namespace of its own.

With ``namespace=``, a handle's control calls act on that namespace of its fake (the
``x-freepik-mock-namespace`` header); the in-process fake also serves the code under
test's requests there.

All three are :class:`~mockserver.control_client.MockControl`\\ s and context managers; the
pytest plugin (:mod:`mockserver.pytest_plugin`) only wraps them in fixtures. What they
are built from (respx, uvicorn, httpx transports) is in :mod:`mockserver.harness`,
imported when a harness is built: ``import mockserver`` does not pay for it.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .app import create_app
from .config import MockConfig
from .constants import BRANDS
from .control_client import MockControl
from .hosts import WebhookHostPolicy

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .harness import FreepikRouter, WebhookTransport

__all__ = ["DEFAULT_BASE_URL", "FreepikMock", "FreepikMockServer", "RemoteFreepikMock"]

DEFAULT_BASE_URL = BRANDS["freepik"].api_url


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


class FreepikMock(MockControl):
    """The fake, in-process, for httpx clients (sync and async), with its control API.

    ``settings`` are :class:`~mockserver.config.MockConfig` fields applied over
    ``config`` (default: a manual clock). ``base_url`` is the API host the code under
    test calls. With ``namespace``, its requests (unless they name another) and the
    handle's control calls are served in that namespace. ``webhook_app`` (or
    :meth:`deliver_webhooks_to`) receives webhooks in-process, whatever host their URL
    names. Requests to other hosts fail unless ``passthrough_unmatched``; loopback
    always passes, and when the test has respx routers of its own, they decide.
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        base_url: str | None = None,
        webhook_app: ASGIApp | None = None,
        passthrough_unmatched: bool = False,
        namespace: str | None = None,
        **settings: Any,
    ) -> None:
        # Imported here, not at the top, so that `import mockserver` (and `serve`) pays
        # nothing for what only a harness uses.
        from .harness import (
            AppBridge,
            BridgeClient,
            BridgeTransport,
            FreepikRouter,
            WebhookTransport,
        )

        config = _build_config(config, settings)
        self._webhooks: WebhookTransport | None = None
        if config.webhook_transport is None:
            self._webhooks = WebhookTransport(
                webhook_app,
                WebhookHostPolicy(config.webhook_allow, allow_any=config.webhook_allow_any),
            )
            # The transport enforces the allowed hosts itself, so that an ASGI app set
            # later still receives webhooks sent to any host.
            config = config.replace(webhook_transport=self._webhooks, webhook_allow_any=True)
        elif webhook_app is not None:
            raise ValueError("give either webhook_app or config.webhook_transport, not both")
        self.config = config
        # By default, the brand's own API host (https://api.freepik.com).
        self.base_url = (base_url or BRANDS[config.brand].api_url).rstrip("/")
        self.app = create_app(config)
        self._bridge = AppBridge(self.app, namespace)
        self.router: FreepikRouter = FreepikRouter(
            self._bridge, self.base_url, passthrough_unmatched=passthrough_unmatched
        )
        http = BridgeClient(base_url=self.base_url, transport=BridgeTransport(self._bridge))
        super().__init__(http, control_token=config.control_token, namespace=namespace)

    def __repr__(self) -> str:
        return f"FreepikMock(base_url={self.base_url!r}, config={self.config!r})"

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
            self._bridge.stop(self.app.state.namespaces.shutdown)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class FreepikMockServer(MockControl):
    """The fake behind a real HTTP server on a free 127.0.0.1 port (``base_url``), in a
    background thread, for any client. ``settings`` as for :class:`FreepikMock`; with
    ``namespace``, control calls act on that namespace (the code under test sends
    :attr:`headers` for its requests to be served there)."""

    def __init__(
        self, config: MockConfig | None = None, *, namespace: str | None = None, **settings: Any
    ) -> None:
        import httpx  # here, not at the top: see FreepikMock
        import uvicorn

        from .droppable import protocol_class
        from .harness import ReadyServer

        config = _build_config(config, settings).replace(host="127.0.0.1", port=0)
        self.config = config
        self.app = create_app(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._server = ReadyServer(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="on",
                timeout_graceful_shutdown=5,
                http=protocol_class(config.http),  # drop faults drop the connection
                server_header=False,  # as `serve` answers
                ws="none",
                proxy_headers=False,  # its clients are on this machine, with no proxy
            )
        )
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"freepik-mock-server-{port}",
            daemon=True,
        )
        http = httpx.Client(base_url=self.base_url, trust_env=False)
        super().__init__(http, control_token=config.control_token, namespace=namespace)

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


class RemoteFreepikMock(MockControl):
    """A handle on a fake served elsewhere at ``base_url`` (``freepik-mock serve``, a CI
    service, a server another process started), acting on its ``namespace``.

    It starts and stops nothing: closing it closes its HTTP client only. The code under
    test calls ``base_url`` and sends :attr:`headers` to be served in the namespace.
    """

    def __init__(
        self,
        base_url: str,
        *,
        namespace: str | None = None,
        control_token: str | None = None,
    ) -> None:
        import httpx  # here, not at the top: see FreepikMock

        self.base_url = base_url.rstrip("/")
        http = httpx.Client(base_url=self.base_url, trust_env=False)
        super().__init__(http, control_token=control_token, namespace=namespace)

    def __repr__(self) -> str:
        return f"RemoteFreepikMock(base_url={self.base_url!r}, namespace={self.namespace!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
