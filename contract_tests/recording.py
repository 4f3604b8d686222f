"""``--record DIR``: every request/response pair as a JSON file, with secrets scrubbed.

Three layers keep a key out of a recording: an :class:`Exchange` never holds the key
it was sent with (only ``auth``: key, wrong or none); headers and body fields whose
names suggest a secret are replaced; and every string is searched for the literal
secrets the recorder was given, so a server that echoes a key back is scrubbed too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exchange import NO_BODY, Exchange, body_shape, shapes_agree
from .targets import Target

__all__ = ["RECORDING_FORMAT", "Recorder", "Recording", "load_recordings", "replay", "scrub"]

RECORDING_FORMAT = "freepik-mock-recording/1"
SCRUBBED = "[scrubbed]"

# Header or field names that may hold a credential.
_SECRET_NAME = re.compile(
    r"(api[-_]?key|apikey|authorization|cookie|token|secret|password|passwd|signature|"
    r"credential|session)",
    re.IGNORECASE,
)


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with secret-named fields and every literal secret replaced."""
    literals = sorted({s for s in secrets if s}, key=len, reverse=True)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: SCRUBBED if _SECRET_NAME.search(str(key)) and node[key] else walk(node[key])
                for key in node
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, str):
            for literal in literals:
                node = node.replace(literal, SCRUBBED)
            return node
        return node

    return walk(value)


@dataclass
class Recorder:
    """An observer for a target: writes each exchange to ``directory``."""

    directory: Path
    source: str
    secrets: tuple[str, ...] = field(default=(), repr=False)
    check_name: Callable[[], str] = lambda: ""
    note: str = ""
    _count: int = 0

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = [p for p in self.directory.glob("*.json") if p.name[:5].isdigit()]
        self._count = len(existing)

    def __call__(self, exchange: Exchange) -> None:
        self._count += 1
        check = re.sub(r"[^a-z0-9]+", "-", self.check_name().lower()).strip("-") or "request"
        name = f"{self._count:05d}-{check[:40]}-{exchange.method.lower()}-{exchange.status}.json"
        record = {
            "format": RECORDING_FORMAT,
            "recorded_from": self.source,
            "note": self.note,
            "check": self.check_name(),
            "request": exchange.request_json(),
            "response": exchange.response_json(),
        }
        text = json.dumps(scrub(record, self.secrets), indent=2, ensure_ascii=False)
        (self.directory / name).write_text(text + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Recording:
    path: Path
    source: str
    request: dict[str, Any]
    response: dict[str, Any]


def load_recordings(directory: Path) -> Iterator[Recording]:
    """The recordings in ``directory``, in the order they were made."""
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != RECORDING_FORMAT:
            continue
        yield Recording(path, data["recorded_from"], data["request"], data["response"])


def _task_id(body: Any) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    task_id = data.get("task_id") if isinstance(data, dict) else None
    return task_id if isinstance(task_id, str) else None


def replay(recordings: Iterable[Recording], target: Target) -> list[str]:
    """Send each recorded request to ``target``; report answers that differ in status or shape.

    Task ids are mapped as they are created: a recorded GET of a task the recording
    created reads the task the replay created in its place. Values (ids, statuses as
    time passes) may differ; the status code and the body's shape may not.
    """
    ids: dict[str, str] = {}
    problems = []
    for recording in recordings:
        request, expected = recording.request, recording.response
        path = str(request["path"])
        for old, new in ids.items():
            path = path.replace(old, new)
        raw = request.get("raw_body")
        exchange = target.send(
            str(request["method"]),
            path,
            body=request.get("body", NO_BODY),
            query=dict(request.get("query") or {}),
            auth=request.get("auth", "key"),
            raw=raw.encode() if isinstance(raw, str) else None,
        )
        got = exchange.response_body if exchange.json_ok else "not JSON"
        recorded = expected["body"] if expected.get("body_is_json") else "not JSON"
        name = recording.path.name
        if exchange.status != expected["status"]:
            problems.append(f"{name}: status {exchange.status}, recorded {expected['status']}")
        elif not shapes_agree(body_shape(got), body_shape(recorded)):
            problems.append(
                f"{name}: body shape {body_shape(got)}, recorded {body_shape(recorded)}"
            )
        old_id, new_id = _task_id(recorded), _task_id(got)
        if request["method"] == "POST" and old_id and new_id:
            ids[old_id] = new_id
    return problems
