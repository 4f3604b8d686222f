"""The API's own operations as Starlette routes, one handler per kind of operation.

An operation's kind is read from the spec (``kinds.py``), not its name: a create
answers the task envelope and starts a task, a read finds one task, a list pages
through them (both only within the families they serve, ``families.py``), and any other
operation is a synchronous call answering a body built from its own success schema
(``synthesis.py``). Handlers authenticate, parse, validate (through
:mod:`mockserver.validation`) and call the lifecycle; they never check a field
themselves. Failures are raised (``ApiError``) and answered by the app's one exception
mapping (``errors.exception_handlers``).

Routes are built once from the app's :class:`~mockserver.runtime.ApiModel`; each request
is served by the runtime of its namespace, which ``namespaces.NamespaceMiddleware`` put
in its scope.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .constants import RUNTIME_KEY, TASK_ID_KEY
from .errors import ApiError, json_response
from .kinds import listed_fields, success_response
from .reasons import unsupported_media_type
from .spec import Operation
from .tasks import Task, owner_of
from .validation import OperationValidator

if TYPE_CHECKING:
    from .runtime import ApiModel, MockRuntime

__all__ = ["Endpoint", "ServedEndpoint", "api_routes", "endpoint_for", "runtime_of"]

# The field of a task's answer that holds its result URLs.
GENERATED = "generated"

Endpoint = Callable[[Request], Awaitable[Response]]


def runtime_of(request: Request) -> MockRuntime:
    """The runtime of the request's namespace (namespaces.NamespaceMiddleware)."""
    runtime: MockRuntime = request.scope[RUNTIME_KEY]
    return runtime


def header(request: Request, name: bytes) -> str | None:
    """The first value of the header ``name`` (lower case), as ``request.headers.get``
    gives it, without copying the request's headers into a ``Headers`` first."""
    for key, value in request.scope["headers"]:
        if key == name:
            found: str = value.decode("latin-1")
            return found
    return None


def base_url(request: Request) -> str:
    """Scheme, host and mount point the client used, without a trailing slash.

    Read from the scope, as Starlette's ``request.url`` would read it, without building
    and parsing a whole URL per request; not ``request.base_url``, which is the outermost
    app's root (the fake may be mounted inside another app)."""
    scope = request.scope
    host = header(request, b"host")
    if not host:
        server = scope.get("server")
        if server is None:
            host = "localhost"
        else:
            default = {"http": 80, "https": 443}.get(scope["scheme"])
            host = server[0] if server[1] == default else f"{server[0]}:{server[1]}"
    return f"{scope['scheme']}://{host}{scope.get('root_path', '')}".rstrip("/")


def authenticate(runtime: MockRuntime, operation: Operation, request: Request) -> str:
    """The owner (account) the request's API key stands for; 401 if there is none."""
    key_header = runtime.key_headers[operation.operation_id]
    if key_header is None:
        return owner_of("")
    key = (header(request, key_header.lower().encode("latin-1")) or "").strip()
    if not key:
        raise ApiError.missing_api_key()
    if runtime.api_keys and not any(
        hmac.compare_digest(key.encode(), known) for known in runtime.api_keys
    ):
        raise ApiError.invalid_api_key(runtime.config.profile)
    return owner_of(key)


@functools.lru_cache(maxsize=256)
def _accepted_media_types(media_types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(m.lower() for m in media_types)


def _media_type_accepted(operation: Operation, content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    accepted = _accepted_media_types(operation.request_media_types)
    return not accepted or base in accepted or "*/*" in accepted


def check_media_type(operation: Operation, request: Request) -> None:
    """A 400 for a body sent as a media type the operation does not take."""
    content_type = header(request, b"content-type")
    if content_type is not None and not _media_type_accepted(operation, content_type):
        raise ApiError.bad_request(
            unsupported_media_type(content_type, operation.request_media_types)
        )


async def read_body(request: Request) -> bytes:
    """The request's body, read as ``Request.body`` reads it (``ClientDisconnect`` if
    the client leaves first) without an async generator per request."""
    chunks: list[bytes] = []
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


def task_detail(runtime: MockRuntime, task: Task, request: Request) -> dict[str, Any]:
    """A task as the API reads it; result URLs signed afresh for the host asked."""
    media = runtime.media_of(task.family)
    generated = runtime.results.generated(task.task_id, task.status, base_url(request), media)
    return {"task_id": task.task_id, "status": task.status, "generated": list(generated)}


def _create_endpoint(
    model: ApiModel, operation: Operation, validator: OperationValidator
) -> Endpoint:
    family = model.families.of(operation.operation_id)
    status_code, _, _ = success_response(operation)
    answers = model.answers
    checks_headers = validator.has_headers

    async def create_task(request: Request) -> Response:
        runtime = runtime_of(request)
        owner = authenticate(runtime, operation, request)
        check_media_type(operation, request)
        # A refusal raises RequestInvalid: errors.exception_handlers answers it.
        if checks_headers:
            validator.headers(request.headers)
        params = validator.body(await read_body(request))
        task = runtime.lifecycle.create(
            owner,
            base_url(request),
            params,
            family=family,
            aspect_ratio=params.get("aspect_ratio"),
            webhook_url=params.get("webhook_url"),
        )
        runtime.check_media(operation.operation_id, task, params)
        request.scope[TASK_ID_KEY] = task.task_id  # the journal notes it
        return json_response(status_code, answers.created(operation, task.task_id, task.status))

    return create_task


def _get_endpoint(model: ApiModel, operation: Operation, validator: OperationValidator) -> Endpoint:
    idents = [
        operation.path_param_ident(p.name) for p in operation.parameters if p.location == "path"
    ]

    families = model.families.served_by(operation.operation_id)
    checks_headers = validator.has_headers

    async def get_task(request: Request) -> Response:
        runtime = runtime_of(request)
        owner = authenticate(runtime, operation, request)
        if checks_headers:
            validator.headers(request.headers)
        runtime.lifecycle.process_due()
        task = runtime.store.get(request.path_params[idents[0]])
        if task is None or task.owner != owner or task.family not in families:
            raise ApiError.task_not_found()
        return json_response(200, {"data": task_detail(runtime, task, request)})

    return get_task


def _list_endpoint(
    model: ApiModel, operation: Operation, validator: OperationValidator
) -> Endpoint:
    families = sorted(model.families.served_by(operation.operation_id))
    # Lists whose items declare the results too (most of the upstream API's) get them.
    with_results = GENERATED in listed_fields(success_response(operation)[2])
    checks_headers = validator.has_headers

    async def list_tasks(request: Request) -> Response:
        runtime = runtime_of(request)
        owner = authenticate(runtime, operation, request)
        if checks_headers:
            validator.headers(request.headers)
        values = validator.query(request.query_params)
        page, page_size = int(values.get("page", 1)), int(values.get("page_size", 20))
        runtime.lifecycle.process_due()
        found = statuses_of(runtime, owner, families, (page - 1) * page_size, page_size)
        if with_results:
            tasks = (runtime.store.get(task_id) for task_id, _ in found)
            items = [task_detail(runtime, t, request) for t in tasks if t is not None]
            return json_response(200, {"data": items})
        return json_response(200, {"data": [{"task_id": i, "status": s} for i, s in found]})

    return list_tasks


def statuses_of(
    runtime: MockRuntime, owner: str, families: list[str], offset: int, limit: int
) -> list[tuple[str, str]]:
    """``(task_id, status)`` of the owner's tasks of ``families``, newest first."""
    if len(families) == 1:
        return runtime.store.statuses_for_owner(owner, families[0], offset, limit)
    # A list over several tiers (a family's list of all its tiers): each tier's newest
    # offset + limit, merged by creation time.
    tasks = [
        task
        for family in families
        for task in runtime.store.list_for_owner(owner, family, 0, offset + limit)
    ]
    tasks.sort(key=lambda task: task.created_at, reverse=True)
    return [(task.task_id, task.status) for task in tasks[offset : offset + limit]]


def _call_endpoint(
    model: ApiModel, operation: Operation, validator: OperationValidator
) -> Endpoint:
    has_path_params = any(p.location == "path" for p in operation.parameters)
    answers = model.answers
    checks_headers = validator.has_headers

    async def call(request: Request) -> Response:
        runtime = runtime_of(request)
        authenticate(runtime, operation, request)
        check_media_type(operation, request)
        if has_path_params:
            validator.path(
                {
                    p.name: request.path_params[operation.path_param_ident(p.name)]
                    for p in operation.parameters
                    if p.location == "path"
                }
            )
        validator.query(request.query_params)
        if checks_headers:
            validator.headers(request.headers)
        if validator.has_body_schema:
            validator.body(await read_body(request))
        status_code, body = answers.answer(operation)
        if body is None:
            return Response(status_code=status_code)
        return json_response(status_code, body)

    return call


def endpoint_for(model: ApiModel, operation: Operation, validator: OperationValidator) -> Endpoint:
    """The endpoint for ``operation``'s kind."""
    kind = model.plan.kind(operation.operation_id)
    if kind == "create":
        return _create_endpoint(model, operation, validator)
    if kind == "read":
        return _get_endpoint(model, operation, validator)
    if kind == "list":
        return _list_endpoint(model, operation, validator)
    return _call_endpoint(model, operation, validator)


class ServedEndpoint:
    """An endpoint as the ASGI app of its route.

    Starlette would wrap a function endpoint in a second layer of exception handling per
    request; the app's own (``errors.exception_handlers`` in its ``ExceptionMiddleware``,
    right around the router) answers the same failures the same way."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def api_routes(model: ApiModel) -> list[Route]:
    """A Starlette route for each operation of the spec."""
    routes = []
    for operation in model.spec:
        endpoint = endpoint_for(model, operation, model.validators[operation.operation_id])
        methods = [operation.method.upper()]
        routes.append(
            Route(
                operation.route_path,
                ServedEndpoint(endpoint),
                methods=methods,
                name=operation.operation_id,
            )
        )
    return routes
