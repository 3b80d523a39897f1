"""The real clinmatch app plus a bare FastAPI "hello" route, for bench/api_throughput.py only.

    uvicorn bench._hello_app:create_app --factory

The hello route runs through the same server, middleware and event loop as the API, so the ratio of an endpoint's
throughput to hello's is the cost of clinmatch's own work (auth, database, serialisation), not uvicorn's. The
request thread pool is the app's own (``CLINMATCH_REQUEST_THREADS``).
"""

from __future__ import annotations

from app.main import create_app as create_clinmatch_app


def create_app():
    app = create_clinmatch_app()

    @app.get("/bench/hello", include_in_schema=False)
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/bench/pool", include_in_schema=False)
    async def pool() -> dict[str, str]:
        return {"pool": app.state.engine.pool.status()}

    return app
