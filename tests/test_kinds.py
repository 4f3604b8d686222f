"""An operation's kind comes from its shape and its documented success answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mockserver.kinds import (
    is_task_envelope,
    listed_fields,
    plan,
    status_fields,
    success_response,
)
from mockserver.spec import Operation, Parameter, load_spec

ID = Parameter("task-id", "path", True, {"type": "string"})
TASK: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {
            "allOf": [
                {"properties": {"task_id": {"type": "string"}, "status": {"type": "string"}}},
                {"properties": {"generated": {"type": "array"}}},
            ]
        }
    },
}
TASKS = {"properties": {"data": {"type": "array", "items": TASK["properties"]["data"]}}}
IMAGES = {"properties": {"data": {"type": "array", "items": {"properties": {"url": {}}}}}}


def _op(method: str, path: str, schema: Any, *params: Parameter) -> Operation:
    responses = {"200": {"application/json": schema}, "400": {}}
    return Operation(
        method, path, f"{method} {path}", params, False, (), None, responses, None, Path()
    )


def test_the_vendored_spec_is_creates_reads_and_lists() -> None:
    found = plan(load_spec(None))
    assert sorted(found.kinds.values()) == ["create"] * 4 + ["list"] * 2 + ["read"] * 2


def test_task_envelopes_and_other_bodies() -> None:
    assert is_task_envelope(TASK)
    assert not is_task_envelope(TASKS) and not is_task_envelope(IMAGES)
    assert listed_fields(TASKS) == {"task_id", "status", "generated"}


def test_kinds_from_shape_and_answer() -> None:
    ops = [
        _op("post", "/v1/ai/mystic", TASK),
        _op("get", "/v1/ai/mystic", TASKS),
        _op("get", "/v1/ai/mystic/{task-id}", TASK, ID),
        # Documents no body, but belongs to a collection of tasks (the Kling creates).
        _op("post", "/v1/ai/mystic-pro", {"description": "OK"}),
        # Answers at once.
        _op("post", "/v1/ai/text-to-image", IMAGES),
        _op("get", "/v1/icons", IMAGES),
        _op("delete", "/v1/ai/mystic/{task-id}", {}, ID),
        # A POST on one task answers an envelope but creates nothing.
        _op("post", "/v1/ai/mystic/{task-id}/render", TASK, ID),
    ]
    kinds = plan(ops).kinds
    assert list(kinds.values()) == [
        "create",
        "list",
        "read",
        "create",
        "call",
        "call",
        "call",
        "call",
    ]


def test_a_get_documenting_no_body_is_a_read_only_where_it_serves_a_create() -> None:
    ops = [
        _op("post", "/v1/ai/music", TASK),
        _op("get", "/v1/ai/music/{task-id}", {"description": "OK"}, ID),
        _op("get", "/v1/other/{id}", {"description": "OK"}, ID),
    ]
    assert list(plan(ops).kinds.values()) == ["create", "read", "call"]


def test_the_first_documented_success_and_json_first() -> None:
    op = Operation(
        "post",
        "/x",
        "x",
        (),
        False,
        (),
        None,
        {"400": {}, "202": {"text/plain": None, "application/json": {"type": "object"}}},
        None,
        Path(),
    )
    assert success_response(op) == (202, "application/json", {"type": "object"})


def test_status_fields_are_found_by_the_statuses_their_enum_holds() -> None:
    statuses = ["IN_PROGRESS", "CREATED", "COMPLETED", "FAILED"]
    own = {
        "properties": {
            "task_id": {"type": "string"},
            "task_status": {"enum": statuses},
            "quality": {"enum": ["CREATED", "LOW"]},  # one status alone is not one
        }
    }
    assert status_fields(own) == {"task_status"}
    enveloped = {"properties": {"data": {"allOf": [{"properties": {"state": {"enum": statuses}}}]}}}
    assert status_fields(enveloped) == {"state"}
    assert status_fields(IMAGES) == frozenset()
    listed = {"properties": {"data": {"type": "array", "items": own}}}
    assert status_fields(listed) == {"task_status"}
