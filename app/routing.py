"""Path operations installed flat on the app's own router (the API's and the pages'), found by their literal prefix."""
from __future__ import annotations

import copy

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Route, WebSocketRoute

__all__ = ["RouteIndex", "add_flat", "index_routes"]


def add_flat(app: FastAPI, path: str, route: APIRoute) -> None:
    """``route`` on the app's own router at ``path``, as ``include_router`` once copied it.
    FastAPI 0.165 includes a router lazily: each request walks the nested routers, matching the chosen one's routes
    twice and re-checking every router's version on the way, which cost more CPU than a one-row read's own work
    (docs/decisions.md, "Reads: the API's routes flat on the app's router, ..."). Modules still declare their routes
    on their own ``APIRouter``; the schema (``/openapi.json``) is the same."""
    app.router.add_api_route(
        path, route.endpoint, response_model=route.response_model, status_code=route.status_code,
        tags=route.tags, dependencies=route.dependencies, summary=route.summary, description=route.description,
        response_description=route.response_description, responses=route.responses,
        deprecated=route.deprecated, methods=route.methods, operation_id=route.operation_id,
        response_model_include=route.response_model_include, response_model_exclude=route.response_model_exclude,
        response_model_by_alias=route.response_model_by_alias,
        response_model_exclude_unset=route.response_model_exclude_unset,
        response_model_exclude_defaults=route.response_model_exclude_defaults,
        response_model_exclude_none=route.response_model_exclude_none, include_in_schema=route.include_in_schema,
        response_class=route.response_class, name=route.name, route_class_override=type(route),
        callbacks=route.callbacks, openapi_extra=route.openapi_extra,
        generate_unique_id_function=route.generate_unique_id_function,
        strict_content_type=route.strict_content_type)


class _Node:
    """A trie node: the next literal segments, and the routes whose literal ends here (its last, partial segment)."""

    __slots__ = ("children", "entries")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.entries: list[tuple[str, int]] = []  # (partial segment, route position)


class RouteIndex:
    """Which of a router's routes can match a path, found from the path's literal prefix instead of trying them all.

    A router tries its routes in order; clinmatch's ~190 mean ~190 regular expressions for a page listed late or a
    404, which was over half of a bare route's CPU (docs/decisions.md, "Reads, second pass"). A
    route can only match a path that starts with the literal part of its template (what comes before its first
    ``{``), so a trie of those literals yields the only routes worth trying, in their order. The stock router then
    runs on that shortlist (a shallow copy of it whose ``routes`` is the shortlist): first full match, else first
    partial (405), else the trailing-slash redirect, else the low-priority routes, else 404, exactly as before. The
    path with and without its trailing slash are both looked up, so that the redirect sees every route it could use.
    Anything that is not a plain route (a mount, a host) is always on the shortlist.
    """

    def __init__(self, router) -> None:
        self.router = router
        self._key = None
        self._proxies: dict[tuple[int, ...], object] = {}

    def _build(self) -> None:
        self._always: list[int] = []
        self._root = _Node()
        for i, route in enumerate(self.router.routes):
            fmt = getattr(route, "path_format", None) if isinstance(route, (Route, WebSocketRoute)) else None
            if not fmt or not fmt.startswith("/"):
                self._always.append(i)
                continue
            *complete, partial = fmt.split("{", 1)[0].split("/")[1:]
            node = self._root
            for seg in complete:
                node = node.children.setdefault(seg, _Node())
            node.entries.append((partial, i))
        self._proxies.clear()
        self._key = (id(self.router.routes), len(self.router.routes))

    def _lookup(self, path: str, found: set[int]) -> None:
        segs = path.split("/")[1:]
        node, last = self._root, len(segs) - 1
        for depth, seg in enumerate(segs):
            if node.entries:
                rest = "/".join(segs[depth:])
                found.update(i for partial, i in node.entries if rest.startswith(partial))
            if depth == last or (node := node.children.get(seg)) is None:  # a literal segment needs its "/" after it
                return

    def shortlist(self, path: str):
        """The router (a shallow copy) holding only the routes that can match ``path`` or its slash variant."""
        if self._key != (id(self.router.routes), len(self.router.routes)):
            self._build()
        found = set(self._always)
        self._lookup(path, found)
        if path != "/":
            self._lookup(path[:-1] if path.endswith("/") else path + "/", found)
        key = tuple(sorted(found))
        proxy = self._proxies.get(key)
        if proxy is None:
            proxy = copy.copy(self.router)
            proxy.routes = [self.router.routes[i] for i in key]
            self._proxies[key] = proxy
        return proxy


def index_routes(app: FastAPI) -> None:
    """The app's router finds its routes through a ``RouteIndex``. Left as it is when the router has middleware of
    its own (the index replaces its middleware stack, which is then just its ``app``)."""
    router = app.router
    if router.middleware_stack != router.app:
        return
    index = RouteIndex(router)

    async def dispatch(scope, receive, send) -> None:
        path = get_route_path(scope) if scope["type"] == "http" else ""
        if not path.startswith("/"):
            await router.app(scope, receive, send)
            return
        scope.setdefault("router", router)  # url_for and friends see every route, not the shortlist
        await index.shortlist(path).app(scope, receive, send)

    router.middleware_stack = dispatch
