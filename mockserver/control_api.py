"""The control API under ``/_mock``: health, clock, task outcomes and timelines, webhooks,
faults, journal, reset, metrics, its own OpenAPI document (``control_openapi.json``), the
dashboard page (``ui/``), and the media files that results point to (its routes and
handlers; the client is ``control_client.py``).

Each request acts on its namespace's runtime (the ``x-freepik-mock-namespace`` header;
without it, the default namespace): its clock, tasks, faults, journal, webhook log and
reset. ``/_mock/namespaces`` lists the namespaces and deletes finished ones.

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

from .api import base_url, runtime_of
from .clock import ClockOutOfRange
from .constants import (
    CONTROL_PREFIX,
    CONTROL_TOKEN_HEADER,
    DEFAULT_NAMESPACE,
    FIXTURES_PATH,
    NAMESPACE_QUERY,
    RESULT_ROUTE,
)
from .errors import ApiError, json_response
from .faults import BodilessStatus
from .hosts import is_loopback_host
from .lifecycle import IllegalTransition
from .media import fixture_path
from .result_media import VIDEO
from .tasks import COMPLETED, CREATED, STATUSES, Task
from .validation import BodyValidator

if TYPE_CHECKING:
    from .namespaces import Namespaces
    from .runtime import MockRuntime

__all__ = ["control_routes", "result_file"]


def result_file(aspect_ratio: str | None) -> str:
    """The fixture a COMPLETED Kling task's result URL serves: the one of its aspect ratio."""
    return VIDEO.file(aspect_ratio)


def _runtime(request: Request) -> MockRuntime:
    return runtime_of(request)


def _namespaces(request: Request) -> Namespaces:
    namespaces: Namespaces = request.app.state.namespaces
    return namespaces


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


# What the control API serves and takes, described (GET /_mock/openapi.json); its request
# bodies are checked with the document's own schemas.
_DOC_PATH = Path(__file__).with_name("control_openapi.json")
_DOC_BYTES = _DOC_PATH.read_bytes()
_DOC_SCHEMAS: dict[str, dict[str, Any]] = orjson.loads(_DOC_BYTES)["components"]["schemas"]
_SCHEMAS = {name: _DOC_SCHEMAS[name] for name in ("Advance", "ForceStatus", "FaultRule")}
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
    """A completed task's result (its family's media), behind its signed URL (results.py),
    which names its namespace unless it is the default one: whoever fetches it sends no
    header."""
    named = request.query_params.get(NAMESPACE_QUERY)
    runtime = _runtime(request) if named is None else _namespaces(request).find(named)
    params = request.path_params
    task_id = params["task_id"]
    signed = RESULT_ROUTE.format(**params)
    token = request.query_params.get("token", "")
    if runtime is None or not runtime.results.allows(signed, token):
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
    body = await _body(request, "Advance")
    if runtime.manual_clock is None:
        raise ApiError.with_message(409, "The clock is not manual (start with --clock manual)")
    try:
        now, applied = await runtime.advance(float(body["seconds"]))
    except ClockOutOfRange as exc:
        raise ApiError.bad_request(str(exc)) from None
    return json_response(200, {"mode": "manual", "now": now, "applied": applied})


async def list_all_tasks(request: Request) -> Response:
    runtime = _guard(request)
    query = request.query_params
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise ApiError.bad_request(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    order = query.get("order", "oldest")
    if order not in ("oldest", "newest"):
        raise ApiError.bad_request(f"order must be oldest or newest, not {order!r}")
    limit = _whole_number(query.get("limit"))
    contains = query.get("task_id", "")
    runtime.lifecycle.process_due()
    tasks = [
        t
        for t in runtime.store.all()
        if (status is None or t.status == status) and contains in t.task_id
    ]
    # Oldest first, in the order the store made them where clocks tie (a manual clock).
    tasks.sort(key=lambda t: t.created_at)
    if order == "newest":
        tasks.reverse()
    if limit:
        tasks = tasks[:limit]
    return json_response(200, {"data": [_task_view(runtime, t, request) for t in tasks]})


def _whole_number(raw: str | None) -> int | None:
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError.bad_request(f"limit must be a whole number >= 0, not {raw!r}")
    return int(raw)


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
    body = await _body(request, "ForceStatus")
    runtime.lifecycle.process_due()
    task = _task_or_404(runtime, request)
    try:
        task = runtime.lifecycle.force(task.task_id, body["status"], body.get("reason"))
    except IllegalTransition as exc:
        raise ApiError.with_message(409, str(exc)) from None
    return json_response(200, {"data": _task_view(runtime, task, request)})


async def task_timeline(request: Request) -> Response:
    """One task's life in one answer: what the dashboard shows."""
    runtime = _guard(request)
    runtime.lifecycle.process_due()
    task = _task_or_404(runtime, request)
    task_id = task.task_id
    statuses: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    for entry in runtime.journal.entries():
        if entry["kind"] == "transition" and entry["task_id"] == task_id:
            change = {"status": entry["status"], "at": entry["at"], "from": entry["from"]}
            if "reason" in entry:
                change["reason"] = entry["reason"]
            statuses.append(change)
        elif entry["kind"] == "request" and (
            entry.get("task_id") == task_id or task_id in entry["path"].split("/")
        ):
            requests.append(entry)
    # A creation is no transition; the journal is bounded, so the task's own times fill in.
    if not statuses or statuses[0]["from"] is not None:
        statuses.insert(0, {"status": CREATED, "at": task.created_at, "from": None})
    if statuses[-1]["status"] != task.status:
        statuses.append({"status": task.status, "at": task.updated_at, "from": None})
    timeline = {
        "task": _task_view(runtime, task, request),
        "statuses": statuses,
        "webhooks": runtime.webhooks.log(task_id),
        "requests": requests,
    }
    return json_response(200, {"data": timeline})


async def webhook_log(request: Request) -> Response:
    runtime = _guard(request)
    task_id = request.query_params.get("task_id")
    entries = _in_namespace(runtime, runtime.webhooks.log(task_id))
    return json_response(200, {"data": entries, "pending": runtime.webhooks.pending()})


def _in_namespace(runtime: MockRuntime, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log entries as read: each says its namespace (copies; the logs keep theirs)."""
    namespace = runtime.namespace
    return [{**entry, "namespace": namespace} for entry in entries]


async def drain_webhooks(request: Request) -> Response:
    runtime = _guard(request)
    done = await runtime.webhooks.drain()
    return json_response(200, {"drained": done, "pending": runtime.webhooks.pending()})


async def list_faults(request: Request) -> Response:
    runtime = _guard(request)
    return json_response(200, {"data": [f.to_json() for f in runtime.faults.list()]})


async def add_fault(request: Request) -> Response:
    runtime = _guard(request)
    body = await _body(request, "FaultRule")
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


# One route per path, so that a 405 names every method the path takes (Allow).
_FAULT_HANDLERS = {"GET": list_faults, "POST": add_fault, "DELETE": clear_faults}


async def faults(request: Request) -> Response:
    method = "GET" if request.method == "HEAD" else request.method
    return await _FAULT_HANDLERS[method](request)


async def journal(request: Request) -> Response:
    runtime = _guard(request)
    limit = _whole_number(request.query_params.get("limit"))
    kind = request.query_params.get("kind")
    if kind is not None and kind not in _JOURNAL_KINDS:
        raise ApiError.bad_request(f"kind must be one of {', '.join(_JOURNAL_KINDS)}, not {kind!r}")
    return json_response(
        200, {"data": _in_namespace(runtime, runtime.journal.entries(limit, kind))}
    )


_JOURNAL_KINDS = ("request", "transition")


async def reset(request: Request) -> Response:
    """Empty the request's namespace (the others keep their state)."""
    runtime = _guard(request)
    runtime.reset()
    return json_response(200, {"status": "reset", "namespace": runtime.namespace})


async def list_namespaces(request: Request) -> Response:
    _guard(request)
    namespaces = _namespaces(request)
    data = [{"namespace": r.namespace, "tasks": len(r.store)} for r in namespaces]
    return json_response(200, {"data": data, "limit": namespaces.limit})


async def delete_namespace(request: Request) -> Response:
    """Stop and forget a namespace, so that its memory and its place count no more."""
    _guard(request)
    name = request.path_params["name"]
    if name == DEFAULT_NAMESPACE:
        raise ApiError.with_message(
            409, "The default namespace cannot be deleted; POST /_mock/reset empties it"
        )
    if not await _namespaces(request).delete(name):
        raise ApiError.with_message(404, f"No namespace {name!r}")
    return json_response(200, {"deleted": name})


async def metrics(request: Request) -> Response:
    _guard(request)
    body, media_type = request.app.state.metrics.render()
    return Response(body, headers={"content-type": media_type})


async def control_openapi(request: Request) -> Response:
    _guard(request)
    return Response(_DOC_BYTES, media_type="application/json")


# The dashboard: a page and its assets from the package, nothing fetched from elsewhere.
_UI_DIR = Path(__file__).with_name("ui")
_UI_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_UI_HEADERS = {
    # Scripts and styles from the fake only: a task's fields are data, never markup.
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
}


def _page_guard(request: Request) -> None:
    """The page holds no data: with a token it is served to anyone and sends the token
    (typed in, kept in sessionStorage) with every call; without one, loopback only."""
    config = _runtime(request).config
    if not config.control:
        raise ApiError.with_message(404, "Not Found")
    if config.control_token is None:
        _guard(request)


def _ui_file(name: str) -> Response:
    media_type = _UI_FILES.get(name)
    if media_type is None:
        raise ApiError.with_message(404, "Not Found")
    content = (_UI_DIR / name).read_bytes()
    return Response(content, headers={**_UI_HEADERS, "content-type": media_type})


async def dashboard(request: Request) -> Response:
    _page_guard(request)
    return _ui_file("index.html")


async def dashboard_asset(request: Request) -> Response:
    _page_guard(request)
    name = request.path_params["asset"]
    if name == "index.html":
        raise ApiError.with_message(404, "Not Found")
    return _ui_file(name)


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
        Route(prefix + "/tasks/{task_id}/timeline", task_timeline, methods=["GET"]),
        Route(prefix + "/webhooks", webhook_log, methods=["GET"]),
        Route(prefix + "/webhooks/drain", drain_webhooks, methods=["POST"]),
        Route(prefix + "/faults", faults, methods=list(_FAULT_HANDLERS)),
        Route(prefix + "/requests", journal, methods=["GET"]),
        Route(prefix + "/reset", reset, methods=["POST"]),
        Route(prefix + "/namespaces", list_namespaces, methods=["GET"]),
        Route(prefix + "/namespaces/{name}", delete_namespace, methods=["DELETE"]),
        Route(prefix + "/metrics", metrics, methods=["GET"]),
        Route(prefix + "/openapi.json", control_openapi, methods=["GET"]),
        Route(prefix + "/ui", dashboard, methods=["GET"]),
        Route(prefix + "/ui/{asset}", dashboard_asset, methods=["GET"]),
    ]
