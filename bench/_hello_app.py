"""The real clinmatch app plus a bare FastAPI "hello" route, for bench/api_throughput.py only.

    uvicorn bench._hello_app:create_app --factory

The hello route runs through the same server, middleware and event loop as the API, so the ratio of an endpoint's
throughput to hello's is the cost of clinmatch's own work (auth, database, serialisation), not uvicorn's.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from app.main import create_app as create_clinmatch_app


def create_app():
    app = create_clinmatch_app()

    @app.get("/bench/hello", include_in_schema=False)
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/bench/pool", include_in_schema=False)
    async def pool() -> dict[str, str]:
        return {"pool": app.state.engine.pool.status()}

    threads = int(os.environ.get("BENCH_THREADS", "0"))  # experiments: the size of the request thread pool
    if threads:
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(a):
            from anyio import to_thread

            to_thread.current_default_thread_limiter().total_tokens = threads
            async with inner(a) as state:
                yield state

        app.router.lifespan_context = lifespan
    return app
