"""The benchmark's cells (what is sent) and the servers they are sent to.

The four requests are those a client of the API sends most: a valid create, an
invalid create with four violations (a missing required field, a URI that is not
one, a value outside its enum, a number above its maximum), a task read by id, and the
task list. Every server answers each with a known status; any other answer counts as
unexpected in the results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from .load import Request

__all__ = [
    "API_KEY",
    "CELLS",
    "CREATE_PATH",
    "INVALID_BODY",
    "TASKS_PATH",
    "VALID_BODY",
    "Cell",
    "Target",
    "create_request",
]

API_KEY = "benchmark-key"
CREATE_PATH = "/v1/ai/reference-to-video/kling-v3-omni-std"
TASKS_PATH = "/v1/ai/reference-to-video/kling-v3-omni"

VALID_BODY = {
    "video_url": "https://example.com/reference.mp4",
    "prompt": "A cat walks along a wall at dusk, following the motion of @Video1",
    "duration": "5",
    "aspect_ratio": "16:9",
}
# Four violations: video_url missing, webhook_url not a URI, duration outside its
# enum, cfg_scale above its maximum.
INVALID_BODY = {
    "prompt": "A cat walks along a wall",
    "webhook_url": "not a uri",
    "duration": "99",
    "cfg_scale": 5,
}

_JSON = {"content-type": "application/json", "x-freepik-api-key": API_KEY}
_AUTH = {"x-freepik-api-key": API_KEY}


def create_request(body: Mapping[str, object]) -> Request:
    return Request("POST", CREATE_PATH, _JSON, json.dumps(body, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Cell:
    key: str
    title: str
    # What a faithful server answers (the bare ceiling answers 200 to everything).
    expected: int
    # Which of a server's ports serves it: Prism serves the seed spec (the POST) and the
    # tasks document (the GETs) from two processes.
    document: str

    def request(self, task_id: str) -> Request:
        if self.key == "valid_post":
            return create_request(VALID_BODY)
        if self.key == "invalid_post":
            return create_request(INVALID_BODY)
        if self.key == "get_by_id":
            return Request("GET", f"{TASKS_PATH}/{task_id}", _AUTH)
        return Request("GET", TASKS_PATH, _AUTH)


CELLS: tuple[Cell, ...] = (
    Cell("valid_post", "valid POST", 200, "seed"),
    Cell("invalid_post", "invalid POST (4 violations)", 400, "seed"),
    Cell("get_by_id", "GET by id", 200, "tasks"),
    Cell("get_list", "GET list", 200, "tasks"),
)


@dataclass
class Target:
    """A server under test: its name, its ports per document, and its known answers."""

    key: str
    title: str
    ports: dict[str, int]
    task_id: str = "00000000-0000-0000-0000-000000000000"
    expected: dict[str, int] = field(default_factory=dict)

    def port_for(self, cell: Cell) -> int:
        return self.ports.get(cell.document, self.ports["seed"])

    def expected_status(self, cell: Cell) -> int:
        return self.expected.get(cell.key, cell.expected)
