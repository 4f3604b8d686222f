"""WireMock beside the fake: stubs answering what the fake answers, and its command line.

WireMock validates nothing: it answers whichever stub matches. So that each cell costs
it what a user's stubs would (and so that the bodies are the fake's, byte for byte),
the stubs are made from the fake's own answers, captured in-process just before the
run: a create matching the valid body exactly answers the fake's 200, any other create
the fake's 400 for the invalid body, a read of any task id the fake's task, and the
list the fake's first page of as many tasks as the socket rounds store first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cells import CELLS, CREATE_PATH, TASKS_PATH, VALID_BODY, Cell

__all__ = [
    "LIST_FILL",
    "Answer",
    "capture_fake_answers",
    "stub_mappings",
    "wiremock_command",
    "write_mappings",
]

# The fake stores this many tasks before each round (suite.prepare_fake), so that the
# list is a full first page; the list the stubs answer is a page of as many.
LIST_FILL = 20


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: its status, content type and body."""

    status: int
    content_type: str
    body: bytes


async def _capture(fill: int) -> tuple[dict[str, Answer], str]:
    import httpx

    from mockserver import MockConfig, create_app

    # A fast clock lets the stored tasks reach COMPLETED (with their result URL), as they
    # have by the time the socket rounds read them.
    app = create_app(MockConfig(time_scale=0.001))
    answers: dict[str, Answer] = {}
    task_id = ""
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

            async def send(cell: Cell) -> Answer:
                request = cell.request(task_id)
                response = await client.request(
                    request.method, request.path, headers=dict(request.headers),
                    content=request.body,
                )  # fmt: skip
                content_type = response.headers.get("content-type", "application/json")
                return Answer(response.status_code, content_type, response.content)

            by_key = {cell.key: cell for cell in CELLS}
            for _ in range(fill):
                answers["valid_post"] = await send(by_key["valid_post"])
                task_id = json.loads(answers["valid_post"].body)["data"]["task_id"]
            answers["invalid_post"] = await send(by_key["invalid_post"])
            for _ in range(200):
                await asyncio.sleep(0.01)
                answers["get_by_id"] = await send(by_key["get_by_id"])
                if b"COMPLETED" in answers["get_by_id"].body:
                    break
            answers["get_list"] = await send(by_key["get_list"])
    finally:
        await app.state.mock.shutdown()
    return answers, task_id


def capture_fake_answers(fill: int = LIST_FILL) -> tuple[dict[str, Answer], str]:
    """The fake's answer to each cell (by cell key), and the id of the task read by id."""
    return asyncio.run(_capture(fill))


def _response(answer: Answer) -> dict[str, Any]:
    return {
        "status": answer.status,
        "headers": {"Content-Type": answer.content_type},
        "body": answer.body.decode(),
    }


_KEY_PRESENT = {"x-freepik-api-key": {"matches": ".+"}}


def stub_mappings(answers: Mapping[str, Answer]) -> list[dict[str, Any]]:
    """WireMock stub mappings (its JSON format) answering each cell as the fake did."""
    valid = json.dumps(VALID_BODY, separators=(",", ":"))
    return [
        {
            "name": "create: the valid body",
            "priority": 1,
            "request": {
                "method": "POST",
                "urlPath": CREATE_PATH,
                "headers": _KEY_PRESENT,
                "bodyPatterns": [{"equalToJson": valid}],
            },
            "response": _response(answers["valid_post"]),
        },
        {
            # No validation in WireMock: every other create gets the invalid body's refusal.
            "name": "create: any other body",
            "priority": 2,
            "request": {"method": "POST", "urlPath": CREATE_PATH, "headers": _KEY_PRESENT},
            "response": _response(answers["invalid_post"]),
        },
        {
            "name": "task by id",
            "priority": 1,
            "request": {
                "method": "GET",
                "urlPathPattern": f"{TASKS_PATH}/[^/]+",
                "headers": _KEY_PRESENT,
            },
            "response": _response(answers["get_by_id"]),
        },
        {
            "name": "task list",
            "priority": 1,
            "request": {"method": "GET", "urlPath": TASKS_PATH, "headers": _KEY_PRESENT},
            "response": _response(answers["get_list"]),
        },
    ]


def write_mappings(root: Path, mappings: list[dict[str, Any]]) -> Path:
    """Write the stubs where ``--root-dir root`` loads them (``root/mappings``); ``root``."""
    folder = root / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    for number, mapping in enumerate(mappings):
        (folder / f"{number:02d}.json").write_text(json.dumps(mapping, indent=2))
    return root


def wiremock_command(java: str, jar: Path, root: Path, port: int) -> list[str]:
    """WireMock standalone as a user would run it for a load test, on loopback only.

    Started with ``java -jar`` directly (what the npm package's launcher runs) so that
    the process measured and stopped is WireMock's own. ``--no-request-journal`` is
    WireMock's own advice for load tests (the journal otherwise keeps every request);
    asynchronous responses are left off, as they only help delayed stubs.
    """
    return [
        java, "-jar", str(jar),
        "--bind-address", "127.0.0.1",
        "--port", str(port),
        "--root-dir", str(root),
        "--disable-banner",
        "--no-request-journal",
    ]  # fmt: skip
