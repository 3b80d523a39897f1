"""SQLite's single writer, queued: requests that may write run one at a time per process, waiting on the event loop.

SQLite lets one transaction write at a time; the others poll the lock until ``busy_timeout``. Here a write request
(any method but GET, HEAD, OPTIONS) first waits for this process's turn on an asyncio semaphore, so writers of one
process take turns instead of polling, and no worker thread is held while it waits. Reads never wait. Other
processes (more uvicorn workers, the notification worker, the CLI) still meet SQLite's busy timeout.

PostgreSQL's pool is bounded instead: there the same middleware lets at most half its connections' worth of requests
in at once (a request holds up to two). Why, and what was measured: docs/decisions.md, "Connections, threads and the
write queue".
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
