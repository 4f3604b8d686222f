"""uvicorn's HTTP protocols with one ASGI extension, dropping the connection, and each
answer written to the socket in one piece.

A ``drop`` fault must look, from outside, like a server that lost the connection before
answering: no status line, no byte. ASGI has no message for that, and an app that raises
or returns without answering gets uvicorn's own 500. So ``serve`` runs uvicorn with
these protocol classes, which put ``scope["extensions"][DROP_EXTENSION]`` in each
request's scope: a callable that closes the connection at once. In-process (no server)
the extension is absent and the fault raises ``ConnectionDropped`` to the client instead.

uvicorn writes an answer's head and its body separately (h11 its end too): a system
call and a TCP segment each. Joined and written once per turn of the event loop, the
same bytes took a quarter less CPU time per request and the fake answered 1.3-1.6x the
requests per second on the benchmark's cells (wrk, 16 connections).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .constants import DROP_EXTENSION

__all__ = ["DroppableHttpToolsProtocol", "protocol_class"]


class _CoalescingTransport:
    """A connection's transport whose writes are joined and written once, when the
    event loop next runs its callbacks. Every write of the connection goes through it,
    so their order is kept; ``close`` writes what is pending first, ``abort`` drops it
    (nothing pending goes out, as when a server dies)."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():  # the client left: nobody to write to
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        # Asked after every answer: a method of its own, not a ``__getattr__`` lookup.
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class DroppableHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def on_message_begin(self) -> None:
        super().on_message_begin()
        _add_drop(self.scope, self)


@functools.cache
def _h11_protocol() -> type[Any]:
    # Imported when asked for: h11 is 5-10 ms of a start-up that httptools never needs.
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DroppableH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

        def handle_events(self) -> None:
            # h11's protocol builds the scope while handling events; add the extension
            # to whichever scope it built.
            before = getattr(self, "scope", None)
            super().handle_events()
            scope = getattr(self, "scope", None)
            if scope is not None and scope is not before:
                _add_drop(scope, self)

    return DroppableH11Protocol


def _add_drop(scope: Any, protocol: Any) -> None:
    def drop() -> None:
        # abort(), not close(): nothing buffered goes out, as when a server dies.
        protocol.transport.abort()

    scope.setdefault("extensions", {})[DROP_EXTENSION] = drop


def protocol_class(http: str) -> type[Any]:
    """The protocol class for ``--http auto|httptools|h11`` (auto: httptools if installed)."""
    if http == "h11" or (http == "auto" and importlib.util.find_spec("httptools") is None):
        return _h11_protocol()
    return DroppableHttpToolsProtocol
