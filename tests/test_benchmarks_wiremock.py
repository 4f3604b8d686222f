"""WireMock's stubs answer each benchmark cell as the fake does: same status, same body.

The stubs are matched here as WireMock matches them (method, URL path or path pattern,
header patterns, ``equalToJson`` body patterns, the lowest priority number first), so
no WireMock is needed; tests/test_benchmarks_suite.py checks the real one agrees.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx

from benchmarks.cells import CELLS, INVALID_BODY, VALID_BODY, Cell, create_request
from benchmarks.load import Request
from benchmarks.wiremock import (
    LIST_FILL,
    Answer,
    capture_fake_answers,
    stub_mappings,
    wiremock_command,
    write_mappings,
)
from mockserver import MockConfig, create_app

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


_TOKEN = re.compile(rb"token=exp=\d+~hmac=[0-9a-f]{64}")


def without_ids(body: bytes) -> bytes:
    """Two fakes give their tasks different ids, and sign result URLs with keys of their
    own (mockserver/results.py); everything else must be the same."""
    return _TOKEN.sub(b"token=<token>", _UUID.sub(b"<id>", body))


def _matches(pattern: dict[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    if "equalTo" in pattern:
        return bool(value == pattern["equalTo"])
    return re.fullmatch(pattern["matches"], value) is not None


def wiremock_match(mappings: list[dict[str, Any]], request: Request) -> dict[str, Any] | None:
    """The stub WireMock answers ``request`` with, or None (WireMock's 404)."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    found = []
    for mapping in mappings:
        wanted = mapping["request"]
        if wanted["method"] != request.method:
            continue
        if "urlPath" in wanted and wanted["urlPath"] != request.path:
            continue
        if "urlPathPattern" in wanted and not re.fullmatch(wanted["urlPathPattern"], request.path):
            continue
        if not all(
            _matches(pattern, headers.get(name.lower()))
            for name, pattern in wanted.get("headers", {}).items()
        ):
            continue
        bodies = wanted.get("bodyPatterns", [])
        if not all(json.loads(request.body) == json.loads(p["equalToJson"]) for p in bodies):
            continue
        found.append(mapping)
    # WireMock tries stubs by priority (1 first); among equals, the newest first.
    return min(reversed(found), key=lambda m: m.get("priority", 5), default=None)


async def _fake_answers() -> dict[str, Answer]:
    """A fresh fake's answer to each cell, in the state the socket rounds read it."""
    app = create_app(MockConfig(time_scale=0.001))
    transport = httpx.ASGITransport(app=app)
    answers: dict[str, Answer] = {}
    task_id = ""
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:

            async def send(cell: Cell) -> Answer:
                request = cell.request(task_id)
                response = await client.request(
                    request.method, request.path, headers=dict(request.headers),
                    content=request.body,
                )  # fmt: skip
                return Answer(
                    response.status_code, response.headers["content-type"], response.content
                )

            by_key = {cell.key: cell for cell in CELLS}
            for _ in range(LIST_FILL):
                answers["valid_post"] = await send(by_key["valid_post"])
                task_id = json.loads(answers["valid_post"].body)["data"]["task_id"]
            await asyncio.sleep(0.5)  # every task COMPLETED (3 ms at this time scale)
            for cell in CELLS[1:]:
                answers[cell.key] = await send(cell)
    finally:
        await app.state.mock.shutdown()
    return answers


def test_each_cell_gets_the_fakes_status_and_body_from_the_stubs() -> None:
    captured, task_id = capture_fake_answers()
    mappings = stub_mappings(captured)
    fake = asyncio.run(_fake_answers())
    assert [fake[cell.key].status for cell in CELLS] == [200, 400, 200, 200]
    for cell in CELLS:
        stub = wiremock_match(mappings, cell.request(task_id))
        assert stub is not None, f"no stub answers {cell.key}"
        answer = stub["response"]
        assert answer["status"] == fake[cell.key].status, cell.key
        assert answer["headers"]["Content-Type"] == fake[cell.key].content_type, cell.key
        assert without_ids(answer["body"].encode()) == without_ids(fake[cell.key].body), cell.key
        if cell.key == "get_by_id":  # the task the cell asks for, not just any task
            assert task_id in answer["body"]


def status_of(stub: dict[str, Any] | None) -> int | None:
    return None if stub is None else int(stub["response"]["status"])


def test_only_the_valid_body_gets_a_200_and_a_key_is_needed() -> None:
    captured, _ = capture_fake_answers()
    mappings = stub_mappings(captured)
    reordered = create_request(dict(reversed(list(VALID_BODY.items()))))
    changed = create_request({**VALID_BODY, "duration": "99"})
    assert status_of(wiremock_match(mappings, reordered)) == 200
    assert status_of(wiremock_match(mappings, changed)) == 400
    invalid = create_request(INVALID_BODY)
    keyless = Request(invalid.method, invalid.path, {"content-type": "application/json"}, b"{}")
    assert status_of(wiremock_match(mappings, keyless)) is None


def test_mappings_are_written_where_root_dir_loads_them(tmp_path: Path) -> None:
    captured, _ = capture_fake_answers()
    mappings = stub_mappings(captured)
    root = write_mappings(tmp_path / "wm", mappings)
    written = sorted((root / "mappings").glob("*.json"))
    assert [json.loads(path.read_text()) for path in written] == mappings
    argv = wiremock_command("java", Path("wiremock.jar"), root, 8123)
    assert argv[argv.index("--root-dir") + 1] == str(root)
    assert argv[argv.index("--bind-address") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "8123"
