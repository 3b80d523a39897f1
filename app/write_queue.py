"""SQLite's single writer, queued: requests that may write run one at a time per process, waiting on the event loop.

SQLite lets one transaction write at a time; the others poll the lock with growing sleeps until ``busy_timeout``.
With dozens of concurrent writers most polls miss: under 64 clients filing needs, 4 requests a second got through
and nine in ten waited past the timeout (409). Here a write request (any method but GET, HEAD, OPTIONS) first waits
for this process's turn on an asyncio semaphore, so writers of one process take turns instead of polling, and no
worker thread is held while it waits (a lock taken inside FastAPI's worker threads starved the pool: a request
holding it needs another worker thread to finish). Reads never wait. Other processes (more uvicorn workers, the
notification worker, the CLI) still meet SQLite's busy timeout; PostgreSQL needs none of this and skips it.

PostgreSQL's pool is bounded instead: ``ConnectionAdmission`` lets at most half its connections' worth of requests
in at once (a request holds up to two). Without it, 64 clients filing needs deadlocked: a request keeps its
session's connection from its endpoint until its commit, which runs in another worker-thread hop; with more
requests waiting for threads than connections, the threads waited for connections held by requests waiting for
threads (0 requests/s, then the pool's 30 s timeout).
"""

from __future__ import annotations

import asyncio

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SQLiteWriteQueue:
    """Pure ASGI middleware (the response streams inside the turn: the transaction commits before it is sent)."""

    def __init__(self, app, enabled: bool = True, concurrent: int = 1) -> None:
        self.app, self.enabled, self.concurrent = app, enabled, concurrent
        self._turn: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send) -> None:
        if not self.enabled or scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        if self._turn is None:  # made inside the running loop
            self._turn = asyncio.Semaphore(self.concurrent)
        async with self._turn:
            await self.app(scope, receive, send)


class ConnectionAdmission:
    """Pure ASGI middleware: at most ``limit`` HTTP requests inside the app at once (None: no limit); the others
    wait on the event loop, holding no connection and no thread."""

    def __init__(self, app, limit: int | None) -> None:
        self.app, self.limit = app, limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.limit is None or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made inside the running loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
