"""Reads of Redis kept in this process until Redis says they changed.

Redis's client-side caching (``CLIENT TRACKING ... BCAST``): one connection of ours asks
Redis to tell it of every change to keys under a few prefixes (a namespace's tasks, its
fault rules, its schedule heads, its manual clock), and a read of such a key is answered
from memory until Redis says the key changed. Before every read the invalidations
already arrived are applied (one non-blocking ``recv``), so a read never returns a value
older than the last change whose news reached this process; Redis sends that news when
the change is made, before the process that made it hears that it is done, so a client
that saw a change through one process and asks another sees it there too. A process's
own writes forget their keys at once (:meth:`TrackedReads.forget`), not waiting for the
news to come back.

Anything unexpected (a server without ``HELLO 3``/tracking, a TLS URL, a dropped
connection, a fork) empties the memory and answers reads from Redis until the
connection is back: slower, never stale.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

__all__ = ["TrackedReads"]

T = TypeVar("T")

# Reads kept at most; past it the memory is emptied (a client reading many ids).
_LIMIT: Final = 10_000
# After the connection failed, reads go to Redis for this long before it is tried again.
_RETRY_AFTER_S: Final = 1.0
_TIMEOUT_S: Final = 5.0


class _Incomplete(Exception):
    """The buffer ends inside a frame."""


class _ProtocolError(Exception):
    """An answer we did not expect: the connection is given up."""


class _Error(str):
    """A RESP error reply."""


def _line(buf: bytes | bytearray, pos: int) -> tuple[bytes, int]:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete
    return bytes(buf[pos:end]), end + 2


def _frame(buf: bytes | bytearray, pos: int) -> tuple[Any, int, bool]:
    """One RESP3 frame from ``pos``: its value, where the next begins, and whether it
    is a push (an out-of-band message, not a reply)."""
    if pos >= len(buf):
        raise _Incomplete
    kind = buf[pos : pos + 1]
    head, pos = _line(buf, pos + 1)
    if kind in (b"+", b"(", b"#"):
        return head.decode(), pos, False
    if kind == b"-":
        return _Error(head.decode()), pos, False
    if kind == b":":
        return int(head), pos, False
    if kind == b",":
        return float(head), pos, False
    if kind == b"_":
        return None, pos, False
    if kind in (b"$", b"=", b"!"):
        size = int(head)
        if size < 0:
            return None, pos, False
        if len(buf) < pos + size + 2:
            raise _Incomplete
        text = bytes(buf[pos : pos + size]).decode("utf-8", "replace")
        return (_Error(text) if kind == b"!" else text), pos + size + 2, False
    if kind in (b"*", b"~", b">", b"%", b"|"):
        count = int(head)
        if count < 0:
            return None, pos, False
        items = []
        for _ in range(count * (2 if kind in (b"%", b"|") else 1)):
            item, pos, _ = _frame(buf, pos)
            items.append(item)
        if kind == b"|":  # attributes describe the frame that follows: skipped
            return _frame(buf, pos)
        if kind == b"%":
            return dict(zip(items[::2], items[1::2], strict=True)), pos, False
        return items, pos, kind == b">"
    raise _ProtocolError(f"unknown RESP3 frame type {kind!r}")


def _command(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class TrackedReads:
    """Values read from the Redis at ``url``, by key, forgotten when Redis says the key
    changed. Only keys under a prefix passed to :meth:`watch` are kept."""

    def __init__(self, url: str, *, limit: int = _LIMIT) -> None:
        self.url = url
        self._limit = limit
        self._values: dict[str, Any] = {}
        self._prefixes: list[str] = []
        self._watched: set[str] = set()  # prefixes the current connection watches
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._pid = os.getpid()
        self._retry_at = 0.0
        # A server that cannot track (or a URL we do not speak): reads go to Redis.
        self._off = urlsplit(url).scheme not in ("redis", "unix")
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        state = "off" if self._off else ("on" if self._sock is not None else "down")
        return f"TrackedReads({state}, {len(self._values)} kept)"

    @property
    def active(self) -> bool:
        """Whether reads are answered from memory now."""
        return self._sock is not None and self._pid == os.getpid()

    def watch(self, *prefixes: str) -> None:
        """Keep reads of keys under ``prefixes`` (none may be a prefix of another)."""
        with self._lock:
            new = [p for p in prefixes if p not in self._prefixes]
            self._prefixes.extend(new)
            if self._sock is not None and new:
                try:
                    self._track(new)
                except (OSError, _ProtocolError, _Incomplete, ValueError):
                    self._drop(retry=True)

    def get(self, key: str, fetch: Callable[[], T]) -> T:
        """``key``'s value as last read, or ``fetch()`` (then kept, if tracked)."""
        with self._lock:
            if not self._fresh():
                return fetch()
            try:
                found: T = self._values[key]
                return found
            except KeyError:
                pass
            value = fetch()
            # News of a change made after this read comes later and forgets it again.
            if self._sock is not None:
                if len(self._values) >= self._limit:
                    self._values.clear()
                self._values[key] = value
            return value

    def forget(self, *keys: str) -> None:
        """This process changed ``keys`` (or may have): read them from Redis next time."""
        with self._lock:
            for key in keys:
                self._values.pop(key, None)

    def forget_under(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._values if k.startswith(prefix)]:
                del self._values[key]

    def close(self) -> None:
        """Let go of the connection; the next read opens it again."""
        with self._lock:
            self._drop(retry=False)

    # -- the connection -----------------------------------------------------------------

    def _fresh(self) -> bool:
        """Whether the memory is up to date with every invalidation that arrived."""
        if self._off:
            return False
        if self._pid != os.getpid():  # forked: the socket is the parent's
            self._sock = None
            self._buffer.clear()
            self._values.clear()
            self._watched.clear()
            self._pid = os.getpid()
        if self._sock is None:
            if not self._prefixes or time.monotonic() < self._retry_at:
                return False
            try:
                self._connect()
            except (OSError, _ProtocolError, _Incomplete, ValueError):
                self._drop(retry=True)
                return False
        try:
            self._receive()
        except (OSError, _ProtocolError, _Incomplete, ValueError):
            self._drop(retry=True)
            return False
        return self._sock is not None

    def _drop(self, *, retry: bool) -> None:
        if self._sock is not None and self._pid == os.getpid():
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._buffer.clear()
        self._values.clear()
        self._watched.clear()
        self._retry_at = time.monotonic() + _RETRY_AFTER_S if retry else 0.0

    def _connect(self) -> None:
        parts = urlsplit(self.url)
        sock: socket.socket
        if parts.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(_TIMEOUT_S)
            sock.connect(unquote(parts.path))
        else:
            sock = socket.create_connection(
                (parts.hostname or "localhost", parts.port or 6379), timeout=_TIMEOUT_S
            )
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Non-blocking from here on: a read looks for news without waiting for it, and a
        # command waits for its reply in select() (_request).
        sock.setblocking(False)
        self._sock = sock
        self._buffer.clear()
        self._values.clear()
        hello = ["HELLO", "3"]
        if parts.password is not None:
            hello += ["AUTH", unquote(parts.username or "default"), unquote(parts.password)]
        if isinstance(self._request(*hello), _Error):
            self._off = True  # before Redis 6: no tracking to be had
            raise _ProtocolError("the server does not speak RESP3")
        self._track(self._prefixes)

    def _track(self, prefixes: list[str]) -> None:
        new = [p for p in prefixes if p not in self._watched]
        if not new:
            return
        args = ["CLIENT", "TRACKING", "ON", "BCAST"]
        for prefix in new:
            args += ["PREFIX", prefix]
        answer = self._request(*args)
        if isinstance(answer, _Error):
            if "unknown" in answer.lower() or "syntax" in answer.lower():
                self._off = True
            raise _ProtocolError(f"CLIENT TRACKING refused: {answer}")
        self._watched.update(new)

    def _request(self, *parts: str) -> Any:
        """Send a command and wait for its reply, applying invalidations meanwhile."""
        sock = self._sock
        assert sock is not None
        sock.settimeout(_TIMEOUT_S)  # a few bytes: sent at once, or the server is gone
        try:
            sock.sendall(_command(*parts))
        finally:
            sock.setblocking(False)
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            reply = self._parse_one()
            if reply is not _NOTHING:
                return reply
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise _ProtocolError(f"no answer from Redis within {_TIMEOUT_S:g} s")
            chunk = sock.recv(65536)
            if not chunk:
                raise _ProtocolError("Redis closed the connection")
            self._buffer += chunk

    def _receive(self) -> None:
        """Apply every invalidation already arrived, without waiting for more."""
        sock = self._sock
        assert sock is not None
        while True:
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                raise _ProtocolError("Redis closed the connection")
            self._buffer += chunk
            if len(chunk) < 65536:
                break
        if self._buffer and self._parse_one() is not _NOTHING:
            raise _ProtocolError("a reply nobody asked for")

    def _parse_one(self) -> Any:
        """Apply the complete pushes in the buffer; the first reply among them, if any
        (the frames after it stay), else ``_NOTHING``."""
        buf = self._buffer
        pos = 0
        try:
            while pos < len(buf):
                value, end, push = _frame(buf, pos)
                pos = end
                if not push:
                    del buf[:pos]
                    return value
                self._invalidated(value)
        except _Incomplete:
            pass
        del buf[:pos]
        return _NOTHING

    def _invalidated(self, push: list[Any]) -> None:
        if not push or push[0] != "invalidate":
            return  # another kind of push (none is asked for): nothing of ours
        keys = push[1] if len(push) > 1 else None
        if keys is None:  # FLUSHDB, FLUSHALL: every key
            self._values.clear()
            return
        for key in keys:
            self._values.pop(key, None)


_NOTHING: Final = object()
