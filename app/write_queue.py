"""SQLite's single writer, queued: requests that may write run one at a time per process, waiting on the event loop.

SQLite lets one transaction write at a time; the others poll the lock with growing sleeps until ``busy_timeout``.
With dozens of concurrent writers most polls miss: under 64 clients filing needs, 4 requests a second got through
and nine in ten waited past the timeout (409). Here a write request (any method but GET, HEAD, OPTIONS) first waits
for this process's turn on an asyncio semaphore, so writers of one process take turns instead of polling, and no
worker thread is held while it waits (a lock taken inside FastAPI's worker threads starved the pool: a request
holding it needs another worker thread to finish). Reads never wait. Other processes (more uvicorn workers, the
notification worker, the CLI) still meet SQLite's busy timeout; PostgreSQL needs none of this and skips it.

PostgreSQL's pool is bounded instead: there the same middleware lets at most half its connections' worth of requests
in at once (a request holds up to two). Without it, 64 clients filing needs deadlocked: a request keeps its
session's connection from its endpoint until its commit, which runs in another worker-thread hop; with more
requests waiting for threads than connections, the threads waited for connections held by requests waiting for
threads (0 requests/s, then the pool's 30 s timeout).
"""

from __future__ import annotations

import asyncio

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Admission:
    """Pure ASGI middleware: at most ``limit`` HTTP requests inside the app at once (None: no limit), counting only
    those that may write when ``writes_only``; the others wait on the event loop, holding no connection and no
    thread (the response streams inside the slot: the transaction commits before it is sent).

    SQLite: ``Admission(app, limit=1, writes_only=True)``, the write queue. PostgreSQL:
    ``Admission(app, limit=PG_POOL_CAPACITY // 2)``."""

    def __init__(self, app, limit: int | None, writes_only: bool = False) -> None:
        self.app, self.limit, self.writes_only = app, limit, writes_only
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send) -> None:
        if self.limit is None or scope["type"] != "http" or (self.writes_only and scope["method"] in READ_METHODS):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made inside the running loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
