"""The request journal: what clients sent and what the fake answered, most recent last.

Bounded in size. The API key is never recorded (only whether one was sent), and
bodies are cut to a few KiB. Task transitions are recorded beside requests, with the
reason when the fake failed a task, since the API response itself carries no reason.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from starlette.types import Scope

from .clock import Clock
from .tasks import Task

__all__ = ["BODY_LIMIT", "Journal"]

# How much of a request body the journal keeps.
BODY_LIMIT = 4096


class Journal:
    def __init__(
        self, clock: Clock, size: int = 1000, secret_headers: frozenset[str] = frozenset()
    ) -> None:
        self.clock = clock
        # Headers that carry an API key: the journal says whether one was sent, no more.
        self._secret_headers = frozenset(name.lower().encode("latin-1") for name in secret_headers)
        self._entries: deque[dict[str, Any]] = deque(maxlen=max(1, size))
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["id"] = next(self._ids)
        entry.setdefault("at", self.clock.now())
        self._entries.append(entry)

    def record_request(self, scope: Scope, status: int | None, body: bytes) -> None:
        """Note an API request (``/_mock`` control traffic is not recorded)."""
        secret = self._secret_headers
        api_key_sent = any(name in secret and value for name, value in scope["headers"])
        self.record(
            {
                "kind": "request",
                "method": scope["method"],
                "path": scope["path"],
                "query": scope["query_string"].decode("latin-1"),
                "status": status,
                "api_key": "sent" if api_key_sent else "missing",
                "body": body[:BODY_LIMIT].decode("utf-8", "replace"),
            }
        )

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
