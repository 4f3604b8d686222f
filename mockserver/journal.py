"""The request journal: what clients sent and what the fake answered, most recent last.

Bounded in size. The API key is never recorded (only whether one was sent), and
bodies are cut to a few KiB. Task transitions are recorded beside requests, with the
reason when the fake failed a task, since the API response itself carries no reason.
A create is noted with the id of the task it made, so a task's timeline finds it.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from starlette.types import Scope

from .clock import Clock
from .constants import REQUEST_ID_KEY, TASK_ID_KEY
from .tasks import Transition

__all__ = ["BODY_LIMIT", "Journal"]

# How much of a request body the journal keeps.
BODY_LIMIT = 4096


# Requests and transitions, written on every request and read rarely, are kept as
# tuples of these fields and made into dicts (keys in this order) when read.
_REQUEST_FIELDS = (
    "kind",
    "method",
    "path",
    "query",
    "status",
    "api_key",
    "body",
    "id",
    "at",
    "request_id",
    "task_id",
)
_TRANSITION_FIELDS = ("kind", "task_id", "from", "status", "at", "id", "reason")

_Entry = dict[str, Any] | tuple[Any, ...]


class Journal:
    def __init__(
        self, clock: Clock, size: int = 1000, secret_headers: frozenset[str] = frozenset()
    ) -> None:
        self.clock = clock
        # Headers that carry an API key: the journal says whether one was sent, no more.
        self._secret_headers = frozenset(name.lower().encode("latin-1") for name in secret_headers)
        self._entries: deque[_Entry] = deque(maxlen=max(1, size))
        self._ids = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["id"] = next(self._ids)
        entry.setdefault("at", self.clock.now())
        self._entries.append(entry)

    def record_request(self, scope: Scope, status: int | None, body: bytes) -> None:
        """Note an API request (``/_mock`` control traffic is not recorded)."""
        secret = self._secret_headers
        api_key_sent = any(name in secret and value for name, value in scope["headers"])
        self._entries.append(
            (
                "request",
                scope["method"],
                scope["path"],
                scope["query_string"],
                status,
                api_key_sent,
                body[:BODY_LIMIT],
                next(self._ids),
                self.clock.now(),
                scope.get(REQUEST_ID_KEY),
                scope.get(TASK_ID_KEY),
            )
        )

    def on_transition(self, change: Transition) -> None:
        """Lifecycle listener: note each status change."""
        self._entries.append(
            (
                "transition",
                change.task_id,
                change.previous,
                change.status,
                change.at,
                next(self._ids),
                change.failure_reason,
            )
        )

    def entries(self, limit: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        items = [_as_dict(e) for e in self._entries if kind is None or _kind(e) == kind]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        self._entries.clear()


def _kind(entry: _Entry) -> Any:
    return entry[0] if isinstance(entry, tuple) else entry["kind"]


def _as_dict(entry: _Entry) -> dict[str, Any]:
    if isinstance(entry, dict):
        return entry
    if entry[0] == "request":
        view = dict(zip(_REQUEST_FIELDS, entry, strict=True))
        view["query"] = entry[3].decode("latin-1")
        view["api_key"] = "sent" if entry[5] else "missing"
        view["body"] = entry[6].decode("utf-8", "replace")
        if view["task_id"] is None:
            del view["task_id"]
        return view
    view = dict(zip(_TRANSITION_FIELDS, entry, strict=True))
    if not view["reason"]:
        del view["reason"]
    return view
