"""Routing that tries only the routes a path could match.

Starlette's ``Router`` tries its routes in order, one regex each, until one matches: with
the whole upstream API (436 operations) a request may try hundreds. A route's path up to
its first parameter is literal, so a request can only match routes whose literal leading
segments are its own: :class:`RouteIndex` files each route under those segments, and
:class:`IndexedRouter` tries, in their order, only the routes filed along the request's
path. Which route answers (the first full match, else the first partial one: a 405 with
its ``Allow``) is exactly what ``Router`` would pick, since no route left out could match.

Routes stay a list users extend the Starlette way (``app.router.routes``); any change to
it rebuilds the index on the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, SupportsIndex

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

__all__ = ["IndexedRouter", "RouteIndex"]


class RouteIndex:
    """The routes a request path could match, in their given order.

    A plain ``Route`` is filed under the segments of its path before the first one
    holding a parameter (a path with none matches that path alone); anything else (a
    ``Mount``, a ``Host``, a route class with matching of its own) is tried for every
    path."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self._routes = tuple(routes)
        self._root = _Node()
        for order, route in enumerate(self._routes):
            literal, whole = _literal_segments(route)
            node = self._root
            for segment in literal:
                node = node.children.setdefault(segment, _Node())
            (node.exact if whole else node.below).append((order, route))
        self._root.settle(())

    def candidates(self, path: str) -> Sequence[BaseRoute]:
        """Every route that could match ``path`` (a route path, below the mount point),
        in order; a route left out cannot."""
        if "\n" in path:
            # A route's regex ends in "$", which also matches before a final newline.
            return self._routes
        node = self._root
        for segment in path.split("/")[1:]:
            child = node.children.get(segment)
            if child is None:
                return node.within  # the path goes on below this node
            node = child
        return node.ending


class _Node:
    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        # Routes filed here: those whose literal path ends here (matching this path
        # alone), and those with parameters after it.
        self.exact: list[tuple[int, BaseRoute]] = []
        self.below: list[tuple[int, BaseRoute]] = []
        # The candidates of a path that ends here, and of one that goes on below.
        self.ending: tuple[BaseRoute, ...] = ()
        self.within: tuple[BaseRoute, ...] = ()

    def settle(self, above: tuple[tuple[int, BaseRoute], ...]) -> None:
        below = (*above, *self.below)
        self.ending = _in_order((*below, *self.exact))
        self.within = _in_order(below)
        for child in self.children.values():
            child.settle(below)


def _in_order(filed: Iterable[tuple[int, BaseRoute]]) -> tuple[BaseRoute, ...]:
    return tuple(route for _, route in sorted(filed, key=lambda pair: pair[0]))


def _literal_segments(route: BaseRoute) -> tuple[list[str], bool]:
    """The literal segments a route's path starts with, and whether they are all of it."""
    # Only a Route matching the Starlette way is known to match its path's literal
    # start exactly (its regex is anchored and escapes everything but parameters).
    if not isinstance(route, Route) or type(route).matches is not Route.matches:
        return [], False
    if not route.path.startswith("/"):
        return [], False
    literal: list[str] = []
    for segment in route.path.split("/")[1:]:
        if "{" in segment:
            return literal, False
        literal.append(segment)
    return literal, True


class _RouteList(list[BaseRoute]):
    """A list of routes that says when it changes."""

    def __init__(self, routes: Iterable[BaseRoute], changed: Callable[[], None]) -> None:
        super().__init__(routes)
        self._changed = changed

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._changed()

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        super().__delitem__(index)
        self._changed()

    def __iadd__(self, routes: Iterable[BaseRoute]) -> _RouteList:  # type: ignore[override,misc]
        super().__iadd__(routes)
        self._changed()
        return self

    def __imul__(self, times: SupportsIndex) -> _RouteList:
        super().__imul__(times)
        self._changed()
        return self

    def append(self, route: BaseRoute) -> None:
        super().append(route)
        self._changed()

    def extend(self, routes: Iterable[BaseRoute]) -> None:
        super().extend(routes)
        self._changed()

    def insert(self, index: SupportsIndex, route: BaseRoute) -> None:
        super().insert(index, route)
        self._changed()

    def pop(self, index: SupportsIndex = -1) -> BaseRoute:
        route = super().pop(index)
        self._changed()
        return route

    def remove(self, route: BaseRoute) -> None:
        super().remove(route)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._changed()

    def reverse(self) -> None:
        super().reverse()
        self._changed()


class IndexedRouter(Router):
    """A Starlette ``Router`` that tries only the routes a request's path could match
    (:class:`RouteIndex`), and otherwise answers as ``Router`` does."""

    _routes: _RouteList
    _index: RouteIndex | None

    @property
    def routes(self) -> list[BaseRoute]:
        return self._routes

    @routes.setter
    def routes(self, routes: Iterable[BaseRoute]) -> None:
        self._routes = _RouteList(routes, self._forget_index)
        self._index = None

    def _forget_index(self) -> None:
        self._index = None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        index = self._index
        if index is None:
            index = self._index = RouteIndex(self._routes)
        partial: BaseRoute | None = None
        partial_scope: Scope = {}
        for route in index.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            # A route that would answer but for the method: a 405 with its Allow.
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        # No route: Router's own ending (a slash redirect if asked for, else 404).
        await self._unmatched(scope, receive, send)

    async def _unmatched(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.redirect_slashes:
            # Router's loop finds nothing again and goes on to its redirect.
            await super().app(scope, receive, send)
            return
        await self.default(scope, receive, send)
