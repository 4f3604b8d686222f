"""The request journal: what clients sent and what the fake answered, most recent last.

Bounded in size. The API key is never recorded (only whether one was sent), and
bodies are cut to a few KiB. Task transitions are recorded beside requests, with the
reason when the fake failed a task, since the API response itself carries no reason.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import Clock
from .faults import CONTROL_PREFIX
from .tasks import Task

__all__ = ["Journal", "JournalMiddleware"]

_BODY_LIMIT = 4096


class Journal:
    def __init__(self, clock: Clock, size: int = 1000) -> None:
        self.clock = clock
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["id"] = next(self._ids)
        entry.setdefault("at", self.clock.now())
        self._entries.append(entry)

    def on_transition(self, task: Task, previous: str) -> None:
        """Lifecycle listener: note each status change."""
        entry: dict[str, Any] = {
            "kind": "transition",
            "task_id": task.task_id,
            "from": previous,
            "status": task.status,
            "at": task.updated_at,
        }
        if task.failure_reason:
            entry["reason"] = task.failure_reason
        self.record(entry)

    def entries(self, limit: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        items = [e for e in self._entries if kind is None or e["kind"] == kind]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        self._entries.clear()


class JournalMiddleware:
    """Records every API request (not ``/_mock`` control traffic) in the journal."""

    def __init__(self, app: ASGIApp, journal: Journal, secret_headers: frozenset[str]) -> None:
        self.app = app
        self.journal = journal
        self.secret_headers = secret_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        status: list[int] = []

        async def tee_receive() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request" and size < _BODY_LIMIT:
                chunk = message.get("body", b"")[: _BODY_LIMIT - size]
                chunks.append(chunk)
                size += len(chunk)
            return message

        async def tee_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, tee_receive, tee_send)
        finally:
            headers = scope.get("headers", [])
            api_key_sent = any(
                name.decode("latin-1") in self.secret_headers and value for name, value in headers
            )
            self.journal.record(
                {
                    "kind": "request",
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status[0] if status else None,
                    "api_key": "sent" if api_key_sent else "missing",
                    "body": b"".join(chunks).decode("utf-8", "replace"),
                }
            )
