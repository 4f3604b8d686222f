"""Namespaces: one fake, many callers that never see each other's state.

A request with ``x-freepik-mock-namespace: NAME`` (the API and ``/_mock`` alike) is
served by the runtime of that name: its own tasks, faults, manual clock, journal, webhook
log and rate limits. Without the header, the default namespace serves it. Runtimes are
made on first use over the app's one :class:`~mockserver.runtime.ApiModel`, so a new
namespace compiles nothing; ``max_namespaces`` bounds how many one fake holds, so that a
client cannot exhaust its memory by naming new ones.

:class:`NamespaceMiddleware` is the app's outermost middleware: it reads the header
once, starts the runtime's timers in the running event loop (in-process clients send no
lifespan events) and puts the runtime in the request's scope (``RUNTIME_KEY``), where
the handlers and the other middleware take it from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from .config import MockConfig
from .constants import CONTROL_PREFIX, DEFAULT_NAMESPACE, NAMESPACE_HEADER, RUNTIME_KEY
from .errors import error_response
from .runtime import ApiModel, MockRuntime

__all__ = ["NAMESPACE_PATTERN", "NamespaceMiddleware", "NamespaceRefused", "Namespaces"]

# Short, and safe in a URL, a log line and a Redis key alike.
NAMESPACE_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")

_HEADER = NAMESPACE_HEADER.encode("latin-1")


class NamespaceRefused(Exception):
    """A namespace a request may not have: a bad name, one too many, or one the state
    backend cannot keep. ``status`` is the answer's (a 4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Namespaces:
    """The runtimes of one app by namespace; the default one always among them."""

    def __init__(self, config: MockConfig, model: ApiModel, default: MockRuntime) -> None:
        self.config = config
        self.model = model
        self.default = default
        self.limit = config.max_namespaces
        self._runtimes: dict[str, MockRuntime] = {DEFAULT_NAMESPACE: default}

    def __repr__(self) -> str:
        return f"Namespaces({len(self._runtimes)} of at most {self.limit})"

    def __len__(self) -> int:
        return len(self._runtimes)

    def __iter__(self) -> Iterator[MockRuntime]:
        return iter(list(self._runtimes.values()))

    def names(self) -> list[str]:
        return list(self._runtimes)

    def find(self, name: str) -> MockRuntime | None:
        """The runtime of ``name`` if it exists (never makes one)."""
        return self._runtimes.get(name)

    def get(self, name: str) -> MockRuntime:
        """The runtime of ``name``, made on first use; :class:`NamespaceRefused` if the
        name is malformed or the fake holds its limit. With shared state (``--state``)
        the namespace's tasks, faults, clock, journal and webhook log live in the
        backend under its name, so every process serving it sees the same."""
        runtime = self._runtimes.get(name)
        if runtime is not None:
            return runtime
        # "." and "..": path segments a URL naming them would lose.
        if NAMESPACE_PATTERN.fullmatch(name) is None or name in (".", ".."):
            raise NamespaceRefused(
                400,
                f"{NAMESPACE_HEADER} must be 1 to 64 letters, digits, '.', '_' or '-' "
                f"(not '.' or '..'), not {name!r}",
            )
        if len(self._runtimes) >= self.limit:
            raise NamespaceRefused(
                409,
                f"this fake holds {len(self._runtimes)} namespaces, its limit "
                f"(max_namespaces, --max-namespaces); delete finished ones with "
                f"DELETE {CONTROL_PREFIX}/namespaces/NAME",
            )
        runtime = MockRuntime(self.config, self.model, namespace=name)
        self._runtimes[name] = runtime
        return runtime

    async def delete(self, name: str) -> bool:
        """Stop and forget the namespace ``name`` (not the default); False if unknown."""
        if name == DEFAULT_NAMESPACE:
            raise ValueError("the default namespace cannot be deleted")
        runtime = self._runtimes.pop(name, None)
        if runtime is None:
            return False
        runtime.reset()  # with shared state, its keys or rows go too
        await runtime.shutdown()
        return True

    async def shutdown(self) -> None:
        """Stop every namespace's timers and webhooks (the app's lifespan ends)."""
        for runtime in list(self._runtimes.values()):
            await runtime.shutdown()


class NamespaceMiddleware:
    """Puts the runtime of the request's namespace in its scope, started in the running
    event loop; a refused namespace is answered here, in the ``{"message": ...}`` shape
    that the API and the control API share."""

    def __init__(self, app: ASGIApp, namespaces: Namespaces) -> None:
        self.app = app
        self.namespaces = namespaces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        runtime = self.namespaces.default
        for name, value in scope["headers"]:
            if name == _HEADER:
                try:
                    runtime = self.namespaces.get(value.decode("latin-1"))
                except NamespaceRefused as exc:
                    await error_response(exc.status, exc.message)(scope, receive, send)
                    return
                break
        runtime.ensure_started()
        scope[RUNTIME_KEY] = runtime
        await self.app(scope, receive, send)
