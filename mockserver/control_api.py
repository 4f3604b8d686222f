"""The control API under ``/_mock``: health, clock, task outcomes, webhooks, faults,
journal, reset, and the media files that results point to (its routes and handlers; the
client is ``control_client.py``).

Open to loopback clients by default; ``control_token`` requires the
``x-mock-control-token`` header instead; ``control=False`` removes everything but health
and media. Its own request bodies are checked with small JSON Schemas of its own.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from .api import base_url
from .clock import ClockOutOfRange
from .constants import CONTROL_PREFIX, CONTROL_TOKEN_HEADER, FIXTURES_PATH, RESULT_ROUTE
from .errors import ApiError, json_response
from .faults import BodilessStatus
from .hosts import is_loopback_host
from .lifecycle import IllegalTransition
from .media import fixture_path
from .result_media import VIDEO
from .tasks import COMPLETED, STATUSES, Task
from .validation import BodyValidator

if TYPE_CHECKING:
    from .runtime import MockRuntime

__all__ = ["control_routes", "result_file"]


def result_file(aspect_ratio: str | None) -> str:
    """The fixture a COMPLETED Kling task's result URL serves: the one of its aspect ratio."""
    return VIDEO.file(aspect_ratio)


def _runtime(request: Request) -> MockRuntime:
    runtime: MockRuntime = request.app.state.mock
    runtime.ensure_started()
    return runtime


def _guard(request: Request) -> MockRuntime:
    runtime = _runtime(request)
    config = runtime.config
    if not config.control:
        raise ApiError.with_message(404, "Not Found")
    if config.control_token is not None:
        given = request.headers.get(CONTROL_TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), config.control_token.encode()):
            raise ApiError.with_message(401, f"Missing or wrong {CONTROL_TOKEN_HEADER} header")
        return runtime
    # In-process clients have no address (no client at all, or Starlette's TestClient's
    # "testclient"): they run in this very process.
    host = request.client.host if request.client else ""
    if host not in ("", "testclient") and not is_loopback_host(host):
        raise ApiError.with_message(
            403, "The control API answers loopback clients only (set --control-token)"
        )
    return runtime


_SCHEMAS: dict[str, dict[str, Any]] = {
    "advance": {
        "type": "object",
        "required": ["seconds"],
        "properties": {"seconds": {"type": "number", "minimum": 0}},
    },
    "status": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": list(STATUSES)},
            "reason": {"type": "string"},
        },
    },
    "fault": {
        "type": "object",
        "properties": {
            "method": {"type": "string", "minLength": 1},
            "path": {"type": "string", "minLength": 1},
            "status": {"type": ["integer", "null"], "minimum": 100, "maximum": 599},
            "times": {"type": ["integer", "null"], "minimum": 1},
            "delay_ms": {"type": "integer", "minimum": 0, "maximum": 600_000},
            "drop": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
}
# Checked as the API's bodies are (an empty body is an empty object), null refused where
# the schema has no "null" type: the "spec" reading, as nobody observed this API.
_VALIDATORS = {
    name: BodyValidator(schema, profile="spec", where=f"control API {name} body")
    for name, schema in _SCHEMAS.items()
}


async def _body(request: Request, schema: str) -> dict[str, Any]:
    raw = await request.body()
    return _VALIDATORS[schema].body(raw)  # RequestInvalid: errors.exception_handlers


def _task_view(runtime: MockRuntime, task: Task, request: Request) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "status": task.status,
        "generated": list(
            runtime.results.generated(
                task.task_id, task.status, base_url(request), runtime.media_of(task.family)
            )
        ),
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "outcome": task.outcome,
        "aspect_ratio": task.aspect_ratio,
        "webhook_url": task.webhook_url,
        "failure_reason": task.failure_reason,
        "request": orjson.loads(task.request_json),
    }


async def health(request: Request) -> Response:
    return json_response(200, {"status": "ok"})


# What a CDN answers a request whose signed token is expired or not its own.
_ACCESS_DENIED = (
    "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY><H1>Access Denied</H1>"
    "You don't have permission to access this URL on this server.</BODY></HTML>\n"
)


async def media(request: Request) -> Response:
    """A completed task's result (its family's media), behind its signed URL (results.py)."""
    runtime = _runtime(request)
    params = request.path_params
    task_id = params["task_id"]
    signed = RESULT_ROUTE.format(**params)
    token = request.query_params.get("token", "")
    if not runtime.results.allows(signed, token):
        return HTMLResponse(_ACCESS_DENIED, status_code=403)
    task = runtime.store.get(task_id)
    result = runtime.media_of(task.family) if task is not None else None
    if task is None or result is None or task.status != COMPLETED or result.path(task_id) != signed:
        raise ApiError.with_message(404, "Not Found")
    path: Path = runtime.media_dir / result.file(task.aspect_ratio)
    return FileResponse(path, media_type=result.content_type)


async def fixture(request: Request) -> Response:
    """A sample media file, so offline tests can point a task's media URLs at it."""
    runtime = _runtime(request)
    path = fixture_path(runtime.media_dir, request.path_params["name"])
    if path is None:
        raise ApiError.with_message(404, "Not Found")
    return FileResponse(path, media_type=_FIXTURE_TYPES.get(path.suffix.lower()))


_FIXTURE_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".wav": "audio/wav",
}


async def get_clock(request: Request) -> Response:
    runtime = _guard(request)
    return json_response(200, {"mode": runtime.clock.mode, "now": runtime.clock.now()})


async def advance_clock(request: Request) -> Response:
    runtime = _guard(request)
    body = await _body(request, "advance")
    if runtime.manual_clock is None:
        raise ApiError.with_message(409, "The clock is not manual (start with --clock manual)")
    try:
        now, applied = await runtime.advance(float(body["seconds"]))
    except ClockOutOfRange as exc:
        raise ApiError.bad_request(str(exc)) from None
    return json_response(200, {"mode": "manual", "now": now, "applied": applied})


async def list_all_tasks(request: Request) -> Response:
    runtime = _guard(request)
    runtime.lifecycle.process_due()
    return json_response(
        200, {"data": [_task_view(runtime, t, request) for t in runtime.store.all()]}
    )


def _task_or_404(runtime: MockRuntime, request: Request) -> Task:
    task = runtime.store.get(request.path_params["task_id"])
    if task is None:
        raise ApiError.task_not_found()
    return task


async def get_task(request: Request) -> Response:
    runtime = _guard(request)
    runtime.lifecycle.process_due()
    return json_response(
        200, {"data": _task_view(runtime, _task_or_404(runtime, request), request)}
    )


async def force_status(request: Request) -> Response:
    runtime = _guard(request)
    body = await _body(request, "status")
    runtime.lifecycle.process_due()
    task = _task_or_404(runtime, request)
    try:
        task = runtime.lifecycle.force(task.task_id, body["status"], body.get("reason"))
    except IllegalTransition as exc:
        raise ApiError.with_message(409, str(exc)) from None
    return json_response(200, {"data": _task_view(runtime, task, request)})


async def webhook_log(request: Request) -> Response:
    runtime = _guard(request)
    task_id = request.query_params.get("task_id")
    return json_response(
        200, {"data": runtime.webhooks.log(task_id), "pending": runtime.webhooks.pending()}
    )


async def drain_webhooks(request: Request) -> Response:
    runtime = _guard(request)
    done = await runtime.webhooks.drain()
    return json_response(200, {"drained": done, "pending": runtime.webhooks.pending()})


async def list_faults(request: Request) -> Response:
    runtime = _guard(request)
    return json_response(200, {"data": [f.to_json() for f in runtime.faults.list()]})


async def add_fault(request: Request) -> Response:
    runtime = _guard(request)
    body = await _body(request, "fault")
    if body.get("status") is None and not body.get("drop") and not body.get("delay_ms"):
        raise ApiError.bad_request("A fault needs a status, a delay_ms or drop: true")
    try:
        fault = runtime.faults.add(
            method=body.get("method", "*"),
            path=body.get("path", "*"),
            status=body.get("status"),
            times=body.get("times", 1),
            delay_ms=body.get("delay_ms", 0),
            drop=body.get("drop", False),
        )
    except BodilessStatus as exc:
        raise ApiError.bad_request(str(exc)) from None
    return json_response(201, {"data": fault.to_json()})


async def clear_faults(request: Request) -> Response:
    runtime = _guard(request)
    runtime.faults.clear()
    return json_response(200, {"data": []})


async def journal(request: Request) -> Response:
    runtime = _guard(request)
    raw_limit = request.query_params.get("limit")
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if raw_limit is not None and not (raw_limit.isascii() and raw_limit.isdigit()):
        raise ApiError.bad_request(f"limit must be a whole number >= 0, not {raw_limit!r}")
    kind = request.query_params.get("kind")
    if kind is not None and kind not in _JOURNAL_KINDS:
        raise ApiError.bad_request(f"kind must be one of {', '.join(_JOURNAL_KINDS)}, not {kind!r}")
    limit = int(raw_limit) if raw_limit else None
    return json_response(200, {"data": runtime.journal.entries(limit, kind)})


_JOURNAL_KINDS = ("request", "transition")


async def reset(request: Request) -> Response:
    runtime = _guard(request)
    runtime.reset()
    return json_response(200, {"status": "reset"})


def control_routes() -> list[Route]:
    prefix = CONTROL_PREFIX
    return [
        Route(prefix + "/health", health, methods=["GET"]),
        Route(RESULT_ROUTE, media, methods=["GET"]),
        Route(FIXTURES_PATH + "{name}", fixture, methods=["GET"]),
        Route(prefix + "/clock", get_clock, methods=["GET"]),
        Route(prefix + "/clock/advance", advance_clock, methods=["POST"]),
        Route(prefix + "/tasks", list_all_tasks, methods=["GET"]),
        Route(prefix + "/tasks/{task_id}", get_task, methods=["GET"]),
        Route(prefix + "/tasks/{task_id}/status", force_status, methods=["POST"]),
        Route(prefix + "/webhooks", webhook_log, methods=["GET"]),
        Route(prefix + "/webhooks/drain", drain_webhooks, methods=["POST"]),
        Route(prefix + "/faults", list_faults, methods=["GET"]),
        Route(prefix + "/faults", add_fault, methods=["POST"]),
        Route(prefix + "/faults", clear_faults, methods=["DELETE"]),
        Route(prefix + "/requests", journal, methods=["GET"]),
        Route(prefix + "/reset", reset, methods=["POST"]),
    ]
