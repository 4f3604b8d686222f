"""The indexed router: the route Starlette's own Router would pick, found by path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Message

from mockserver.routing import IndexedRouter, RouteIndex

pytestmark = pytest.mark.anyio

# Route segments: literal ones, parameters, a parameter inside a segment, a path
# convertor spanning segments, and the empty segment of a trailing slash.
_ROUTE_SEGMENTS = ["v1", "ai", "x", "x.mp4", "", "{id}", "{name}.mp4", "{rest:path}", "{n:int}"]
# "x\n": Starlette's "$" matches before a final newline too.
_PATH_SEGMENTS = ["v1", "ai", "x", "x.mp4", "y", "", "7", "a.mp4", "v1.mp4", "x\n", "7\n"]


def _named(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(name)

    return endpoint


def _app(router: Router) -> Starlette:
    app = Starlette()
    app.router = router
    return app


async def _answer(app: Starlette, method: str, path: str) -> tuple[int, bytes, str | None]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    try:
        await app(scope, receive, send)
    except Exception as exc:  # the same failure is the same answer
        return 0, repr(exc).encode(), None
    allow = dict(sent[0]["headers"]).get(b"allow")
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], body, allow and allow.decode()


_route_paths = st.lists(st.sampled_from(_ROUTE_SEGMENTS), min_size=0, max_size=4).map(
    lambda segments: "/" + "/".join(segments)
)
_routes = st.lists(
    st.tuples(_route_paths, st.sampled_from(["GET", "POST"]), st.booleans()),
    min_size=1,
    max_size=12,
)
_requests = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST", "DELETE"]),
        st.lists(st.sampled_from(_PATH_SEGMENTS), min_size=0, max_size=5).map(
            lambda segments: "/" + "/".join(segments)
        ),
    ),
    min_size=1,
    max_size=10,
)


def _build(spec: list[tuple[str, str, bool]]) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for order, (path, method, mounted) in enumerate(spec):
        try:
            route: BaseRoute = (
                Mount(path.rstrip("/"), routes=[Route("/", _named(f"m{order}"))])
                if mounted and "{" not in path and path.rstrip("/")
                else Route(path, _named(f"r{order}"), methods=[method])
            )
        except (AssertionError, ValueError):  # a path Starlette refuses (duplicate params)
            continue
        routes.append(route)
    return routes


@settings(max_examples=300, deadline=None)
@given(spec=_routes, requests=_requests)
def test_the_indexed_router_answers_as_starlettes_router(
    spec: list[tuple[str, str, bool]], requests: list[tuple[str, str]]
) -> None:
    import anyio

    routes = _build(spec)
    plain = _app(Router(routes, redirect_slashes=False))
    indexed = _app(IndexedRouter(routes, redirect_slashes=False))

    async def compare() -> None:
        for method, path in requests:
            assert await _answer(indexed, method, path) == await _answer(plain, method, path)

    anyio.run(compare)


def test_the_index_leaves_out_only_routes_whose_literal_start_differs() -> None:
    by_id = Route("/v1/ai/x/{id}", _named("by_id"))
    listed = Route("/v1/ai/x", _named("list"))
    other = Route("/v1/ai/y/{id}", _named("other"))
    anywhere = Mount("/v1", routes=[])
    loose = Route("/{name}.mp4", _named("loose"))
    index = RouteIndex([by_id, listed, other, anywhere, loose])
    assert list(index.candidates("/v1/ai/x/123")) == [by_id, anywhere, loose]
    assert list(index.candidates("/v1/ai/x")) == [by_id, listed, anywhere, loose]
    assert list(index.candidates("/v1/ai/y/123")) == [other, anywhere, loose]
    assert list(index.candidates("/nothing/here")) == [anywhere, loose]
    assert list(index.candidates("")) == [anywhere, loose]


async def test_routes_changed_after_requests_are_served_as_changed() -> None:
    router = IndexedRouter([Route("/a", _named("a"))], redirect_slashes=False)
    app = _app(router)
    assert (await _answer(app, "GET", "/a"))[:2] == (200, b"a")
    app.router.routes.append(Route("/b", _named("b")))
    assert (await _answer(app, "GET", "/b"))[:2] == (200, b"b")
    app.router.routes.insert(0, Route("/b", _named("first b")))
    assert (await _answer(app, "GET", "/b"))[:2] == (200, b"first b")
    app.router.routes[0] = Route("/b", _named("replaced b"))
    assert (await _answer(app, "GET", "/b"))[:2] == (200, b"replaced b")
    del app.router.routes[0]
    app.router.routes.remove(next(r for r in router.routes if getattr(r, "path", "") == "/a"))
    assert (await _answer(app, "GET", "/a"))[0] == 404
    assert (await _answer(app, "GET", "/b"))[:2] == (200, b"b")
    app.router.routes += [Route("/c", _named("c"))]
    assert (await _answer(app, "GET", "/c"))[:2] == (200, b"c")
    app.router.routes.clear()
    assert (await _answer(app, "GET", "/c"))[0] == 404
    router.routes = [Route("/d", _named("d"))]
    assert (await _answer(app, "GET", "/d"))[:2] == (200, b"d")


async def test_a_slash_redirect_when_asked_for_is_starlettes() -> None:
    routes = [Route("/a/", _named("a"))]
    plain = _app(Router(routes))
    indexed = _app(IndexedRouter(routes))
    assert await _answer(indexed, "GET", "/a") == await _answer(plain, "GET", "/a")
    assert (await _answer(indexed, "GET", "/a"))[0] == 307
