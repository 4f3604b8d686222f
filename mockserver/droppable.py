"""uvicorn's HTTP protocols with one ASGI extension: dropping the connection.

A ``drop`` fault must look, from outside, like a server that lost the connection before
answering: no status line, no byte. ASGI has no message for that, and an app that raises
or returns without answering gets uvicorn's own 500. So ``serve`` runs uvicorn with
these protocol classes, which put ``scope["extensions"][DROP_EXTENSION]`` in each
request's scope: a callable that closes the connection at once. In-process (no server)
the extension is absent and the fault raises ``ConnectionDropped`` to the client instead.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .constants import DROP_EXTENSION

__all__ = ["DroppableH11Protocol", "DroppableHttpToolsProtocol", "protocol_class"]


class DroppableHttpToolsProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        _add_drop(self.scope, self)


class DroppableH11Protocol(H11Protocol):
    def handle_events(self) -> None:
        # h11's protocol builds the scope while handling events; add the extension to
        # whichever scope it built.
        before = getattr(self, "scope", None)
        super().handle_events()
        scope = getattr(self, "scope", None)
        if scope is not None and scope is not before:
            _add_drop(scope, self)


def _add_drop(scope: Any, protocol: Any) -> None:
    def drop() -> None:
        # abort(), not close(): nothing buffered goes out, as when a server dies.
        protocol.transport.abort()

    scope.setdefault("extensions", {})[DROP_EXTENSION] = drop


def protocol_class(http: str) -> type[Any]:
    """The protocol class for ``--http auto|httptools|h11`` (auto: httptools if installed)."""
    if http == "h11" or (http == "auto" and importlib.util.find_spec("httptools") is None):
        return DroppableH11Protocol
    return DroppableHttpToolsProtocol
