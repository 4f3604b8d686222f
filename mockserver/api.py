"""Handlers for the API's own operations, one per role the spec gives an operation.

An operation's role is read from its shape, not its name: a POST with a request body
creates a task, a GET with a path parameter reads one, a GET without lists them.
Handlers authenticate, parse, validate (through :mod:`mockserver.validation`) and call
the lifecycle; they never check a field themselves.

They are plain coroutines over an :class:`ApiRequest` that return the status and JSON
body to send: the API is the fake's hot path, so it skips Starlette's request and
response objects (``pipeline.py`` sends the answer).
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope

from .errors import ApiError
from .journal import BODY_LIMIT
from .reasons import unsupported_media_type
from .spec import Operation
from .tasks import Task, owner_of
from .validation import OperationValidator, RequestInvalid

if TYPE_CHECKING:
    from .runtime import MockRuntime

__all__ = ["ApiRequest", "ApiRoute", "ApiRoutes", "ClientDisconnected", "Handler", "handler_for"]


class ClientDisconnected(Exception):
    """The client hung up before its request body was all read: nobody to answer."""


class ApiRequest:
    """One API request: its scope, the body as it arrives, and the path parameters."""

    __slots__ = ("_headers", "_receive", "answered", "body_seen", "path_params", "scope")

    def __init__(self, scope: Scope, receive: Receive, path_params: dict[str, str]) -> None:
        self.scope = scope
        self._receive = receive
        self._headers: dict[bytes, bytes] | None = None
        self.path_params = path_params
        # The first few KiB of the body as it was read, for the journal.
        self.body_seen = b""
        # The status the pipeline answered with, once it has.
        self.answered: int | None = None

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (lower case), as Starlette would decode it."""
        headers = self._headers
        if headers is None:
            # Reversed, so that the first of repeated headers wins, as in Starlette.
            headers = self._headers = dict(reversed(self.scope["headers"]))
        value = headers.get(name)
        return None if value is None else str(value.decode("latin-1"))

    async def receive(self) -> Message:
        """The next ASGI message, keeping the start of the body for the journal."""
        message = await self._receive()
        if message["type"] == "http.request" and len(self.body_seen) < BODY_LIMIT:
            self.body_seen += message.get("body", b"")[: BODY_LIMIT - len(self.body_seen)]
        return message

    async def body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                raise ClientDisconnected
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    @property
    def base_url(self) -> str:
        """Scheme, host and root path the client used, without a trailing slash."""
        scope = self.scope
        host = self.header(b"host")
        if not host:
            server = scope.get("server")
            if server is None:
                host = "localhost"
            else:
                default = {"http": 80, "https": 443}.get(scope["scheme"])
                host = server[0] if server[1] == default else f"{server[0]}:{server[1]}"
        return f"{scope['scheme']}://{host}{scope.get('root_path', '')}".rstrip("/")

    def query(self) -> Mapping[str, str]:
        raw = self.scope["query_string"]
        # As Starlette's QueryParams reads it: latin-1, blanks kept, the last value wins.
        return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True)) if raw else {}


# The status and the JSON body of an answer.
Answer = tuple[int, bytes]
Handler = Callable[[ApiRequest], Awaitable[Answer]]


class ApiRoute:
    """One operation's method and path template, matched without Starlette's router."""

    def __init__(self, operation: Operation, handler: Handler) -> None:
        self.operation = operation
        self.method = operation.method.upper()
        self.handler = handler
        path = operation.route_path
        self.static = "{" not in path
        # Starlette's default path parameter: anything but a slash, at least one character.
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        self._pattern = re.compile(pattern + r"\Z")
        self.path = path

    def match(self, path: str) -> dict[str, str] | None:
        if self.static:
            return {} if path == self.path else None
        found = self._pattern.match(path)
        return found.groupdict() if found is not None else None


class ApiRoutes:
    """The API's operations by method: the first whose path matches serves a request."""

    def __init__(self, routes: list[ApiRoute]) -> None:
        self._static: dict[tuple[str, str], ApiRoute] = {}
        self._templated: dict[str, list[ApiRoute]] = {}
        for route in routes:
            if route.static:
                self._static.setdefault((route.method, route.path), route)
            else:
                self._templated.setdefault(route.method, []).append(route)

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        if method == "HEAD":
            method = "GET"  # as Starlette does; the server sends no body
        route = self._static.get((method, path))
        if route is not None:
            return route, {}
        for route in self._templated.get(method, ()):
            params = route.match(path)
            if params is not None:
                return route, params
        return None

    def methods_for(self, path: str) -> list[str]:
        """The methods some operation serves ``path`` with (for a 405's Allow header)."""
        methods = {m for (m, p) in self._static if p == path}
        methods |= {
            m
            for m, routes in self._templated.items()
            if any(r.match(path) is not None for r in routes)
        }
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


def _json(status: int, body: Any) -> Answer:
    return status, orjson.dumps(body)


def authenticate(runtime: MockRuntime, operation: Operation, request: ApiRequest) -> str:
    """The owner (account) the request's API key stands for; 401 if there is none."""
    if operation.auth_header is None:
        return owner_of("")
    key = (request.header(_header_name(operation.auth_header)) or "").strip()
    if not key:
        raise ApiError.missing_api_key()
    if runtime.api_keys and not any(
        hmac.compare_digest(key.encode(), known) for known in runtime.api_keys
    ):
        raise ApiError.invalid_api_key()
    return owner_of(key)


@functools.lru_cache(maxsize=64)
def _header_name(name: str) -> bytes:
    return name.lower().encode("latin-1")


@functools.lru_cache(maxsize=256)
def _accepted_media_types(media_types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(m.lower() for m in media_types)


def _media_type_accepted(operation: Operation, content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    accepted = _accepted_media_types(operation.request_media_types)
    return not accepted or base in accepted or "*/*" in accepted


def check_media_type(operation: Operation, request: ApiRequest) -> None:
    """A 400 for a body sent as a media type the operation does not take."""
    content_type = request.header(b"content-type")
    if content_type is not None and not _media_type_accepted(operation, content_type):
        raise ApiError.bad_request(
            unsupported_media_type(content_type, operation.request_media_types)
        )


def task_detail(task: Task) -> dict[str, Any]:
    return {"task_id": task.task_id, "status": task.status, "generated": list(task.generated)}


def _create_handler(
    runtime: MockRuntime, operation: Operation, validator: OperationValidator
) -> Handler:
    async def create_task(request: ApiRequest) -> Answer:
        owner = authenticate(runtime, operation, request)
        check_media_type(operation, request)
        raw = await request.body()
        try:
            params = validator.body(raw)
        except RequestInvalid as exc:
            raise ApiError.invalid_params(exc.problems, runtime.config.profile) from None
        task = runtime.lifecycle.create(
            owner,
            request.base_url,
            params,
            aspect_ratio=params.get("aspect_ratio"),
            webhook_url=params.get("webhook_url"),
        )
        runtime.check_media(operation.operation_id, task, params)
        return _json(
            200, {"data": {"generated": [], "task_id": task.task_id, "status": task.status}}
        )

    return create_task


def _get_handler(runtime: MockRuntime, operation: Operation) -> Handler:
    idents = [
        operation.path_param_ident(p.name) for p in operation.parameters if p.location == "path"
    ]

    async def get_task(request: ApiRequest) -> Answer:
        owner = authenticate(runtime, operation, request)
        runtime.lifecycle.process_due()
        task = runtime.store.get(request.path_params[idents[0]])
        if task is None or task.owner != owner:
            raise ApiError.task_not_found()
        return _json(200, {"data": task_detail(task)})

    return get_task


def _list_handler(
    runtime: MockRuntime, operation: Operation, validator: OperationValidator
) -> Handler:
    async def list_tasks(request: ApiRequest) -> Answer:
        owner = authenticate(runtime, operation, request)
        try:
            values = validator.query(request.query())
        except RequestInvalid as exc:
            raise ApiError.invalid_params(exc.problems, runtime.config.profile) from None
        page, page_size = int(values.get("page", 1)), int(values.get("page_size", 20))
        runtime.lifecycle.process_due()
        found = runtime.store.statuses_for_owner(owner, (page - 1) * page_size, page_size)
        return _json(200, {"data": [{"task_id": i, "status": s} for i, s in found]})

    return list_tasks


def handler_for(
    runtime: MockRuntime, operation: Operation, validator: OperationValidator
) -> Handler | None:
    """The handler for ``operation``'s role, or None when the fake has no such role."""
    has_path_param = any(p.location == "path" for p in operation.parameters)
    if operation.method == "post" and validator.has_body_schema:
        return _create_handler(runtime, operation, validator)
    if operation.method == "get" and has_path_param:
        return _get_handler(runtime, operation)
    if operation.method == "get":
        return _list_handler(runtime, operation, validator)
    return None
