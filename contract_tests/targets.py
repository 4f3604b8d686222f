"""Where the contract tests send requests: the fake in-process, any URL, or the real API.

Everything goes over HTTP through httpx. The in-process fake is reached through
:class:`ASGILoopTransport`, a synchronous transport that runs the app on one event
loop of its own for the whole session: the fake does background work (its timer
loop) between requests, so a fresh loop per request would strand it. The loop also
runs the app's lifespan, so the app starts and stops as it would under a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import inspect
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .exchange import NO_BODY, Auth, Exchange
from .outcome import ProfileName

__all__ = [
    "DEFAULT_API_KEY",
    "REAL_API_URL",
    "ASGILoopTransport",
    "MissingApiKey",
    "SpendCapReached",
    "Target",
    "TargetUnreachable",
    "open_target",
]

REAL_API_URL = "https://api.freepik.com"
# A test key for the fake and for servers under test; never a real credential.
DEFAULT_API_KEY = "contract-test-key"
WRONG_API_KEY = "contract-tests-deliberately-wrong-key"
# Lets a test point ``--target real`` at a loopback address to check network-failure
# handling without reaching the internet; not for normal use.
REAL_URL_ENV = "FREEPIK_CONTRACT_REAL_URL"

ASGIApp = Callable[..., Any]


class TargetUnreachable(Exception):
    """The target could not be reached: a network failure, not a contract failure."""


class SpendCapReached(Exception):
    """A request would create a paid task on the real API beyond ``--allow-spend``."""


class MissingApiKey(Exception):
    """``--target real`` without ``FREEPIK_API_KEY``."""


class _LoopThread:
    """An event loop running in a daemon thread, for as long as the target is open."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_rest() -> None:
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.run(cancel_rest(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class ASGILoopTransport(httpx.BaseTransport):
    """A synchronous httpx transport that drives an ASGI app on a persistent loop."""

    def __init__(self, app: ASGIApp, timeout: float = 30.0) -> None:
        self._app = app
        self._timeout = timeout
        self._loop = _LoopThread()
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._lifespan_done: asyncio.Queue[dict[str, Any]] | None = None
        self._lifespan_in: asyncio.Queue[dict[str, Any]] | None = None
        self._loop.run(self._startup(), timeout)

    async def _startup(self) -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

        async def run() -> None:
            try:
                await self._app(scope, inbox.get, outbox.put)
            except Exception:  # an app without lifespan support may raise; that is allowed
                await outbox.put({"type": "lifespan.unsupported"})

        asyncio.get_running_loop().create_task(run())
        await inbox.put({"type": "lifespan.startup"})
        message = await outbox.get()
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the app failed to start: {message.get('message', '')}")
        if message["type"] == "lifespan.startup.complete":
            self._lifespan_in, self._lifespan_done = inbox, outbox

    async def _shutdown(self) -> None:
        if self._lifespan_in is not None and self._lifespan_done is not None:
            await self._lifespan_in.put({"type": "lifespan.shutdown"})
            await asyncio.wait_for(self._lifespan_done.get(), 5)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        result: httpx.Response = self._loop.run(send(), self._timeout)
        return result

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.run(self._shutdown(), 10)
        self._loop.close()


@dataclass
class SpendBudget:
    """At most ``limit`` task creations on a target that bills them."""

    limit: int
    spent: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.spent)


@dataclass
class Target:
    """One server under test, with the key it accepts and how its time can be moved.

    ``kind`` is ``fake`` (in-process), ``asgi`` (another in-process app), ``url`` or
    ``real``. ``clock`` is ``manual`` when ``/_mock/clock/advance`` moves time, else
    ``wall`` (poll and wait).
    """

    label: str
    kind: str
    client: httpx.Client
    auth_header: str
    create_paths: frozenset[str]
    api_key: str = field(repr=False)
    clock: str = "wall"
    budget: SpendBudget | None = None
    min_interval: float = 0.0
    poll_interval: float = 0.2
    wait_limit: float = 30.0
    observers: list[Callable[[Exchange], None]] = field(default_factory=list)
    _last_sent: float = 0.0
    _paid_answers: dict[str, Exchange] = field(default_factory=dict)

    @property
    def bills_creates(self) -> bool:
        return self.budget is not None

    def can_create(self) -> bool:
        return self.budget is None or self.budget.remaining > 0

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = NO_BODY,
        query: dict[str, str] | None = None,
        auth: Auth = "key",
        paid: bool = False,
        raw: bytes | None = None,
    ) -> Exchange:
        """Send one request; ``paid`` marks a create the server should accept.

        Against a billing target a paid create needs budget left, and its answer is
        remembered so that Hypothesis replaying the same request costs nothing.
        """
        is_create = method.upper() == "POST" and path in self.create_paths
        memo = ""
        if self.budget is not None and is_create:
            memo = json.dumps([path, body if body is not NO_BODY else None, auth], sort_keys=True)
            if paid and memo in self._paid_answers:
                return self._paid_answers[memo]
            if self.budget.spent > self.budget.limit or (paid and not self.budget.remaining):
                raise SpendCapReached(
                    f"{self.label}: --allow-spend {self.budget.limit} is used up "
                    f"({self.budget.spent} task(s) created); not sending {method} {path}"
                )
        exchange = self._send_once(method, path, body, query or {}, auth, raw)
        if self.budget is not None and is_create and 200 <= exchange.status < 300:
            self.budget.spent += 1
            if paid:
                self._paid_answers[memo] = exchange
        for observe in self.observers:
            observe(exchange)
        return exchange

    def _headers(self, auth: Auth, has_body: bool) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if has_body:
            headers["content-type"] = "application/json"
        if auth == "key":
            headers[self.auth_header] = self.api_key
        elif auth == "wrong":
            headers[self.auth_header] = WRONG_API_KEY
        return headers

    def _send_once(
        self,
        method: str,
        path: str,
        body: Any,
        query: dict[str, str],
        auth: Auth,
        raw: bytes | None,
    ) -> Exchange:
        content = (
            raw
            if raw is not None
            else (None if body is NO_BODY else json.dumps(body, ensure_ascii=False).encode())
        )
        headers = self._headers(auth, content is not None)
        for attempt in range(4):
            if self.min_interval:
                wait = self._last_sent + self.min_interval - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            started = time.monotonic()
            self._last_sent = started
            try:
                response = self.client.request(
                    method, path, params=query, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                raise TargetUnreachable(
                    f"network failure talking to {self.label}: {type(exc).__name__}: {exc}"
                ) from exc
            # A rate limit answer from the real API is pacing, not an answer to judge.
            if response.status_code == 429 and self.kind == "real" and attempt < 3:
                time.sleep(_retry_after(response))
                continue
            break
        exchange = _exchange(method, path, query, body, auth, response, time.monotonic() - started)
        if raw is not None:
            exchange = dataclasses.replace(exchange, raw_body=raw.decode("utf-8", "replace"))
        return exchange

    def let_time_pass(self, seconds: float) -> None:
        """Advance a manual clock, or wait a little on the wall clock."""
        if self.clock == "manual":
            response = self.client.post("/_mock/clock/advance", json={"seconds": seconds})
            if response.status_code != 200:
                raise RuntimeError(f"{self.label}: clock advance answered {response.text}")
        else:
            time.sleep(min(seconds, self.poll_interval))

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(30.0, max(1.0, float(response.headers.get("retry-after", "5"))))
    except ValueError:
        return 5.0


def _exchange(
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    auth: Auth,
    response: httpx.Response,
    elapsed: float,
) -> Exchange:
    content_type = response.headers.get("content-type", "")
    parsed: Any
    try:
        parsed, json_ok = response.json(), True
    except (json.JSONDecodeError, UnicodeDecodeError):
        parsed, json_ok = response.text, False
    return Exchange(
        method=method.upper(),
        path=path,
        query=dict(query),
        request_body=body,
        auth=auth,
        status=response.status_code,
        content_type=content_type,
        response_body=parsed,
        json_ok=json_ok,
        response_headers={
            k.lower(): v for k, v in response.headers.items() if k.lower() not in _SECRET_HEADERS
        },
        elapsed=elapsed,
        response_raw=response.content,
    )


# Response headers that may carry a secret and are never copied into an Exchange.
_SECRET_HEADERS = frozenset({"set-cookie", "authorization", "proxy-authorization", "cookie"})


def load_app(reference: str) -> ASGIApp:
    """``module:name``: an ASGI app, or a factory that builds one when called with no
    arguments (``mockserver:create_app``, whose parameters all have defaults).

    Raises ValueError with one line saying what is wrong with ``reference``.
    """
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise ValueError(f"an asgi target is asgi:MODULE:NAME, not asgi:{reference}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"asgi:{reference}: cannot import {module_name}: {exc}") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise ValueError(f"asgi:{reference}: {module_name} has no attribute {attr!r}")
    if not callable(obj):
        raise ValueError(f"asgi:{reference}: {attr} is neither an ASGI app nor a factory")
    if _is_factory(obj):
        obj = obj()
    return obj  # type: ignore[no-any-return]


def _is_factory(obj: Any) -> bool:
    """A function (not an ASGI app: those take scope, receive, send) whose parameters can
    all be left out."""
    if not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return False
    parameters = inspect.signature(obj).parameters.values()
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )


def _probe_clock(client: httpx.Client) -> str:
    """``manual`` when the server has the fake's control API with a manual clock."""
    try:
        response = client.get("/_mock/clock")
    except httpx.TransportError:
        return "wall"  # the first real request will report the failure
    if response.status_code == 200:
        with contextlib.suppress(ValueError, AttributeError):
            if response.json().get("mode") == "manual":
                return "manual"
    return "wall"


@contextlib.contextmanager
def open_target(
    where: str,
    *,
    auth_header: str,
    create_paths: Iterable[str],
    api_key: str | None = None,
    allow_spend: int = 0,
    wait_limit: float | None = None,
    timeout: float = 30.0,
    profile: ProfileName = "observed",
    spec_dir: Path | None = None,
) -> Iterator[Target]:
    """Open ``where``: ``fake``, ``asgi:MODULE:NAME``, an ``http(s)://`` URL, or ``real``.

    ``profile`` is what the checks expect; the in-process ``fake`` is started with it, so
    that the fake answers as the profile says (other targets answer as they do), and
    serves ``spec_dir`` (the checks' spec; None: the vendored one).
    """
    paths = frozenset(create_paths)
    if where == "real":
        key = os.environ.get("FREEPIK_API_KEY", "").strip()
        if not key:
            raise MissingApiKey(
                "--target real needs your Freepik API key in the FREEPIK_API_KEY "
                "environment variable (it is never taken from the command line)"
            )
        base = os.environ.get(REAL_URL_ENV) or REAL_API_URL
        client = httpx.Client(base_url=base, timeout=timeout)
        target = Target(
            label=f"real API ({base})",
            kind="real",
            client=client,
            auth_header=auth_header,
            create_paths=paths,
            api_key=key,
            budget=SpendBudget(allow_spend),
            min_interval=0.25,  # well under the documented 10 requests/s average
            poll_interval=5.0,  # how often public clients poll
            wait_limit=wait_limit if wait_limit is not None else 900.0,
        )
    elif where in ("fake",) or where.startswith("asgi:"):
        key = api_key or DEFAULT_API_KEY
        if where == "fake":
            from mockserver import MockConfig, create_app

            config = MockConfig(clock="manual", api_keys=(key,), profile=profile, spec_dir=spec_dir)
            app: ASGIApp = create_app(config)
            label = "fake (in-process)"
        else:
            app = load_app(where[len("asgi:") :])
            label = where
        transport = ASGILoopTransport(app, timeout)
        client = httpx.Client(transport=transport, base_url="http://testserver", timeout=timeout)
        target = Target(
            label=label,
            kind="fake" if where == "fake" else "asgi",
            client=client,
            auth_header=auth_header,
            create_paths=paths,
            api_key=key,
            wait_limit=wait_limit if wait_limit is not None else 30.0,
        )
        target.clock = _probe_clock(client)
    elif where.startswith(("http://", "https://")):
        client = httpx.Client(base_url=where.rstrip("/"), timeout=timeout)
        target = Target(
            label=where,
            kind="url",
            client=client,
            auth_header=auth_header,
            create_paths=paths,
            api_key=api_key or DEFAULT_API_KEY,
            wait_limit=wait_limit if wait_limit is not None else 30.0,
        )
        target.clock = _probe_clock(client)
    else:
        raise ValueError(f"unknown target {where!r}: use fake, real, a URL, or asgi:MODULE:NAME")
    try:
        yield target
    finally:
        target.close()
