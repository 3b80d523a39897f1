"""SQLite's writers take turns per process (app/write_queue.py); reads never wait."""
import asyncio

import pytest

from app.write_queue import Admission


def most_inside(methods: list[str], limit: int | None, writes_only: bool = False) -> int:
    """Most requests inside an app behind Admission(limit, writes_only) at once."""
    state = {"now": 0, "most": 0}

    async def inner(scope, receive, send):
        state["now"] += 1
        state["most"] = max(state["most"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1

    mw = Admission(inner, limit, writes_only)

    async def main():
        await asyncio.gather(*(mw({"type": "http", "method": m}, None, None) for m in methods))

    asyncio.run(main())
    return state["most"]


def run(middleware_enabled: bool, methods: list[str]) -> int:
    """The SQLite write queue (or none, as on PostgreSQL's writes only)."""
    return most_inside(methods, 1 if middleware_enabled else None, writes_only=True)


def admitted(limit: int | None, n: int) -> int:
    return most_inside(["GET", "POST"] * (n // 2), limit)


def test_postgresql_admits_half_its_pool_of_requests_at_once(settings):
    """A request holds up to two connections: more requests inside than the pool can serve deadlocked PostgreSQL
    (threads waiting for connections held by requests waiting for threads)."""
    from app.db import PG_POOL_CAPACITY
    from app.main import create_app

    assert admitted(3, 20) == 3 and admitted(None, 20) == 20
    app = create_app(settings)
    limits = [(m.kwargs["limit"], m.kwargs["writes_only"]) for m in app.user_middleware if m.cls is Admission]
    app.state.engine.dispose()
    assert limits == [(1, True) if settings.is_sqlite else (PG_POOL_CAPACITY // 2, False)]


def test_writes_take_turns_on_sqlite():
    assert run(True, ["POST", "PATCH", "PUT", "DELETE"] * 5) == 1


def test_reads_never_wait_and_postgresql_is_not_queued():
    assert run(True, ["GET"] * 10) == 10
    assert run(True, ["POST"] * 3 + ["GET"] * 3) == 4  # the reads run beside the one write in progress
    assert run(False, ["POST"] * 10) == 10


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_concurrent_filings_all_succeed(client, world, db_url):
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import TSP_NEED

    def file(i):
        return client.post("/api/v1/needs", json=dict(TSP_NEED, title=f"{TSP_NEED['title']} {i}"),
                           headers=world["hospital"].headers).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(file, range(48)))
    assert codes == [201] * 48


def test_request_threads_bound_the_sync_endpoints(settings):
    """CLINMATCH_REQUEST_THREADS: at most that many sync endpoints run at once (anyio's pool, set at start-up)."""
    import threading
    import time

    from fastapi.testclient import TestClient

    from app.main import create_app

    app = create_app(settings.model_copy(update={"request_threads": 2}))
    state = {"now": 0, "most": 0}
    lock = threading.Lock()

    @app.get("/test/slow")
    def slow() -> dict:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return {}

    async def burst(client):
        import anyio

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(client.get, "/test/slow")

    import httpx

    with TestClient(app) as tc:  # runs the lifespan (which sets the pool) on the portal's event loop
        async def main():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                await burst(c)

        tc.portal.call(main)
    app.state.engine.dispose()
    assert state["most"] == 2
