"""One request and the response it got, as every other module sees it.

An :class:`Exchange` never holds a secret: the target that builds it records *which*
credential it sent (``auth``), never the credential itself, so a failure message, a
recording or a differential report cannot leak a key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["NO_BODY", "Auth", "Exchange", "body_shape", "shapes_agree"]

# Which credential a request carried: the target's key, a deliberately wrong one, none.
Auth = Literal["key", "wrong", "none"]


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    # The JSON value sent, or NO_BODY; a body that is not JSON is kept as text instead.
    request_body: Any = NO_BODY
    raw_body: str | None = None
    auth: Auth = "key"
    status: int = 0
    content_type: str = ""
    # Parsed JSON, or the raw text when the body is not JSON (``json_ok`` says which).
    response_body: Any = None
    json_ok: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    # The body's bytes as they came, for answers a profile pins byte for byte.
    response_raw: bytes = field(default=b"", repr=False)

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    def describe_request(self, limit: int = 600) -> str:
        """``POST /path?q=1 (key: none) {"json": ...}``, cut at ``limit`` characters."""
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        line = f"{self.method} {self.path}{'?' + query if query else ''}"
        if self.auth != "key":
            line += f" (API key: {self.auth})"
        if self.request_body is not NO_BODY:
            line += " " + _short(json.dumps(self.request_body, ensure_ascii=False), limit)
        elif self.raw_body is not None:
            line += f" (not JSON) {_short(repr(self.raw_body), limit)}"
        return line

    def describe_response(self, limit: int = 600) -> str:
        text = (
            json.dumps(self.response_body, ensure_ascii=False)
            if self.json_ok
            else str(self.response_body)
        )
        return f"{self.status} {self.content_type or '(no content type)'} {_short(text, limit)}"

    def request_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.path, "auth": self.auth}
        if self.query:
            out["query"] = dict(self.query)
        if self.request_body is not NO_BODY:
            out["body"] = self.request_body
        elif self.raw_body is not None:
            out["raw_body"] = self.raw_body
        return out

    def response_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "content_type": self.content_type,
            "headers": dict(self.response_headers),
            "body": self.response_body,
            "body_is_json": self.json_ok,
        }


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def body_shape(value: Any) -> Any:
    """The JSON skeleton of ``value``: keys and types, no values.

    ``{"data": {"task_id": "…", "generated": []}}`` becomes
    ``{"data": {"generated": [], "task_id": "string"}}``; a list's shape is the sorted
    set of its items' shapes, so two lists of the same kind of thing agree.
    """
    if isinstance(value, dict):
        return {key: body_shape(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        unique: list[Any] = []
        for item in value:
            shape = body_shape(item)
            if shape not in unique:
                unique.append(shape)
        return sorted(unique, key=lambda s: json.dumps(s, sort_keys=True))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def shapes_agree(a: Any, b: Any) -> bool:
    """Whether two shapes agree; an empty list agrees with any list (no items to differ)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(shapes_agree(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return not a or not b or a == b
    return bool(a == b)
