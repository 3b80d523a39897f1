"""Access log: one JSON line per HTTP request (logger ``clinmatch.access``), written by ``clinmatch serve``.

Each line holds the request id (``X-Request-ID``, the one in error bodies and audit rows), the method, the route
template (``/api/v1/needs/{need_id}``; null when no route matched, so an arbitrary path is never logged), the status
and the duration in milliseconds: no header (so no token), no query string (search terms and e-mail filters may name
people), no raw path. uvicorn's own access log, which prints the path with its query string, is off.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime

from asgi_correlation_id import correlation_id
from fastapi.routing import iter_route_contexts

log = logging.getLogger("clinmatch.access")


class AccessLog:
    """Pure ASGI middleware (no per-request objects beyond a closure); placed inside ``CorrelationIdMiddleware`` so
    that the request id is known, and outside the admission queue so that the duration includes waiting for it."""

    def __init__(self, app) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None  # id(route) -> its full template (routes live as long as the app)

    def template(self, scope) -> str | None:
        route = scope.get("route")
        if route is None:
            return None
        if self._templates is None:
            # FastAPI puts the route as declared in its router into the scope (its path lacks the routers'
            # prefixes); the full template is what the app lists (the same walk builds /openapi.json).
            self._templates = {}
            for ctx in iter_route_contexts(scope["app"].routes):
                self._templates.setdefault(id(ctx.original_route), ctx.path)
        return self._templates.get(id(route)) or getattr(route, "path", None)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500  # an exception that escapes every handler becomes ServerErrorMiddleware's 500, outside this one

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            log.info(json.dumps({
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "request_id": correlation_id.get(),
                "method": scope["method"], "route": self.template(scope), "status": status,
                "duration_ms": round(1000 * (time.perf_counter() - t0), 2)}, separators=(",", ":")))


class _Stderr(logging.StreamHandler):
    """Whatever ``sys.stderr`` is at each write (test runners swap it), like logging's own last-resort handler."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure() -> None:
    """The access logger writes bare JSON lines (no level or time prefix) to stderr, once per process."""
    if any(isinstance(h, _Stderr) for h in log.handlers):
        return
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
